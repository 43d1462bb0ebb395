"""The worker: shard sync, lease taking and renewal, one ShardConsumer per held lease.

Threads: ``run()`` is the coordinator loop (sync, take, reap); a renewer thread heartbeats every
held lease each failoverTime/3; each held lease has its own consumer thread. All AWS calls go
through the boto3 clients the caller supplies, so the same code runs against tidestream or AWS.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from .config import ConsumerConfig
from .fanout import FanOutFetcher, StreamConsumerRegistration
from .held import HeldLease
from .lease import ExtendedSequenceNumber, Lease
from .lease_table import LeaseTable
from .processor import RecordProcessor
from .retrieval import RecordsFetcher
from .shard_consumer import FetcherFactory, ShardConsumer
from .shard_sync import sync_shards
from .taker import LeaseObserver, choose_leases_to_take

log = logging.getLogger(__name__)


class Worker:
    """A KCL-compatible consumer of one stream for one application (lease table).

    ``run()`` blocks until ``shutdown()``; ``start()`` runs it in a background thread.
    ``shutdown()`` is graceful: each processor gets ``shutdown_requested`` (to checkpoint), then
    its lease is released so another worker takes the shard at once, without waiting for expiry.
    """

    def __init__(
        self,
        config: ConsumerConfig,
        processor_factory: Callable[[], RecordProcessor],
        kinesis: Any,
        dynamodb: Any,
    ) -> None:
        self.config = config
        self.processor_factory = processor_factory
        self.kinesis = kinesis
        self.table = LeaseTable(dynamodb, config.lease_table_name)
        self.observer = LeaseObserver()
        self.consumers: dict[str, ShardConsumer] = {}
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self.stopped = threading.Event()
        self.sync_requested = threading.Event()
        self.rng = random.Random()
        self._thread: threading.Thread | None = None
        self._renewer = threading.Thread(target=self._renew_loop, name="lease-renewer", daemon=True)
        self._lock = threading.Lock()
        self.fetcher_factory = self._fanout_fetcher_factory() if config.retrieval == "fanout" else None

    def _fanout_fetcher_factory(self) -> FetcherFactory:
        if not hasattr(self.kinesis, "subscribe_to_shard"):
            raise ValueError(
                "retrieval='fanout' needs a Kinesis client (DynamoDB Streams has no enhanced "
                "fan-out: use polling)"
            )
        registration = StreamConsumerRegistration(
            self.kinesis, self.config.stream_name, self.config.stream_consumer_name
        )

        def make(shard_id: str, start: ExtendedSequenceNumber, stopping: threading.Event) -> RecordsFetcher:
            return FanOutFetcher(self.kinesis, self.config, shard_id, start, stopping, registration)

        return make

    @property
    def worker_id(self) -> str:
        return self.config.worker_id

    def held_shard_ids(self) -> list[str]:
        with self._lock:
            return sorted(key for key, consumer in self.consumers.items() if not consumer.held.lost.is_set())

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Worker:
        self._thread = threading.Thread(target=self.run, name="consumer-worker", daemon=True)
        self._thread.start()
        return self

    def run(self) -> None:
        self.table.create_if_missing()
        self._renewer.start()
        next_sync = 0.0
        try:
            while not self.stopping.is_set():
                if time.monotonic() >= next_sync or self.sync_requested.is_set():
                    self.sync_requested.clear()
                    self._guarded(self._sync)
                    next_sync = time.monotonic() + self.config.shard_sync_interval_millis / 1000
                self._guarded(self._take_leases)
                self._reap()
                self.wake.wait(self.config.taker_interval_seconds)
                self.wake.clear()
        finally:
            self._stop_consumers()
            self.stopped.set()
            self._renewer.join(self.config.renew_interval_seconds + 5)

    def shutdown(self, timeout: float | None = None) -> bool:
        """Graceful stop; True when every consumer finished within the timeout."""
        self.stopping.set()
        self.wake.set()
        if self._thread is None:
            return True
        timeout = self.config.shutdown_timeout_millis / 1000 if timeout is None else timeout
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # --- coordinator loop ----------------------------------------------------------------------

    def _guarded(self, step: Callable[[], None]) -> None:
        """A failed step (network, throttling) is retried next round, as KCL does."""
        try:
            step()
        except Exception:
            log.exception("worker %s: %s failed; retrying next round", self.worker_id, step.__name__)

    def _sync(self) -> None:
        sync_shards(self.kinesis, self.table, self.config)

    def _take_leases(self) -> None:
        leases = self.table.list_leases()
        self.observer.observe(leases)
        with self._lock:  # a consumer still winding down (lease_lost running) blocks a retake
            held_keys = {key for key, consumer in self.consumers.items() if consumer.thread.is_alive()}
        chosen = choose_leases_to_take(
            leases,
            self.worker_id,
            held_keys,
            self.observer,
            self.config.failover_time_millis / 1000,
            self.config.max_leases_for_worker,
            self.config.max_leases_to_steal_at_one_time,
            self.rng,
        )
        for lease in chosen:
            if self.stopping.is_set():
                return
            self._take(lease)

    def _take(self, lease: Lease) -> None:
        counter = self.table.take(lease, self.worker_id)
        if counter is None:
            log.info("worker %s: lease %s changed before it could be taken", self.worker_id, lease.lease_key)
            return
        log.info("worker %s: took lease %s from %s", self.worker_id, lease.lease_key, lease.lease_owner)
        held = HeldLease(lease, counter, self.worker_id)
        consumer = ShardConsumer(
            held,
            self.table,
            self.kinesis,
            self.config,
            self.processor_factory,
            self._on_shard_end,
            self.fetcher_factory,
        )
        with self._lock:
            self.consumers[lease.lease_key] = consumer
        consumer.start()

    def _on_shard_end(self) -> None:
        """A finished shard's children may need leases now rather than at the next periodic sync."""
        self.sync_requested.set()
        self.wake.set()

    def _reap(self) -> None:
        with self._lock:
            for key, consumer in list(self.consumers.items()):
                if not consumer.thread.is_alive():
                    del self.consumers[key]

    def _stop_consumers(self) -> None:
        with self._lock:
            consumers = list(self.consumers.values())
        for consumer in consumers:
            consumer.request_shutdown()
        deadline = time.monotonic() + self.config.shutdown_timeout_millis / 1000
        for consumer in consumers:
            consumer.thread.join(max(deadline - time.monotonic(), 0))

    # --- renewal -------------------------------------------------------------------------------

    def _renew_loop(self) -> None:
        while not self.stopped.wait(self.config.renew_interval_seconds):
            with self._lock:
                helds = [consumer.held for consumer in self.consumers.values()]
            for held in helds:
                self._renew(held)

    def _renew(self, held: HeldLease) -> None:
        with held.lock:
            if held.lost.is_set():
                return
            try:
                renewed = self.table.renew(held.lease_key, held.owner, held.counter)
            except Exception:
                log.exception("worker %s: renewing %s failed; retrying", self.worker_id, held.lease_key)
                return
            if renewed:
                held.renewed(held.counter + 1)
            else:
                log.info("worker %s: lost lease %s", self.worker_id, held.lease_key)
                held.mark_lost()
