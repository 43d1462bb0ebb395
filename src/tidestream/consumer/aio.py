"""The asyncio face: ``async def`` processors on your event loop, the same worker underneath.

The coordination and retrieval still run in the worker's threads (boto3 is blocking); each
processor call is scheduled on the loop that awaited ``AsyncWorker.run()`` and the shard's thread
waits for it, so per-shard ordering is unchanged. Checkpoints are awaited and run off the loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Coroutine
from typing import Any

from .checkpoint import Checkpointer
from .config import ConsumerConfig
from .lease import ExtendedSequenceNumber
from .processor import (
    InitializationInput,
    LeaseLostInput,
    ProcessRecordsInput,
    RecordProcessor,
    ShardEndedInput,
    ShutdownRequestedInput,
)
from .worker import Worker


class AsyncCheckpointer:
    """``await checkpointer.checkpoint(...)``: the conditional write runs in a thread, not the loop."""

    def __init__(self, checkpointer: Checkpointer) -> None:
        self._checkpointer = checkpointer

    @property
    def last_checkpoint(self) -> ExtendedSequenceNumber:
        return self._checkpointer.last_checkpoint

    async def checkpoint(self, sequence_number: str | None = None, sub_sequence_number: int = 0) -> None:
        await asyncio.to_thread(self._checkpointer.checkpoint, sequence_number, sub_sequence_number)


class AsyncRecordProcessor:
    """Like RecordProcessor with coroutines; inputs carry an AsyncCheckpointer."""

    async def initialize(self, input: InitializationInput) -> None:
        pass

    async def process_records(self, input: ProcessRecordsInput) -> None:
        raise NotImplementedError

    async def lease_lost(self, input: LeaseLostInput) -> None:
        pass

    async def shard_ended(self, input: ShardEndedInput) -> None:
        raise NotImplementedError("shard_ended must await input.checkpointer.checkpoint()")

    async def shutdown_requested(self, input: ShutdownRequestedInput) -> None:
        pass


def _with_async_checkpointer(input: Any) -> Any:
    return dataclasses.replace(input, checkpointer=AsyncCheckpointer(input.checkpointer))


class _LoopBridge(RecordProcessor):
    """A RecordProcessor (called from a shard thread) that runs an async one on the loop."""

    def __init__(self, target: AsyncRecordProcessor, loop: asyncio.AbstractEventLoop) -> None:
        self.target = target
        self.loop = loop

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def initialize(self, input: InitializationInput) -> None:
        self._call(self.target.initialize(input))

    def process_records(self, input: ProcessRecordsInput) -> None:
        self._call(self.target.process_records(_with_async_checkpointer(input)))

    def lease_lost(self, input: LeaseLostInput) -> None:
        self._call(self.target.lease_lost(input))

    def shard_ended(self, input: ShardEndedInput) -> None:
        self._call(self.target.shard_ended(_with_async_checkpointer(input)))

    def shutdown_requested(self, input: ShutdownRequestedInput) -> None:
        self._call(self.target.shutdown_requested(_with_async_checkpointer(input)))


class AsyncWorker:
    """``await AsyncWorker(...).run()`` until ``await worker.shutdown()`` (graceful, as Worker)."""

    def __init__(
        self,
        config: ConsumerConfig,
        processor_factory: Callable[[], AsyncRecordProcessor],
        kinesis: Any,
        dynamodb: Any,
    ) -> None:
        self.processor_factory = processor_factory
        self.loop: asyncio.AbstractEventLoop | None = None
        self.worker = Worker(config, self._bridge, kinesis, dynamodb)

    def _bridge(self) -> RecordProcessor:
        assert self.loop is not None, "processors are made only while run() is awaited"
        return _LoopBridge(self.processor_factory(), self.loop)

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        await asyncio.to_thread(self.worker.run)

    async def shutdown(self) -> None:
        """Ask for the graceful stop; ``run()`` returns once leases are handed over."""
        self.worker.shutdown()
