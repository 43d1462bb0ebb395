"""Kinesis with several ``--cluster`` nodes on one PostgreSQL (docs/cluster.md).

One node keeps Kinesis correct by running every read-modify-write on its event loop; with
several nodes the database must order them instead, and each node's in-memory catalog becomes
a cache of the store:

- **Appends** number their records from the shard counters read *inside* the append's
  transaction, under an advisory lock per shard counter (``PostgresEngine.write_locked``): two
  nodes never issue one sequence number, and a shard's records commit in counter order, so a
  reader never sees counter n+1 before n. The stream's record is read in the same transaction;
  if it differs from what this node holds (resharded, encrypted, deleted by another node) the
  append writes nothing, the node reloads the stream and the operation runs again.
- **Stream and consumer changes** are checked writes (``write_checked``) against the record
  this node read, plus the id counter (CreateStream) and the counters of the shards a
  resharding closes (so an append can't slip in after the closed shard's end was read); a lost
  race reloads the stream and runs the operation again. Each change is announced with
  ``NOTIFY``; every node reloads that entry (everything after a lost listener connection).
- **Appends are announced too** (in their transaction, so delivered at commit): another node's
  SubscribeToShard sessions and Lambda pollers wake as they do for a local append.
- **Reads** of a shard's last counter (LATEST iterators, MillisBehindLatest, the end of a shard
  being closed) go to the store: :class:`SharedCounters`.
- **SubscribeToShard sessions** of a consumer and shard are one record in the store
  (:data:`SUBSCRIPTIONS`), replaced by a checked write: a second subscription within 5 s of the
  stored one is refused on any node, a later one replaces it, and the node holding the old
  session hears of it (``NOTIFY``) and ends it, as one node ends a session taken over.

Nothing here is built on RocksDB or a single PostgreSQL node: ``KinesisState.shared`` is None
there, and the hot paths test only that.
"""

from __future__ import annotations

import logging
import struct
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson

from ..errors import LimitExceededException, ResourceInUseException
from ..storage import keyspace
from ..storage.engine import Engine, StorageError, WriteConflict
from ..wakeups import Wakeups
from . import consumers as consumer_records
from . import records
from .append import AppendPlan, explicit_hash_key, plan_append
from .fanout import Subscription
from .shards import Shard, hash_key, shard_id
from .streams import STREAM_PREFIX, Stream, stream_key

if TYPE_CHECKING:
    from ..storage.postgres import PostgresEngine
    from .state import KinesisState

log = logging.getLogger("tidestream.kinesis")

#: runs of one operation that lost a race to another node before the client is told to retry
ATTEMPTS = 20
#: the live SubscribeToShard session of a consumer and shard: + stream id (4) + shard index (4)
#: + consumer name; JSON {consumer_arn, started_ms, session}
SUBSCRIPTIONS = keyspace.KINESIS_SUBSCRIPTIONS


def subscription_key(stream_id: int, shard_index: int, consumer_name: str) -> bytes:
    return SUBSCRIPTIONS + struct.pack(">II", stream_id, shard_index) + consumer_name.encode()


def subscription_range(stream_id: int) -> tuple[bytes, bytes]:
    return SUBSCRIPTIONS + struct.pack(">I", stream_id), SUBSCRIPTIONS + struct.pack(">I", stream_id + 1)


class SharedCounters(dict):
    """``state.counters`` on a cluster node: ``get`` reads the shard's counter row from the
    store (other nodes advance it) and refreshes the cached cell. Item access (``[key]``) stays
    the cache: appends refresh their cells under the shard's lock first."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine

    def __missing__(self, key: tuple[int, int]) -> list[int]:
        """A shard this node has not seen (made by another node): its counter from the store."""
        raw = self.engine.get(records.counter_key(*key))
        cell = self[key] = list(records.decode_counter(raw)) if raw is not None else [0, 0]
        return cell

    def get(self, key: tuple[int, int], default: Any = None) -> Any:
        raw = self.engine.get(records.counter_key(*key))
        if raw is None:
            return super().get(key, default)
        cell = self.setdefault(key, [0, 0])
        cell[0], cell[1] = records.decode_counter(raw)
        return cell


class SharedKinesis:
    """What a cluster node adds to :class:`~.state.KinesisState` (see the module docstring)."""

    def __init__(self, state: KinesisState) -> None:
        self.state = state
        self.engine: PostgresEngine = state.engine  # type: ignore[assignment]  # only it clusters
        #: key -> the value it must still have when the next stream save commits (the id
        #: counter read by CreateStream, counters of shards being closed); cleared per operation
        self.checks: dict[bytes, bytes | None] = {}
        self.engine.listen(self.changed)

    # appends ---------------------------------------------------------------------------------
    def append(
        self,
        stream: Stream,
        entries: Sequence[Mapping[str, Any]],
        extra: Callable[[AppendPlan], None] | None = None,
    ) -> AppendPlan:
        """Plan and commit an append under the touched shards' counter locks; ``extra(plan)``
        may add writes to the same transaction (the CDC publisher's outbox deletes). Call
        ``plan.applied()`` afterwards. WriteConflict: the stream changed; nothing was written."""
        indexes = sorted(touched_shards(stream, entries))
        counter_keys = [records.counter_key(stream.id, idx) for idx in indexes]

        def under_locks(values: list[bytes | None]) -> AppendPlan:
            if values[0] != stream.stored:
                raise WriteConflict("the stream changed on another node")
            for idx, raw in zip(indexes, values[1:]):
                cell = self.state.counters.setdefault((stream.id, idx), [0, 0])
                if raw is not None:
                    cell[0], cell[1] = records.decode_counter(raw)
            plan = plan_append(self.state, stream, entries)
            if extra is not None:
                extra(plan)
            if plan.writes:
                self.engine.write(plan.writes)
                self.engine.announce(records.stream_prefix(stream.id))  # delivered at commit
            return plan

        try:
            return self.engine.write_locked(counter_keys, [stream.key, *counter_keys], under_locks)
        except WriteConflict:
            self.reload_stream(stream.key)
            raise

    # metadata writes -------------------------------------------------------------------------
    def save(self, stream: Stream, writes: list[tuple[bytes, bytes | None]]) -> None:
        """Write a stream's record only if it (and every key in :attr:`checks`) is still what
        this node read; then tell the other nodes. WriteConflict: reloaded, run again."""
        checks = {stream.key: stream.stored, **self.checks}
        self.checks = {}
        keys = list(checks)
        expected = [checks[k] for k in keys]
        try:
            self.engine.write_checked(writes, keys, lambda values: values == expected)
        except WriteConflict:
            self.reload_stream(stream.key)
            raise
        self.engine.announce(stream.key)

    def remove(self, stream: Stream) -> None:
        """Drop a stream's record (its purge) unless another node changed it meanwhile (then
        the record is someone else's now: a new stream of the same name)."""
        self.engine.delete_range(*subscription_range(stream.id))
        try:
            self.engine.write_checked(
                [(stream.key, None)], [stream.key], lambda values: values[0] == stream.stored
            )
        except WriteConflict:
            self.reload_stream(stream.key)
            return
        self.engine.announce(stream.key)

    def check_id_counter(self, key: bytes, seen: bytes | None) -> None:
        """CreateStream: the stream id read from ``key`` must still be the next one at commit."""
        self.checks[key] = seen

    def closing(self, stream: Stream, shard: Shard) -> int:
        """The last counter of a shard being closed, read from the store; the save that closes
        it commits only if no append advanced it meanwhile."""
        key = records.counter_key(stream.id, shard.index)
        raw = self.engine.get(key)
        self.checks[key] = raw
        return records.decode_counter(raw)[0] if raw is not None else 0

    def consumer_saved(self, key: bytes) -> None:
        self.engine.announce(key)

    # SubscribeToShard sessions ---------------------------------------------------------------
    def claim_subscription(self, sub: Subscription, consumer_name: str) -> None:
        """Make ``sub`` the stored session of its consumer and shard: ResourceInUseException
        if the stored one began less than 5 s ago; else replace it (checked: of two nodes
        taking over at once one wins, the other's operation runs again and is refused) and
        tell the node holding the old one."""
        key = subscription_key(sub.stream_id, sub.shard_index, consumer_name)
        held = self.engine.get(key)
        now_ms = self.state.now_ms()
        if held is not None:
            old = orjson.loads(held)
            if old["consumer_arn"] == sub.consumer_arn and now_ms - old["started_ms"] < self.takeover_ms:
                raise ResourceInUseException(
                    f"Another active subscription exists for consumer {sub.consumer_arn} "
                    f"and shard {shard_id(sub.shard_index)}."
                )
        claim = orjson.dumps(
            {"consumer_arn": sub.consumer_arn, "started_ms": now_ms, "session": uuid.uuid4().hex}
        )
        self.engine.write_checked([(key, claim)], [key], lambda values: values[0] == held)
        sub.claim = claim
        self.engine.announce(key)

    @property
    def takeover_ms(self) -> int:
        return int(self.state.fanout.takeover * 1000)

    def release_subscription(self, sub: Subscription) -> None:
        """A session ended here: its stored record goes, unless a newer one replaced it (a
        new subscription within 5 s of this one's end is then not refused)."""
        parsed = consumer_records.parse_consumer_arn(sub.consumer_arn)
        if sub.claim is None or parsed is None:
            return
        key = subscription_key(sub.stream_id, sub.shard_index, parsed[3])
        claim = sub.claim
        try:
            self.engine.write_checked([(key, None)], [key], lambda values: values[0] == claim)
        except WriteConflict:
            return
        except StorageError as err:  # the record only ages out (5 s) instead
            log.warning("ending SubscribeToShard %s: %s", sub.consumer_arn, err)
            return
        self.engine.announce(key)

    def subscription_changed(self, key: bytes) -> None:
        """Another node made (or ended) a session of a consumer and shard: this node's live
        session of them ends unless it is the stored one."""
        claim = self.engine.get(key)
        if claim is None:
            return
        shard_index = struct.unpack(">I", key[len(SUBSCRIPTIONS) + 4 : len(SUBSCRIPTIONS) + 8])[0]
        self.state.fanout.taken_over(orjson.loads(claim)["consumer_arn"], shard_index, claim)

    def recheck_subscriptions(self) -> None:
        """After notifications were lost: every live session here checked against the store."""
        for sub in list(self.state.fanout.subs.values()):
            parsed = consumer_records.parse_consumer_arn(sub.consumer_arn)
            if sub.claim is not None and parsed is not None:
                self.subscription_changed(subscription_key(sub.stream_id, sub.shard_index, parsed[3]))

    # the other nodes' changes ----------------------------------------------------------------
    def changed(self, key: bytes | None) -> None:
        """A notification (on the event loop): a stream, consumer or append of another node;
        None: notifications may have been lost, reload every stream and consumer."""
        state = self.state
        if key is None:  # notifications lost: reload, sessions go on unless taken over
            self.reload_all()
            self.recheck_subscriptions()
        elif not key:  # b"": a node reset everything (runtime.reset): as this node's reset
            state.reload()
        elif key.startswith(STREAM_PREFIX):
            self.reload_stream(key)
        elif key.startswith(consumer_records.PREFIX):
            self.reload_consumer(key)
        elif key.startswith(SUBSCRIPTIONS):
            self.subscription_changed(key)
        elif key.startswith(records.PREFIX) and len(key) == len(records.stream_prefix(0)):
            state.fanout.appended(int.from_bytes(key[len(records.PREFIX) :], "big"))

    def reload_stream(self, key: bytes) -> Stream | None:
        """Replace this node's copy of the stream at ``key`` by the store's (None: gone)."""
        state = self.state
        try:
            raw = self.engine.get(key)
        except StorageError as err:
            log.warning("reloading stream %r: %s", key, err)
            return None
        account, region, name = key[len(STREAM_PREFIX) :].decode().split("/", 2)
        old = state.catalog.get(account, region, name)
        if old is not None and raw is not None and raw == old.stored:
            return old  # unchanged: keep the copy (and its subscribers asleep)
        if old is not None:
            state.catalog.remove(old)
            state.fanout.appended(old.id)  # its subscribers look again (closed shards, deletion)
        if raw is None:
            return None
        stream = Stream.from_json(raw)
        state.catalog.add(stream)
        state.fanout.appended(stream.id)
        return stream

    def lookup(self, account: str, region: str, name: str) -> Stream | None:
        """A stream this node does not know may have been created on another node a moment
        ago (before its notification arrived): read it (only on a miss)."""
        return self.reload_stream(stream_key(account, region, name))

    def reload_consumer(self, key: bytes) -> None:
        consumers = self.state.consumers
        stream_id = int.from_bytes(
            key[len(consumer_records.PREFIX) : len(consumer_records.PREFIX) + 4], "big"
        )
        name = key[len(consumer_records.PREFIX) + 4 :].decode()
        raw = self.engine.get(key)
        group = consumers.by_stream.setdefault(stream_id, {})
        group.pop(name, None)
        if raw is not None:
            group[name] = consumer_records.Consumer.from_json(raw)
        elif not group:
            del consumers.by_stream[stream_id]
        self.state.fanout.appended(stream_id)

    def reload_all(self) -> None:
        from .streams import Catalog

        state = self.state
        state.catalog = Catalog()
        for _, raw in self.engine.scan(STREAM_PREFIX, STREAM_PREFIX + b"\xff"):
            state.catalog.add(Stream.from_json(raw))
        state.consumers = consumer_records.Consumers.load(self.engine)
        self.attach(state.consumers)
        Wakeups.reset(state.fanout)  # every waiter looks again; subscriptions go on

    def attach(self, consumers: consumer_records.Consumers) -> None:
        """Consumers announce their changes and look up misses in the store."""
        consumers.announce = self.consumer_saved
        consumers.lookup = partial(_load_consumer, self.engine)

    # operations ------------------------------------------------------------------------------
    def retrying(self, name: str, op: Callable[..., Any]) -> Callable[..., Any]:
        """``op`` run again (from its start, with the reloaded stream) when it lost a race to
        another node; after :data:`ATTEMPTS` lost races, AWS's throttling answer, which the
        SDKs retry by themselves."""

        def run(ctx: Any, params: Any) -> Any:
            for _ in range(ATTEMPTS):
                self.checks = {}
                try:
                    return op(ctx, params)
                except WriteConflict:
                    continue
            raise LimitExceededException(f"Rate exceeded for {name}: other nodes kept changing the stream.")

        return run


def touched_shards(stream: Stream, entries: Iterable[Mapping[str, Any]]) -> set[int]:
    """The shards an append's records route to (as plan_append routes them)."""
    route = stream.router.route
    out = set()
    for entry in entries:
        ehk = entry.get("ExplicitHashKey")
        key = hash_key(entry["PartitionKey"]) if ehk is None else explicit_hash_key(ehk)
        out.add(route(key).index)
    return out


def _load_consumer(engine: Engine, stream_id: int, name: str) -> consumer_records.Consumer | None:
    raw = engine.get(consumer_records.consumer_key(stream_id, name))
    return None if raw is None else consumer_records.Consumer.from_json(raw)
