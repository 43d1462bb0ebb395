"""The cluster run's load balancing (tests/conftest.py ``spread_over_nodes``), checked on three
independent in-memory servers, where each node's answer shows which node got the call."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ServerCluster, make_table, start_server


def test_consecutive_calls_of_one_client_go_to_the_next_node_in_turn(tmp_path: Path):
    nodes = []
    for n in range(3):
        (tmp_path / f"n{n}").mkdir()
        nodes.append(start_server(tmp_path / f"n{n}", on_disk=False))
    try:
        ddb = ServerCluster.of(nodes).client()
        make_table(ddb, "only-on-node-0")  # the first call: node 0
        seen = [ddb.list_tables()["TableNames"] for _ in range(6)]  # nodes 1, 2, 0, 1, 2, 0
        assert seen == [[], [], ["only-on-node-0"]] * 2
    finally:
        for node in nodes:
            node.stop()
