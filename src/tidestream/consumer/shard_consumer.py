"""One held lease's life: wait for the parents, initialize, poll and process, end or hand over."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from enum import Enum
from typing import Any

from .checkpoint import Checkpointer, ShutdownException
from .config import ConsumerConfig
from .held import HeldLease
from .lease import SHARD_END, ExtendedSequenceNumber
from .lease_table import LeaseTable
from .processor import (
    InitializationInput,
    LeaseLostInput,
    ProcessorFailed,
    ProcessRecordsInput,
    Record,
    RecordProcessor,
    ShardEndedInput,
    ShutdownRequestedInput,
)
from .retrieval import PollingFetcher, RecordsBatch, RecordsFetcher, user_records

# makes the fetcher of one shard: (shard id, start position, the consumer's stop event)
FetcherFactory = Callable[[str, ExtendedSequenceNumber, threading.Event], RecordsFetcher]

log = logging.getLogger(__name__)


class Outcome(str, Enum):
    SHARD_END = "SHARD_END"  # the shard is finished and its lease released
    LEASE_LOST = "LEASE_LOST"  # another worker owns the shard now
    SHUTDOWN = "SHUTDOWN"  # graceful shutdown: checkpointed and released
    FAILED = "FAILED"  # unexpected error: retaken next round, resumes at the checkpoint


class ShardConsumer:
    """Runs in its own thread; every processor call for the shard comes from that thread."""

    def __init__(
        self,
        held: HeldLease,
        table: LeaseTable,
        kinesis: Any,
        config: ConsumerConfig,
        processor_factory: Callable[[], RecordProcessor],
        on_shard_end: Callable[[], None],
        fetcher_factory: FetcherFactory | None = None,
    ) -> None:
        self.held = held
        self.table = table
        self.kinesis = kinesis
        self.config = config
        self.processor_factory = processor_factory
        self.on_shard_end = on_shard_end
        self.fetcher_factory = fetcher_factory or self._polling_fetcher
        snapshot = held.snapshot
        self.hash_range = None
        if snapshot.starting_hash_key is not None and snapshot.ending_hash_key is not None:
            self.hash_range = (int(snapshot.starting_hash_key), int(snapshot.ending_hash_key))
        # reading starts AT the checkpoint's sequence number: what is at or before it is dropped
        self.resume_after = None if held.checkpoint.is_sentinel else held.checkpoint
        self.shutdown_requested = threading.Event()
        self.outcome: Outcome | None = None
        self.thread = threading.Thread(target=self._run, name=f"shard-{held.lease_key}", daemon=True)

    @property
    def shard_id(self) -> str:
        return self.held.lease_key

    def start(self) -> None:
        self.thread.start()

    def request_shutdown(self) -> None:
        self.shutdown_requested.set()

    def _run(self) -> None:
        try:
            self.outcome = self._consume()
        except ProcessorFailed as error:
            log.error("%s; the lease is retaken from its checkpoint", error)
            self.outcome = Outcome.FAILED
        except Exception:
            log.exception("shard %s: consumer failed", self.shard_id)
            self.outcome = Outcome.FAILED
        log.info("shard %s: %s", self.shard_id, self.outcome.value)

    def _lease_gone(self) -> bool:
        held = self.held
        if held.expired(self.config.failover_time_millis / 1000):
            held.mark_lost()  # not renewed for the failover time: others may own it already
        return held.lost.is_set()

    def _consume(self) -> Outcome:
        if not self._wait_for_parents():
            return self._stopped_before_start()
        processor = self.processor_factory()
        checkpointer = Checkpointer(self.table, self.held)
        processor.initialize(
            InitializationInput(self.shard_id, self.held.checkpoint, self.held.snapshot.pending_checkpoint)
        )
        fetcher = self.fetcher_factory(self.shard_id, self.held.checkpoint, self.shutdown_requested)
        try:
            return self._poll_loop(processor, checkpointer, fetcher)
        finally:
            fetcher.close()

    def _polling_fetcher(
        self, shard_id: str, start: ExtendedSequenceNumber, stopping: threading.Event
    ) -> RecordsFetcher:
        return PollingFetcher(self.kinesis, self.config, shard_id, start, stopping)

    def _poll_loop(
        self, processor: RecordProcessor, checkpointer: Checkpointer, fetcher: RecordsFetcher
    ) -> Outcome:
        while True:
            if self._lease_gone():
                return self._lost(processor)
            if self.shutdown_requested.is_set():
                return self._shutdown(processor, checkpointer)
            batch = fetcher.get_records()
            if self._lease_gone():
                return self._lost(processor)  # never deliver records of a lease we may not own
            self._deliver(processor, checkpointer, self._user_records(batch), batch)
            if batch.shard_ended:
                return self._end_shard(processor, checkpointer, batch)

    def _user_records(self, batch: RecordsBatch) -> list[Record]:
        records = user_records(batch.records, self.hash_range, self.resume_after)
        if records:
            self.resume_after = None  # past the checkpoint: every later record is new
        return records

    def _deliver(
        self,
        processor: RecordProcessor,
        checkpointer: Checkpointer,
        records: list[Record],
        batch: RecordsBatch,
    ) -> None:
        if not records:
            return
        checkpointer.delivered(records[-1].sequence_number, records[-1].sub_sequence_number)
        try:
            processor.process_records(
                ProcessRecordsInput(records, checkpointer, batch.millis_behind_latest, batch.shard_ended)
            )
        except ShutdownException:
            log.info("shard %s: checkpoint refused, the lease was lost", self.shard_id)
        except ProcessorFailed:
            raise
        except Exception:
            # KCL's rule: a failing process_records does not stop the shard; the batch is skipped
            log.exception("shard %s: process_records failed; continuing with the next batch", self.shard_id)

    def _end_shard(
        self, processor: RecordProcessor, checkpointer: Checkpointer, batch: RecordsBatch
    ) -> Outcome:
        """Call shard_ended until it checkpoints SHARD_END (KCL retries too), then let go."""
        checkpointer.reached_shard_end(batch.child_shard_ids)
        while self.held.checkpoint.sequence_number != SHARD_END:
            if self._lease_gone():
                return self._lost(processor)
            try:
                processor.shard_ended(ShardEndedInput(checkpointer))
            except ShutdownException:
                continue
            except ProcessorFailed:
                raise
            except Exception:
                log.exception("shard %s: shard_ended failed", self.shard_id)
            if self.held.checkpoint.sequence_number != SHARD_END:
                log.error(
                    "shard %s: shard_ended did not checkpoint SHARD_END; the shard's children "
                    "wait until it does",
                    self.shard_id,
                )
                if self.shutdown_requested.wait(self.config.idle_time_between_reads_millis / 1000):
                    return self._shutdown(processor, checkpointer)
        self._release()
        self.on_shard_end()
        return Outcome.SHARD_END

    def _lost(self, processor: RecordProcessor) -> Outcome:
        try:
            processor.lease_lost(LeaseLostInput())
        except Exception:
            log.exception("shard %s: lease_lost failed", self.shard_id)
        return Outcome.LEASE_LOST

    def _shutdown(self, processor: RecordProcessor, checkpointer: Checkpointer) -> Outcome:
        try:
            processor.shutdown_requested(ShutdownRequestedInput(checkpointer))
        except ShutdownException:
            return self._lost(processor)
        except Exception:
            log.exception("shard %s: shutdown_requested failed", self.shard_id)
        return Outcome.SHUTDOWN if self._release() else self._lost(processor)

    def _stopped_before_start(self) -> Outcome:
        if self.held.lost.is_set():
            return Outcome.LEASE_LOST
        self._release()
        return Outcome.SHUTDOWN

    def _release(self) -> bool:
        held = self.held
        with held.lock:
            if held.lost.is_set():
                return False
            released = self.table.release(held.lease_key, held.owner, held.counter)
            held.mark_lost()  # either way it is no longer ours: the renewer skips it
            return released

    def _wait_for_parents(self) -> bool:
        """A child is processed only once every parent checkpointed SHARD_END (or its lease is
        gone: past retention and cleaned up). False when stopped or lost while waiting."""
        pending = set(self.held.snapshot.parent_shard_ids)
        while pending:
            for parent in sorted(pending):
                lease = self.table.get_lease(parent)
                if lease is None or lease.is_finished:
                    pending.discard(parent)
            if not pending:
                break
            log.debug("shard %s: waiting for parents %s", self.shard_id, sorted(pending))
            if self.shutdown_requested.wait(self.config.parent_shard_poll_interval_millis / 1000):
                return False
            if self._lease_gone():
                return False
        return True
