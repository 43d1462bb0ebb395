"""Event source mapping pollers: one asyncio task per shard per mapping, on the server's loop.

A mapping's *run* lists its stream's shards and starts a :class:`ShardPoller` for each shard
whose parents this mapping has read to the end (children after parents, across resharding).
A shard poller reads pages through the source service (:mod:`.sources`), drops what the
FilterCriteria rejects, forms batches (BatchSize, MaximumBatchingWindowInSeconds, one tumbling
window at a time), invokes the function synchronously and settles each batch as AWS documents:

* a function error: with BisectBatchOnFunctionError the batch is split in two and each half
  retried (splitting does not consume retries); otherwise it is retried until
  MaximumRetryAttempts is used up or its records are older than MaximumRecordAgeInSeconds;
* ReportBatchItemFailures: processing restarts from the lowest reported sequence number; an
  empty or null list (or response) is success, an item without a valid itemIdentifier fails
  the whole batch;
* a discarded batch produces AWS's invocation record for the OnFailure destination
  (:mod:`.deadletters`).

A caught-up poller waits for the stream's next append (:mod:`tidestream.wakeups`), the poll
interval at most, so a record reaches the function within milliseconds instead of up to a
poll interval later; the interval stays as the fallback (and paces retries and shard listing).

ParallelizationFactor N: up to N batches of one shard run at once, records split over N lanes by
partition key, so one key's records stay in order. The checkpoint (:mod:`.mappings`) moves after
every settled round, so a crash replays at most the batches in flight (at-least-once).
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from ..errors import AwsError, ProvisionedThroughputExceededException
from ..ids import uuid4_text
from ..storage.engine import StorageError
from .deadletters import DeadLetterLog, invocation_record
from .filtering import compile_filters
from .mappings import RESULT_FAILED, RESULT_OK, TRANSITIONAL, Checkpoint, EventSourceMapping
from .sandboxes import Invocation, Outcome
from .sources import Reader, ShardInfo

if TYPE_CHECKING:
    from .state import LambdaState

log = logging.getLogger("tidestream.lambda")

#: seconds between polls of a caught-up shard (AWS polls about once a second)
DEFAULT_POLL_INTERVAL = 1.0
#: the longest pause between retries of a failing batch
MAX_BACKOFF = 5.0
#: the pause after a read refused by the shard's read limit (AWS: 5 GetRecords/s per shard);
#: appends do not cut it short, or a busy stream would be read again at once and refused again
THROTTLED_PAUSE = 0.2


class Stopped(Exception):
    """The mapping was disabled, changed or deleted while a batch was in flight."""


@dataclass
class Item:
    """One record read from the stream, as the function will see it and as the poller needs it."""

    sequence: str
    arrival: float
    partition_key: str
    event: dict


class Pollers:
    """Every mapping's run; :meth:`sync` is called whenever a mapping changes."""

    def __init__(self, state: LambdaState, poll_interval: float) -> None:
        self.state = state
        self.poll_interval = poll_interval
        self.runs: dict[str, MappingRun] = {}
        self.running = False
        self.dead_letters = DeadLetterLog(state.root)

    async def serve(self, stopping: asyncio.Event) -> None:
        """Start every stored mapping, keep them until the server stops (or, in a cluster,
        until this node no longer leads the mappings: then another node polls them)."""
        self.running = True
        self.state.mappings.reload()  # a cluster's new leader: mappings made through other nodes
        self.start_all()
        try:
            await stopping.wait()
        finally:
            self.running = False
            self.close()

    def start_all(self) -> None:
        for mapping in list(self.state.mappings.mappings.values()):
            self.sync(mapping)

    def sync(self, mapping: EventSourceMapping) -> None:
        """(Re)start the mapping's run, or stop it when disabled; settle its transitional state."""
        if not self.running:
            return
        previous = self.runs.pop(mapping.uuid, None)
        if previous is not None:
            previous.stop()
        run = MappingRun(self, mapping, previous)
        self.runs[mapping.uuid] = run
        run.task = asyncio.ensure_future(run.main())

    def remove(self, uuid: str) -> None:
        run = self.runs.pop(uuid, None)
        if run is not None:
            run.stop()

    def heard(self, uuid: str, stored: EventSourceMapping | None) -> None:
        """Another node changed (or deleted: ``stored`` None) a mapping: the leader restarts
        its run from the checkpoints, unless only what polling ignores changed (tags, the
        last result, a settled State)."""
        if not self.running:
            return
        if stored is None:
            self.remove(uuid)
            return
        run = self.runs.get(uuid)
        if run is None or stored.state in TRANSITIONAL or polled_part(run.mapping) != polled_part(stored):
            self.sync(stored)

    def resync(self) -> None:
        """Notifications may have been lost: compare every run with the store."""
        if not self.running:
            self.state.mappings.reload()
            return
        stored = {m.uuid: m for m in self.state.mappings.all()}
        for uuid in [u for u in self.runs if u not in stored]:
            self.remove(uuid)
        for uuid, mapping in stored.items():
            self.heard(uuid, mapping)

    def restart(self) -> None:
        """After a reset: the stored mappings changed underneath."""
        if self.running:
            self.close()
            self.running = True
            self.start_all()

    def close(self) -> None:
        for run in self.runs.values():
            run.stop()
            run.cancel()
        self.runs.clear()
        self.running = False


class MappingRun:
    """One mapping's pollers, from a (re)start to the next change."""

    def __init__(self, pollers: Pollers, mapping: EventSourceMapping, previous: MappingRun | None) -> None:
        self.pollers = pollers
        self.state = pollers.state
        self.mapping = mapping
        self.previous = previous
        self.stopped = False
        self.task: asyncio.Future | None = None
        self.shard_tasks: dict[str, asyncio.Future] = {}
        self.finished: set[str] = set()
        self.filters = compile_filters(mapping.filter_criteria)
        #: the LastProcessingResult last stored by this run (stored again only when it changes)
        self.reported = mapping.last_processing_result
        #: the State this run last stored (stored again only when it changes)
        self.settled = mapping.state

    def stop(self) -> None:
        """Stop at the next batch boundary; a batch in flight is not checkpointed."""
        self.stopped = True

    def cancel(self) -> None:
        for task in [self.task, *self.shard_tasks.values()]:
            if task is not None:
                task.cancel()

    async def done(self) -> None:
        tasks = [t for t in (self.task, *self.shard_tasks.values()) if t is not None]
        await asyncio.gather(*tasks, return_exceptions=True)

    def current(self) -> bool:
        return not self.stopped and self.pollers.runs.get(self.mapping.uuid) is self

    async def main(self) -> None:
        if self.previous is not None:
            await self.previous.done()
            self.previous = None
        m = self.mapping
        if not m.enabled or m.source_kind not in self.state.sources.ops:
            self._settle("Disabled" if not m.enabled else m.state)
            return
        reader: Reader | None = None
        while self.current():
            try:
                self._settle("Enabled")  # a no-op once stored
                if reader is None:
                    reader = await self._reader()
                self._start_shards(await reader.shards(), reader)
            except AwsError as err:  # stream deleted or not ready: keep trying, as AWS does
                log.debug("mapping %s: %s", m.uuid, err.message)
            except StorageError as err:  # the engine refuses writes: try again next time
                log.warning("mapping %s: %s", m.uuid, err)
            await asyncio.sleep(self.pollers.poll_interval)

    async def _reader(self) -> Reader:
        m = self.mapping
        fn = self.state.store.get(m.account, m.region, m.function_name)
        role = fn.role if fn is not None else ""
        stream_arn = await self.state.sources.stream_arn(m.account, m.region, m.event_source_arn)
        return self.state.sources.reader(m, stream_arn, role)

    def _settle(self, state: str) -> None:
        """Record the state a transition ends in (Creating -> Enabled, Disabling -> Disabled)."""
        if self.current() and self.settled != state:
            self.state.mappings.change(self.mapping.uuid, state=state)
            self.settled = state

    def _start_shards(self, shards: list[ShardInfo], reader: Reader) -> None:
        known = {s.shard_id for s in shards}
        for shard in shards:
            if shard.shard_id in self.shard_tasks or shard.shard_id in self.finished:
                continue
            checkpoint = self.state.mappings.checkpoint(self.mapping.uuid, shard.shard_id)
            if checkpoint is not None and checkpoint.finished:
                self.finished.add(shard.shard_id)
                continue
            parents = [p for p in shard.parents if p in known]
            if any(p not in self.finished for p in parents):
                continue  # children after parents
            poller = ShardPoller(self, reader, shard.shard_id, checkpoint or Checkpoint())
            self.shard_tasks[shard.shard_id] = asyncio.ensure_future(poller.run())

    def shard_finished(self, shard_id: str) -> None:
        self.finished.add(shard_id)
        self.shard_tasks.pop(shard_id, None)

    def report(self, result: str) -> None:
        """LastProcessingResult, stored when it changes (not per batch)."""
        if self.current() and self.reported != result:
            self.state.mappings.change(self.mapping.uuid, last_processing_result=result)
            self.reported = result


class ShardPoller:
    """Reads one shard and settles its batches in order."""

    def __init__(self, run: MappingRun, reader: Reader, shard_id: str, checkpoint: Checkpoint) -> None:
        self.run_ = run
        self.mapping = run.mapping
        self.reader = reader
        self.shard_id = shard_id
        self.checkpoint = checkpoint
        self.buffer: deque[Item] = deque()
        self.iterator: str | None = None
        self.first_buffered = 0.0
        self.interval = run.pollers.poll_interval
        #: the last record read from the shard, buffered or dropped by the FilterCriteria
        self.read_to: str | None = None
        #: the last read was refused by the shard's read limit
        self.throttled = False

    async def run(self) -> None:
        try:
            await self._loop()
        except Stopped:
            pass
        except asyncio.CancelledError:
            raise
        except AwsError as err:  # an expired iterator, a deleted stream: restart at the checkpoint
            log.warning("mapping %s shard %s: %s", self.mapping.uuid, self.shard_id, err.message)
            self.run_.shard_tasks.pop(self.shard_id, None)
        except Exception:  # noqa: BLE001 - a poller must not die silently; the run restarts it
            log.exception("mapping %s shard %s: poller failed", self.mapping.uuid, self.shard_id)
            self.run_.shard_tasks.pop(self.shard_id, None)

    async def _loop(self) -> None:
        self.iterator = await self.reader.iterator(self.shard_id, self.checkpoint)
        ended = False
        while self.run_.current():
            caught_up = True
            appended = self.reader.append_waiter()  # before reading: a later append sets it
            if not ended and len(self.buffer) < self._want():
                caught_up = await self._fill()
                ended = self.iterator is None
            if await self._close_window(ended):
                continue
            if self.buffer and self._ready(ended):
                await self._settle_round()
                continue
            if ended and not self.buffer:
                self._save(Checkpoint(self.checkpoint.sequence_number, True, None))
                self.run_.shard_finished(self.shard_id)
                return
            if caught_up:
                await self._pause(appended)

    async def _pause(self, appended: asyncio.Event | None) -> None:
        """Wait for the next append to the stream, the poll interval at most (the fallback), or
        less when buffered records' MaximumBatchingWindowInSeconds ends sooner."""
        timeout = self.interval
        if self.buffer and self.mapping.batching_window:
            left = self.first_buffered + self.mapping.batching_window - time.monotonic()
            timeout = max(0.0, min(timeout, left))
        if self.throttled:
            timeout, appended = min(timeout, THROTTLED_PAUSE), None
        if appended is None:
            await asyncio.sleep(timeout)
            return
        try:
            await asyncio.wait_for(appended.wait(), timeout)
        except TimeoutError:
            pass

    def _want(self) -> int:
        return self.mapping.batch_size * self._lanes()

    def _lanes(self) -> int:
        return 1 if self.mapping.tumbling_window else self.mapping.parallelization_factor

    async def _fill(self) -> bool:
        """Read one page into the buffer (filtered records are settled on the spot); True when
        the shard is caught up."""
        assert self.iterator is not None
        want = self._want() - len(self.buffer)
        self.throttled = False
        try:
            raws, self.iterator = await self.reader.read(self.iterator, want)
        except ProvisionedThroughputExceededException:  # shared with other readers: back off
            self.throttled = True
            return True
        for raw in raws:
            event = self.reader.event_record(raw, self.shard_id)
            if self.run_.filters is not None and not self.run_.filters(self.reader.filter_view(event)):
                continue
            if not self.buffer:
                self.first_buffered = time.monotonic()
            self.buffer.append(
                Item(
                    self.reader.sequence(raw), self.reader.arrival(raw), self.reader.partition_key(raw), event
                )
            )
        if raws:
            self.read_to = self.reader.sequence(raws[-1])
        if raws and not self.buffer:  # all filtered out: move past them
            self._save(Checkpoint(self.read_to, False, self.checkpoint.window))
        return len(raws) < want

    def _settled_to(self, items: list[Item]) -> str:
        """Where the checkpoint goes once *items* are settled: past the records the filters
        dropped after them too when nothing else is buffered (AWS never hands dropped records
        to the function, not even after the filters change)."""
        if not self.buffer and self.read_to is not None:
            return self.read_to
        return items[-1].sequence

    def _ready(self, ended: bool) -> bool:
        if len(self.buffer) >= self._want() or ended or self.mapping.batching_window == 0:
            return True
        if self.mapping.tumbling_window and self._window_of(self.buffer[-1]) != self._window_of(
            self.buffer[0]
        ):
            return True
        return time.monotonic() - self.first_buffered >= self.mapping.batching_window

    # a round: up to BatchSize x lanes records -----------------------------------------------------
    async def _settle_round(self) -> None:
        items = self._take()
        if self.mapping.tumbling_window:
            await self._settle_window_batch(items)
            return
        lanes: list[list[Item]] = [[] for _ in range(self._lanes())]
        for item in items:
            lanes[zlib.crc32(item.partition_key.encode()) % len(lanes)].append(item)
        await asyncio.gather(*(self._settle_lane(lane) for lane in lanes if lane))
        self._save(Checkpoint(self._settled_to(items), False, None))

    async def _settle_lane(self, lane: list[Item]) -> None:
        """One lane's records, BatchSize at a time, in order."""
        size = self.mapping.batch_size
        for start in range(0, len(lane), size):
            await self._settle(lane[start : start + size])

    def _take(self) -> list[Item]:
        limit = self._want()
        first_window = self._window_of(self.buffer[0]) if self.mapping.tumbling_window else None
        items: list[Item] = []
        while self.buffer and len(items) < limit:
            if first_window is not None and self._window_of(self.buffer[0]) != first_window:
                break
            items.append(self.buffer.popleft())
        if self.buffer:
            self.first_buffered = time.monotonic()
        return items

    async def _settle(self, items: list[Item], window: dict | None = None) -> dict | None:
        """Invoke until *items* are processed or discarded; returns the window state the
        function answered with (tumbling windows)."""
        queue: deque[tuple[list[Item], int]] = deque([(items, 0)])
        state_out = None
        failures = 0
        while queue:
            batch, attempts = queue.popleft()
            batch = self._drop_expired(batch, attempts)
            if not batch:
                continue
            if failures:  # a pause before a retry, growing with consecutive failures
                await asyncio.sleep(min(self.interval * failures, MAX_BACKOFF))
            outcome = await self._invoke(batch, window)
            verdict, failed_from, state_out = judge(outcome, batch, self.mapping, window is not None)
            if verdict == "ok":
                failures = 0
                self.run_.report(RESULT_OK)
                continue
            failures += 1
            self.run_.report(RESULT_FAILED)
            queue.extendleft(reversed(self._after_failure(batch, attempts, failed_from, outcome)))
        return state_out

    def _after_failure(
        self, batch: list[Item], attempts: int, failed_from: int | None, outcome: Outcome
    ) -> list[tuple[list[Item], int]]:
        """What to try next after a failed invocation: AWS's bisect / retry / discard rules."""
        m = self.mapping
        if failed_from is not None:  # partial batch response: restart at the lowest failure
            batch = batch[failed_from:]
        elif m.bisect_on_error and len(batch) > 1:
            half = len(batch) // 2
            return [(batch[:half], attempts), (batch[half:], attempts)]
        attempts += 1
        if m.maximum_retry_attempts != -1 and attempts > m.maximum_retry_attempts:
            self._discard(batch, "RetryAttemptsExhausted", attempts, outcome.function_error)
            return []
        return [(batch, attempts)]

    def _drop_expired(self, batch: list[Item], attempts: int) -> list[Item]:
        age = self.mapping.maximum_record_age
        if age == -1:
            return batch
        expired, kept = split_expired(batch, time.time(), age)
        if expired:
            self._discard(expired, "RecordAgeExceeded", attempts, None)
        return kept

    async def _invoke(self, batch: list[Item], window: dict | None) -> Outcome:
        if not self.run_.current():
            raise Stopped
        payload: dict[str, Any] = {"Records": [item.event for item in batch]}
        if window is not None:
            payload.update(window)
        outcome = await invoke_function(self.run_.state, self.mapping, orjson.dumps(payload))
        if not self.run_.current():
            raise Stopped
        return outcome

    def _discard(self, batch: list[Item], condition: str, attempts: int, function_error: str | None) -> None:
        m = self.mapping
        record = invocation_record(
            function_arn=m.function_arn,
            condition=condition,
            invoke_count=attempts,
            function_error=function_error,
            batch_info_name=self.reader.batch_info,
            shard_id=self.shard_id,
            stream_arn=self.reader.stream_arn,
            sequences=[i.sequence for i in batch],
            arrivals=[i.arrival for i in batch],
        )
        destination = ((m.destination_config or {}).get("OnFailure") or {}).get("Destination")
        if destination:
            self.run_.pollers.dead_letters.append(destination, m.uuid, record)
        else:
            log.warning(
                "mapping %s discarded %d records (%s), no OnFailure destination",
                m.uuid,
                len(batch),
                condition,
            )

    # tumbling windows -------------------------------------------------------------------------
    def _window_of(self, item: Item) -> int:
        size = self.mapping.tumbling_window
        return int(item.arrival // size * size)

    def _window_event(self, start: int, state: dict, final: bool) -> dict:
        return {
            "window": {"start": iso_seconds(start), "end": iso_seconds(start + self.mapping.tumbling_window)},
            "state": state,
            "shardId": self.shard_id,
            "eventSourceARN": self.reader.stream_arn,
            "isFinalInvokeForWindow": final,
            "isWindowTerminatedEarly": False,
        }

    async def _settle_window_batch(self, items: list[Item]) -> None:
        start = self._window_of(items[0])
        open_window = self.checkpoint.window
        if open_window is not None and open_window["start"] != start:
            await self._final_invoke(open_window)
            open_window = None
        state = open_window["state"] if open_window else {}
        answered = await self._settle(items, self._window_event(start, state, False))
        self._save(Checkpoint(self._settled_to(items), False, {"start": start, "state": answered or {}}))

    async def _close_window(self, ended: bool) -> bool:
        """The final invocation of an open window, once its end has passed and no record of it
        is waiting (or the shard ended)."""
        window = self.checkpoint.window
        if window is None:
            return False
        end = window["start"] + self.mapping.tumbling_window
        waiting = self.buffer and self._window_of(self.buffer[0]) == window["start"]
        if waiting or (time.time() < end and not ended):
            return False
        await self._final_invoke(window)
        self._save(Checkpoint(self.checkpoint.sequence_number, False, None))
        return True

    async def _final_invoke(self, window: dict) -> None:
        event = self._window_event(window["start"], window["state"], True)
        attempts = 0
        while True:
            outcome = await self._invoke([], event)
            if not outcome.function_error:
                self.run_.report(RESULT_OK)
                return
            self.run_.report(RESULT_FAILED)
            attempts += 1
            limit = self.mapping.maximum_retry_attempts
            if limit != -1 and attempts > limit:
                return
            await asyncio.sleep(min(self.interval * attempts, MAX_BACKOFF))

    # checkpoints ------------------------------------------------------------------------------
    def _save(self, checkpoint: Checkpoint) -> None:
        if not self.run_.current():
            raise Stopped
        self.checkpoint = checkpoint
        self.run_.state.mappings.save_checkpoint(self.mapping.uuid, self.shard_id, checkpoint)


def polled_part(mapping: EventSourceMapping) -> dict:
    """What a mapping's run depends on: all but its tags, LastProcessingResult and State (a
    run's own copy keeps the State it started in; a transitional one is looked at apart)."""
    return {**mapping.__dict__, "tags": None, "last_processing_result": None, "state": None}


def split_expired(batch: list[Item], now: float, max_age: int) -> tuple[list[Item], list[Item]]:
    """(expired, kept): records older than MaximumRecordAgeInSeconds are discarded, never sent."""
    cutoff = now - max_age
    expired = [i for i in batch if i.arrival < cutoff]
    if not expired:
        return [], batch
    return expired, [i for i in batch if i.arrival >= cutoff]


def judge(
    outcome: Outcome, batch: list[Item], mapping: EventSourceMapping, windowed: bool
) -> tuple[str, int | None, dict | None]:
    """("ok" | "failed", index to restart from for a partial batch response, window state)."""
    if outcome.function_error:
        return "failed", None, None
    response = _json_or_none(outcome.payload)
    state = None
    if windowed:
        if not isinstance(response, dict) or "state" not in response:
            return "failed", None, None  # AWS: a windowed response without state is a failure
        state = response["state"] if isinstance(response["state"], dict) else {}
    if not mapping.reports_item_failures:
        return "ok", None, state
    failed_from = partial_failure(response, [i.sequence for i in batch])
    if failed_from is None:
        return "ok", None, state
    return "failed", failed_from, state


def partial_failure(response: Any, sequences: list[str]) -> int | None:
    """Index of the lowest failed record of a partial batch response, None for success.

    AWS: an empty or null response or list is success; an item whose itemIdentifier is missing,
    empty or not a record of the batch fails the whole batch (index 0)."""
    if not isinstance(response, dict):
        return None
    failures = response.get("batchItemFailures")
    if not failures:
        return None
    if not isinstance(failures, list):
        return 0
    positions = {seq: n for n, seq in enumerate(sequences)}
    lowest = len(sequences)
    for failure in failures:
        ident = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(ident, str) or ident not in positions:
            return 0
        lowest = min(lowest, positions[ident])
    return lowest


def _json_or_none(payload: bytes) -> Any:
    try:
        return orjson.loads(payload) if payload else None
    except orjson.JSONDecodeError:
        return None


def iso_seconds(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


async def invoke_function(state: LambdaState, mapping: EventSourceMapping, payload: bytes) -> Outcome:
    """A synchronous invocation as the mapping's poller makes it; a function that cannot be
    invoked (deleted, runtime missing) is a failed invocation, retried like one."""
    fn = state.store.get(mapping.account, mapping.region, mapping.function_name)
    if fn is None:
        return _error_outcome("ResourceNotFoundException", f"Function not found: {mapping.function_arn}")
    inv = Invocation(uuid4_text(), payload, fn.arn, float(fn.timeout))
    package: Callable[[], bytes] = lambda: state.store.code(fn)  # noqa: E731 - read when a sandbox starts
    try:
        return await state.sandboxes.invoke(fn, package, inv, wait=True)
    except AwsError as err:
        return _error_outcome(err.code, err.message)


def _error_outcome(error_type: str, message: str) -> Outcome:
    return Outcome(orjson.dumps({"errorType": error_type, "errorMessage": message}), "Unhandled", "")
