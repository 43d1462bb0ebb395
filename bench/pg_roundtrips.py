"""Round-trip cost of PostgreSQL drivers from one Python process (docs/decisions/0004-cluster-mode.md).

    python bench/pg_roundtrips.py      # starts a throwaway PostgreSQL (tests/pgserver.py); ~30 s

Prints wall time and the client's CPU per call: psycopg's Python layer, its libpq layer with
binary prepared statements, asyncpg (if installed), and the PostgresEngine's own calls.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from tests.pgserver import PostgresServer  # noqa: E402
from tidestream.storage.postgres import PostgresEngine  # noqa: E402

CALLS = 3000
KEY = (5000).to_bytes(8, "big")


def timed(label: str, call: Callable[[], object], calls: int = CALLS) -> None:
    call()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:58s} wall {wall / calls * 1e6:7.1f} µs  client CPU {cpu / calls * 1e6:6.1f} µs")


async def timed_async(label: str, call: Callable[[], Awaitable[object]]) -> None:
    await call()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(CALLS):
        await call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:58s} wall {wall / CALLS * 1e6:7.1f} µs  client CPU {cpu / CALLS * 1e6:6.1f} µs")


def drivers(dsn: str) -> None:
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute("CREATE TABLE kv (k bytea PRIMARY KEY, v bytea NOT NULL)")
    conn.execute(
        "INSERT INTO kv SELECT int8send(g), repeat('x', 200)::bytea FROM generate_series(1, 10000) g"
    )
    timed("psycopg: SELECT 1", lambda: conn.execute("SELECT 1").fetchone())
    timed(
        "psycopg: point read, prepared",
        lambda: conn.execute("SELECT v FROM kv WHERE k = %s", (KEY,), prepare=True).fetchone(),
    )
    raw = conn.pgconn
    raw.prepare(b"get", b"SELECT v FROM kv WHERE k = $1", None)
    timed(
        "psycopg libpq layer: point read, binary",
        lambda: raw.exec_prepared(b"get", [KEY], [1], 1).get_value(0, 0),
    )
    counter = iter(range(10**9))

    def upsert() -> None:
        key = (next(counter) + 10**6).to_bytes(8, "big")
        sql = "INSERT INTO kv VALUES (%s, %s) ON CONFLICT (k) DO UPDATE SET v = excluded.v"
        conn.execute(sql, (key, b"y" * 200), prepare=True)

    timed("psycopg: upsert, synchronous_commit = on", upsert, 1000)
    conn.execute("SET synchronous_commit = off")
    timed("psycopg: upsert, synchronous_commit = off", upsert)
    conn.close()
    try:
        import asyncpg  # type: ignore[import-not-found]
    except ImportError:
        print("asyncpg not installed: skipped")
        return

    async def with_asyncpg() -> None:
        aconn = await asyncpg.connect(dsn)
        await timed_async("asyncpg: point read", lambda: aconn.fetchval("SELECT v FROM kv WHERE k = $1", KEY))
        await aconn.close()

    asyncio.run(with_asyncpg())


def engine(dsn: str) -> None:
    store = PostgresEngine(dsn)
    for i in range(200):
        store.write([(b"\x01%d" % i, b"v" * 200)])
    timed("PostgresEngine.get", lambda: store.get(b"\x0150"))
    timed("PostgresEngine.scan, 10 rows", lambda: list(zip(range(10), store.scan(b"\x01", b"\x02"))))
    counter = iter(range(10**9))

    def write() -> None:
        n = next(counter)
        store.write([(b"\x01x%d" % n, b"v" * 200), (b"\x02x%d" % n, b"v" * 100), (b"\x00S1", b"s" * 16)])

    timed("PostgresEngine.write, 3 keys (no flush wait)", write)
    timed("PostgresEngine group flush (fsync)", store._flush, 500)
    store.close()


def checked(dsn: str) -> None:
    """Cluster mode's checked item commit, as an item write makes it: without and with the
    check of its table's definition (a shared lock and one more key read, same round trips)."""
    store = PostgresEngine(dsn, cluster=True)
    definition = b"\x00T" + b"t" * 40
    store.write([(definition, b"d" * 600)])
    counter = iter(range(10**9))

    def item_only() -> None:
        key = b"\x01c%d" % next(counter)
        store.write_checked([(key, b"v" * 200)], [key], lambda values: values == [None])

    def with_definition() -> None:
        key = b"\x01d%d" % next(counter)
        store.write_checked(
            [(key, b"v" * 200)], [key], lambda values: values == [None, b"d" * 600], [definition]
        )

    timed("PostgresEngine.write_checked, 1 item", item_only, 2000)
    timed("PostgresEngine.write_checked, 1 item + its table's definition", with_definition, 2000)
    store.close()


def main() -> None:
    pg = PostgresServer().start()
    try:
        drivers(pg.dsn)
        engine(pg.create_database("engine"))
        checked(pg.create_database("checked"))
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
