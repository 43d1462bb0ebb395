"""The PostgreSQL store's statements keep using the key index as the store grows (a real
PostgreSQL server, tests/pgserver.py). The request connection runs every statement with the
generic plan PostgreSQL makes at its first use, often on a small table; a plan that scans
every row is cheap then and ruinous later."""

from __future__ import annotations

import json

import psycopg

from tests.pgserver import PostgresServer
from tidestream.storage.postgres import STATEMENTS, PostgresEngine

ROWS = 20_000


def _plan_nodes(plan: dict) -> list[str]:
    return [plan["Node Type"], *(kind for child in plan.get("Plans", []) for kind in _plan_nodes(child))]


def test_checked_reads_stay_index_lookups_after_the_store_grows(postgres: PostgresServer):
    """get_many (the re-read of cluster mode's checked writes), first run on an empty store,
    then explained after ROWS rows arrived: index lookups, no scan of the table (it was a hash
    join over a sequential scan of every row: ~50 ms per write at 20,000 rows, growing)."""
    dsn = postgres.create_database("plans")
    engine = PostgresEngine(dsn, "relaxed", cluster=True)
    conn = psycopg.connect(dsn, autocommit=True)
    try:
        conn.execute("SET plan_cache_mode = force_generic_plan")  # as the engine's connections
        conn.execute(
            "PREPARE get_many_probe(bytea[]) AS " + STATEMENTS[b"get_many"].replace("$1::bytea[]", "$1")
        )
        probe = "EXECUTE get_many_probe(ARRAY['\\x%s'::bytea])" % b"\x01item-1".hex()
        conn.execute(probe)  # the generic plan is made now, on the empty store
        engine.write([(b"\x01item-%d" % n, b"x" * 100) for n in range(ROWS)])
        assert conn.execute(probe).fetchall() == [(b"\x01item-1", b"x" * 100)]
        (plan,) = conn.execute("EXPLAIN (FORMAT JSON) " + probe).fetchone()
        nodes = _plan_nodes((plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"])
        assert "Seq Scan" not in nodes and "Index Scan" in nodes, nodes
    finally:
        conn.close()
        engine.close()
