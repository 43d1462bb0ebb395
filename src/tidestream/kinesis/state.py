"""The Kinesis service state: catalog, shard counters, iterator secret, limits and clock.

Everything lives in the shared engine (metadata under ``\\x00K``, records under ``\\x03``); this
object is the in-memory index over it, rebuilt by :meth:`KinesisState.reload`. All operations
run on the server's single event loop, so no locking is needed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from cbor2 import CBORTag

from ..context import RequestContext
from ..errors import ValidationException
from ..signing import stored_secret
from ..storage import keyspace
from ..storage.engine import Engine, WriteConflict
from ..storage.tails import ReadableTails
from . import records
from .cluster import SharedCounters, SharedKinesis
from .consumers import Consumers
from .encryption import RecordCipher
from .fanout import FanOut
from .limits import Limits
from .messages import not_active, stream_not_found
from .shards import Shard
from .streams import NEXT_ID_KEY, STREAM_PREFIX, Catalog, Stream, parse_arn

log = logging.getLogger("tidestream.kinesis")

SECRET_KEY = keyspace.KINESIS_ITERATOR_SECRET


def _ts_json(ms: int) -> float:
    return ms / 1000.0


def _ts_cbor(ms: int) -> CBORTag:
    # AWS's CBOR protocol: tag 1 holding epoch *milliseconds* as an integer (not RFC seconds)
    return CBORTag(1, ms)


#: operations that use this node's copy of a stream in cluster mode (the appends check it
#: against the store in their own transaction; reads only need its shards, which never change
#: under a record once written); every other operation reads the stream from the store
_DATA_PLANE = frozenset({"PutRecord", "PutRecords", "GetRecords", "GetShardIterator", "SubscribeToShard"})


class KinesisState:
    def __init__(self, engine: Engine, config: Any = None, clock: Callable[[], float] | None = None) -> None:
        self.engine = engine
        self.status_delay = float(getattr(config, "status_delay", 0.0) or 0.0)
        self.limits = Limits(bool(getattr(config, "kinesis_limits", True)))
        self.retention_interval = 5.0
        self.clock = clock or time.time
        self.catalog = Catalog()
        #: (stream id, shard index) -> [last counter, last arrival ms]
        self.counters: dict[tuple[int, int], list[int]] = {}
        self.secret = b""
        #: enhanced fan-out: append notifications and live SubscribeToShard sessions
        self.fanout = FanOut(config)
        #: encryption at rest of record data (StartStreamEncryption)
        self.cipher = RecordCipher.from_config(config)
        #: (stream id, shard index) -> last counter readers may see (fsynced, in strict mode)
        self.tails = ReadableTails(engine, self._readable)
        #: several nodes share the store (``--cluster``): see :mod:`.cluster`; None otherwise
        self.shared: SharedKinesis | None = SharedKinesis(self) if getattr(engine, "cluster", False) else None
        self.reload()

    # lifecycle ---------------------------------------------------------------------------
    def reload(self) -> None:
        """Rebuild the in-memory index from the engine (startup, and after a reset)."""
        self.catalog = Catalog()
        self.counters = {} if self.shared is None else SharedCounters(self.engine)
        self.limits.shards.clear()
        self.limits.hot.rates.clear()
        for _, raw in self.engine.scan(STREAM_PREFIX, STREAM_PREFIX + b"\xff"):
            self.catalog.add(Stream.from_json(raw))
        for k, v in self.engine.scan(records.COUNTER_PREFIX, records.COUNTER_PREFIX + b"\xff"):
            sid = int.from_bytes(k[3:7], "big")
            idx = int.from_bytes(k[7:11], "big")
            self.counters[(sid, idx)] = list(records.decode_counter(v))
        if self.shared is None:
            self._recover_counters()
        self.tails.reset()
        for key, (last, _ms) in self.counters.items():
            self.tails.load(key, last)
        self.secret = stored_secret(self.engine, SECRET_KEY, self.secret)
        self.cipher.bind(self.engine)
        self.consumers = Consumers.load(self.engine)
        if self.shared is not None:
            self.shared.attach(self.consumers)
        self.fanout.reset()

    def _recover_counters(self) -> None:
        """Change capture's inline appends don't write the shard counter's row (one engine
        write less per captured change): a shard's last record, when newer, says where its
        counter and clock are (kinesis/records.py). One reverse seek per shard, at start."""
        for (sid, idx), cell in self.counters.items():
            last = records.last_counter(self.engine, records.shard_prefix(sid, idx))
            if last is not None and last[0] > cell[0]:
                cell[0], cell[1] = last[0], max(cell[1], last[1])

    def save_counters(self) -> None:
        """Every shard counter's row as this process holds it (a clean stop), so a data dir
        left by a clean stop has current rows even for a release that trusts the rows alone."""
        if self.shared is not None or not self.counters:
            return
        self.engine.write(
            [
                (records.counter_key(sid, idx), records.encode_counter(last, ms))
                for (sid, idx), (last, ms) in self.counters.items()
            ]
        )

    def _readable(self, key: tuple[int, int]) -> None:
        """A shard's readable tail moved: wake the stream's subscribers and pollers."""
        self.fanout.appended(key[0])

    def readable_last(self, stream_id: int, shard_index: int) -> int:
        """The last counter of a shard that readers may see (GetRecords, LATEST, ...). A cluster
        node reads the shard's counter row: other nodes append too, and their commits never
        pass through this node's tails (docs/cluster.md: committed on PostgreSQL is readable)."""
        if self.shared is not None:
            return self.counters.get((stream_id, shard_index), [0, 0])[0]
        return self.tails.last((stream_id, shard_index))

    def records_committed(self, stream_id: int, touched: Mapping[int, Any]) -> None:
        """An append's records are in the engine (``AppendPlan.applied``): readable once fsynced."""
        written = self.tails.written
        for idx, batch in touched.items():
            written((stream_id, idx), batch.next_counter)

    def background_jobs(self) -> list:
        """(lease name, loop): retention trims run on one node of a cluster (storage/leases.py)."""
        from .retention import retention_loop

        return [("kinesis-retention", partial(retention_loop, self))]

    # time --------------------------------------------------------------------------------
    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    @staticmethod
    def ts(ctx: RequestContext) -> Callable[[int], Any]:
        """How timestamps go out on this request's protocol."""
        return _ts_cbor if ctx.cbor else _ts_json

    # lookups -----------------------------------------------------------------------------
    def append_waiter(self, arn: str) -> asyncio.Event | None:
        """An event set at the next append to the stream *arn* (None: no such stream)."""
        parsed = parse_arn(arn)
        stream = self.lookup(*parsed) if parsed is not None else None
        return None if stream is None else self.fanout.waiter(stream.id)

    def resolve(self, ctx: RequestContext, params: Mapping[str, Any], arn_field: str = "StreamARN") -> Stream:
        """The stream named by StreamARN (preferred) or StreamName, with its status settled."""
        arn = params.get(arn_field)
        name: str | None
        if arn:
            parsed = parse_arn(arn)
            if parsed is None:
                raise stream_not_found(arn, ctx.account_id)
            account, region, name = parsed
        else:
            name = params.get("StreamName")
            if not name:
                raise ValidationException("Either StreamName or StreamARN must be provided.")
            account, region = ctx.account_id, ctx.region
        if self.shared is not None and ctx.operation not in _DATA_PLANE:
            # a cluster node reads the stream (and its consumers) as stored: a change made
            # through another node a moment ago is seen before its notification arrives
            stream = self.shared.lookup(account, region, name)
            if stream is not None:
                self.consumers.reload_stream(stream.id)
        else:
            stream = self.catalog.get(account, region, name)
            if stream is None and self.shared is not None:  # made on another node a moment ago?
                stream = self.shared.lookup(account, region, name)
        if stream is not None:
            stream = self.settle(stream)
        if stream is None:
            raise stream_not_found(name, account)
        return stream

    def lookup(self, account: str, region: str, name: str, stored: bool = False) -> Stream | None:
        """The stream of that name; on a cluster node a miss is looked up in the store, and
        with ``stored`` a hit too (CreateStream: deleted through another node a moment ago?)."""
        stream = None if stored and self.shared is not None else self.catalog.get(account, region, name)
        if stream is None and self.shared is not None:
            stream = self.shared.lookup(account, region, name)
        return stream

    def active(self, ctx: RequestContext, params: Mapping[str, Any], arn_field: str = "StreamARN") -> Stream:
        """Like :meth:`resolve`, but the stream must be ACTIVE (updates need that)."""
        stream = self.resolve(ctx, params, arn_field)
        if stream.status != "ACTIVE":
            raise not_active(stream.name, stream.account, stream.status)
        return stream

    def settle(self, stream: Stream) -> Stream | None:
        """Finish a transitional status whose time has come; None once a deletion completes."""
        if stream.status_until is None or self.now_ms() < stream.status_until:
            return stream
        if stream.status == "DELETING":
            self.purge(stream)
            return None
        try:
            self._activate(stream)
        except WriteConflict:  # cluster: another node settled or changed it first (reloaded)
            return self.catalog.get(stream.account, stream.region, stream.name)
        return stream

    def _activate(self, stream: Stream) -> None:
        stream.status = "ACTIVE"
        stream.status_until = None
        if stream.pending:
            from .operations.shards import apply_pending

            apply_pending(self, stream)  # saves the stream with its new shards
        else:
            self.save(stream)

    def transition(self, stream: Stream, status: str) -> None:
        """Enter CREATING/UPDATING/DELETING for ``status_delay`` seconds (0: until next look)."""
        stream.status = status
        stream.status_until = self.now_ms() + int(self.status_delay * 1000)

    # writes ------------------------------------------------------------------------------
    def save(self, stream: Stream, extra: list[tuple[bytes, bytes | None]] | None = None) -> None:
        writes: list[tuple[bytes, bytes | None]] = [(stream.key, stream.to_json())]
        if extra:
            writes.extend(extra)
        if self.shared is None:
            self.engine.write(writes)
        else:
            self.shared.save(stream, writes)
        stream.stored = writes[0][1]

    def allocate_id(self) -> tuple[int, tuple[bytes, bytes]]:
        """A storage id never used before in this data dir (ids are not reused after deletes)."""
        raw = self.engine.get(NEXT_ID_KEY)
        nxt = int(raw) if raw else 1
        if self.shared is not None:
            self.shared.check_id_counter(NEXT_ID_KEY, raw)
        return nxt, (NEXT_ID_KEY, str(nxt + 1).encode())

    def open_shard(
        self,
        stream: Stream,
        start: int,
        end: int,
        now: int,
        parent: int | None = None,
        adjacent: int | None = None,
    ) -> Shard:
        shard = Shard(stream.next_index, start, end, now, parent, adjacent)
        stream.next_index += 1
        stream.shards[shard.index] = shard
        self.counters[(stream.id, shard.index)] = [0, now]
        for p in (parent, adjacent):
            if p is not None and p in stream.shards:
                stream.shards[p].children.append(shard.index)
        return shard

    def close_shard(self, stream: Stream, shard: Shard, now: int) -> None:
        shard.closed_ms = now
        if self.shared is not None:
            shard.end_counter = self.shared.closing(stream, shard)
        else:
            shard.end_counter = self.counters.get((stream.id, shard.index), [0, 0])[0]

    def observe_writes(self, stream: Stream, written: dict[int, list[int]]) -> None:
        """ON_DEMAND scaling: count committed writes per shard (index -> [records, bytes]) and
        split a shard that stayed above the per-shard write rate (see limits.HotShards)."""
        if stream.mode != "ON_DEMAND" or not self.limits.enabled:
            return
        now = self.clock()
        hot = [
            idx for idx, (n, size) in written.items() if self.limits.hot.observe(stream.id, idx, n, size, now)
        ]
        if hot:
            self.split_hot(stream, hot)

    def split_hot(self, stream: Stream, hot: list[int]) -> None:
        """Split the ON_DEMAND shards that stayed above the per-shard write rate."""
        if stream.status != "ACTIVE" or stream.pending:
            return
        from .operations.shards import commit, split
        from .operations.streams import account_shard_limit

        now_ms = self.now_ms()
        new: list[Shard] = []
        for idx in hot:
            shard = stream.shards.get(idx)
            if shard is None or not shard.open or shard.end - shard.start < 3:
                continue
            if self.open_shard_count(stream.account, stream.region) + 1 > account_shard_limit(stream.region):
                break
            new += split(self, stream, shard, (shard.start + shard.end + 1) // 2, now_ms)
            self.limits.hot.forget(stream.id, idx)
            log.info("on-demand stream %s: split hot shard %s", stream.name, shard.id)
        if new:
            try:
                commit(self, stream, new)
            except WriteConflict:  # cluster: the stream changed on another node (reloaded)
                return
            self.fanout.appended(stream.id)  # subscribers of the closed shards see their end

    def purge(self, stream: Stream) -> None:
        """Remove a stream and all its records and counters."""
        self.catalog.remove(stream)
        self.limits.forget(stream.id)
        for key in [k for k in self.counters if k[0] == stream.id]:
            del self.counters[key]
        prefix = records.stream_prefix(stream.id)
        self.engine.delete_range(prefix, (int.from_bytes(prefix, "big") + 1).to_bytes(5, "big"))
        cprefix = records.COUNTER_PREFIX + stream.id.to_bytes(4, "big")
        self.engine.delete_range(cprefix, cprefix + b"\xff" * 5)
        if self.shared is None:
            self.engine.write([(stream.key, None)])
        else:
            self.shared.remove(stream)

    def open_shard_count(self, account: str, region: str) -> int:
        return sum(len(s.open_shards()) for s in self.catalog.in_region(account, region))
