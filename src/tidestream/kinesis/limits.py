"""AWS's provisioned per-shard throughput limits as token buckets (``--kinesis-limits``).

Per shard: writes 1,000 records/s and 1 MiB/s; reads 5 GetRecords calls/s and 2 MiB/s. A read
may overdraw the byte bucket (one call can return up to 10 MB), and later calls are refused
until it refills, which is how AWS spaces out large reads.

ON_DEMAND streams are not limited per shard: they scale instead. :class:`HotShards` watches each
shard's write rate in one-second windows; a shard above the provisioned per-shard rate (1,000
records/s or 1 MiB/s) for ``HOT_SECONDS`` consecutive seconds is split in two (AWS does this
within minutes; tidestream within seconds).
"""

from __future__ import annotations

WRITE_RECORDS = 1000.0
WRITE_BYTES = 1024.0 * 1024
READ_CALLS = 5.0
READ_BYTES = 2.0 * 1024 * 1024


class ShardLimiter:
    __slots__ = ("t_w", "w_records", "w_bytes", "t_r", "r_calls", "r_bytes")

    def __init__(self, now: float) -> None:
        self.t_w = self.t_r = now
        self.w_records, self.w_bytes = WRITE_RECORDS, WRITE_BYTES
        self.r_calls, self.r_bytes = READ_CALLS, READ_BYTES

    def refill_write(self, now: float) -> None:
        dt = now - self.t_w
        if dt > 0:
            self.t_w = now
            self.w_records = min(WRITE_RECORDS, self.w_records + dt * WRITE_RECORDS)
            self.w_bytes = min(WRITE_BYTES, self.w_bytes + dt * WRITE_BYTES)

    def take_write(self, size: int) -> bool:
        """Admit one record of *size* bytes (call :meth:`refill_write` once per request first)."""
        if self.w_records >= 1.0 and self.w_bytes >= size:
            self.w_records -= 1.0
            self.w_bytes -= size
            return True
        return False

    def admit_read(self, now: float) -> bool:
        dt = now - self.t_r
        if dt > 0:
            self.t_r = now
            self.r_calls = min(READ_CALLS, self.r_calls + dt * READ_CALLS)
            self.r_bytes = min(READ_BYTES, self.r_bytes + dt * READ_BYTES)
        if self.r_calls >= 1.0 and self.r_bytes > 0:
            self.r_calls -= 1.0
            return True
        return False

    def charge_read(self, size: int) -> None:
        self.r_bytes -= size


#: consecutive seconds above the per-shard write rate after which an ON_DEMAND shard splits
HOT_SECONDS = 2


class _Rate:
    __slots__ = ("window", "records", "bytes", "streak", "last_hot")

    def __init__(self, window: int) -> None:
        self.window = window
        self.records = 0
        self.bytes = 0
        self.streak = 0
        self.last_hot = -2


class HotShards:
    """Write rates of ON_DEMAND shards, to find the ones to split."""

    def __init__(self) -> None:
        self.rates: dict[tuple[int, int], _Rate] = {}

    def observe(self, stream_id: int, index: int, records: int, size: int, now: float) -> bool:
        """Count a write; True when the shard has been hot long enough to split now."""
        w = int(now)
        r = self.rates.get((stream_id, index))
        if r is None:
            r = self.rates[(stream_id, index)] = _Rate(w)
        if w != r.window:  # close the previous window
            hot = r.records > WRITE_RECORDS or r.bytes > WRITE_BYTES
            if hot:
                r.streak = r.streak + 1 if r.last_hot == r.window - 1 else 1
                r.last_hot = r.window
            else:
                r.streak = 0
            if r.last_hot != w - 1:
                r.streak = 0
            r.window, r.records, r.bytes = w, 0, 0
        r.records += records
        r.bytes += size
        return r.streak >= HOT_SECONDS - 1 and (r.records > WRITE_RECORDS or r.bytes > WRITE_BYTES)

    def forget(self, stream_id: int, index: int | None = None) -> None:
        for k in [k for k in self.rates if k[0] == stream_id and (index is None or k[1] == index)]:
            del self.rates[k]


class Limits:
    """The limiters of every shard, created on first use."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.shards: dict[tuple[int, int], ShardLimiter] = {}
        self.hot = HotShards()

    def shard(self, stream_id: int, index: int, now: float) -> ShardLimiter:
        lim = self.shards.get((stream_id, index))
        if lim is None:
            lim = self.shards[(stream_id, index)] = ShardLimiter(now)
        return lim

    def applies(self, mode: str) -> bool:
        return self.enabled and mode == "PROVISIONED"

    def forget(self, stream_id: int) -> None:
        for k in [k for k in self.shards if k[0] == stream_id]:
            del self.shards[k]
        self.hot.forget(stream_id)
