"""The pytest plugin (entry point ``pytest11``): fixtures that give each test a clean tidestream.

- ``tidestream_server`` (session): an embedded, in-memory server; with pytest-xdist each worker
  has its own. While it runs, ``AWS_ENDPOINT_URL`` and dummy credentials point at it, so code under
  test that builds its own boto3 clients reaches it.
- ``tidestream``: the same server, wiped before the test (one range delete). Opt out with
  ``@pytest.mark.tidestream_keep_state`` or ``tidestream_reset = false`` in the ini file.
- ``tidestream_endpoint``: its URL; ``tidestream_dynamodb``, ``tidestream_kinesis``,
  ``tidestream_dynamodbstreams``: boto3 clients; ``tidestream_dynamodb_resource``.

Nothing starts unless a test asks for one of these fixtures.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

KEEP_STATE = "tidestream_keep_state"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "tidestream_reset",
        type="bool",
        default=True,
        help="wipe the tidestream server before each test that uses it (default true)",
    )
    parser.addini(
        "tidestream_data_dir",
        default="",
        help="keep the tidestream server's data in this directory (default: in memory)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{KEEP_STATE}: don't wipe tidestream before this test")


@pytest.fixture(scope="session")
def tidestream_server(pytestconfig: pytest.Config) -> Iterator[Any]:
    from .embedded import Server

    data_dir = pytestconfig.getini("tidestream_data_dir") or None
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if data_dir and worker:  # one server per xdist worker: one data dir each
        data_dir = os.path.join(data_dir, worker)
    with Server(data_dir) as server:
        saved = {name: os.environ.get(name) for name in server.environ()}
        os.environ.update(server.environ())
        try:
            yield server
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


@pytest.fixture
def tidestream(tidestream_server: Any, request: pytest.FixtureRequest) -> Any:
    if request.config.getini("tidestream_reset") and request.node.get_closest_marker(KEEP_STATE) is None:
        tidestream_server.reset()
    return tidestream_server


@pytest.fixture
def tidestream_endpoint(tidestream: Any) -> str:
    return str(tidestream.endpoint_url)


@pytest.fixture(scope="session")
def _tidestream_clients(tidestream_server: Any) -> dict[str, Any]:
    """Clients are made once per session: building a boto3 client costs more than a reset."""
    return {}


def _client(cache: dict[str, Any], server: Any, service: str) -> Any:
    if service not in cache:
        cache[service] = server.client(service)
    return cache[service]


@pytest.fixture
def tidestream_dynamodb(tidestream: Any, _tidestream_clients: dict[str, Any]) -> Any:
    return _client(_tidestream_clients, tidestream, "dynamodb")


@pytest.fixture
def tidestream_kinesis(tidestream: Any, _tidestream_clients: dict[str, Any]) -> Any:
    return _client(_tidestream_clients, tidestream, "kinesis")


@pytest.fixture
def tidestream_dynamodbstreams(tidestream: Any, _tidestream_clients: dict[str, Any]) -> Any:
    return _client(_tidestream_clients, tidestream, "dynamodbstreams")


@pytest.fixture
def tidestream_dynamodb_resource(tidestream: Any, _tidestream_clients: dict[str, Any]) -> Any:
    if "resource" not in _tidestream_clients:
        _tidestream_clients["resource"] = tidestream.resource("dynamodb")
    return _tidestream_clients["resource"]
