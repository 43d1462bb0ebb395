"""The test helpers as users meet them: the pytest plugin run by a real pytest (with xdist),
``@tidestream.mock`` under unittest, and the embeddable server on a data dir."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import tidestream

ROOT = Path(__file__).resolve().parents[2]


def _pytest(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_XDIST"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_example_project_passes_with_only_the_plugins_fixtures_under_xdist():
    r = _pytest(["-n", "2", "examples/pytest-project"], ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "3 passed" in r.stdout


def test_reset_between_tests_and_the_keep_state_marker(tmp_path):
    (tmp_path / "test_state.py").write_text(
        textwrap.dedent("""
        import pytest

        def make(ddb):
            ddb.create_table(TableName="tbl", BillingMode="PAY_PER_REQUEST",
                             KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}])

        def test_1_creates(tidestream_dynamodb):
            make(tidestream_dynamodb)

        @pytest.mark.tidestream_keep_state
        def test_2_still_sees_it(tidestream_dynamodb):
            assert tidestream_dynamodb.list_tables()["TableNames"] == ["tbl"]

        def test_3_starts_empty(tidestream_dynamodb):
            assert tidestream_dynamodb.list_tables()["TableNames"] == []

        def test_4_own_clients_reach_it(tidestream_endpoint):
            import os, boto3
            assert os.environ["AWS_ENDPOINT_URL"] == tidestream_endpoint
            assert boto3.client("kinesis").list_streams()["StreamNames"] == []
    """)
    )
    r = _pytest([str(tmp_path / "test_state.py")], tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "4 passed" in r.stdout


def test_mock_decorator_under_unittest(tmp_path):
    (tmp_path / "test_unit.py").write_text(
        textwrap.dedent("""
        import os
        import unittest
        import boto3
        import tidestream

        def table():
            boto3.client("dynamodb").create_table(
                TableName="tbl", BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}])

        @tidestream.mock
        class Decorated(unittest.TestCase):
            def test_a(self):
                table()
                self.assertEqual(boto3.client("dynamodb").list_tables()["TableNames"], ["tbl"])

            def test_b_starts_empty(self):
                self.assertEqual(boto3.client("dynamodb").list_tables()["TableNames"], [])
                table()

        class Functions(unittest.TestCase):
            @tidestream.mock
            def test_function(self):
                self.assertEqual(boto3.client("dynamodb").list_tables()["TableNames"], [])

            def test_context_manager_restores_the_environment(self):
                before = os.environ.get("AWS_ENDPOINT_URL")
                with tidestream.mock() as server:
                    self.assertEqual(os.environ["AWS_ENDPOINT_URL"], server.endpoint_url)
                self.assertEqual(os.environ.get("AWS_ENDPOINT_URL"), before)
    """)
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    r = subprocess.run(
        [sys.executable, "-m", "unittest", "-v", "test_unit"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "Ran 4 tests" in r.stderr and "OK" in r.stderr


def test_embedded_server_on_a_data_dir_keeps_data_across_restarts(tmp_path):
    with tidestream.Server(str(tmp_path / "data")) as server:
        ddb = server.client("dynamodb")
        ddb.create_table(
            TableName="keep",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        )
        ddb.put_item(TableName="keep", Item={"k": {"S": "a"}, "v": {"N": "1"}})
    with tidestream.Server(str(tmp_path / "data")) as server:
        item = server.client("dynamodb").get_item(TableName="keep", Key={"k": {"S": "a"}})["Item"]
        assert item == {"k": {"S": "a"}, "v": {"N": "1"}}


def test_embedded_server_refuses_a_data_dir_in_use(tmp_path):
    with tidestream.Server(str(tmp_path / "data")):
        second = tidestream.Server(str(tmp_path / "data"))
        try:
            second.start()
        except RuntimeError as err:
            assert "in use" in str(err)
        else:
            second.stop()
            raise AssertionError("a second server started on a data dir in use")
