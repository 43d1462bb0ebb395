"""No import statement runs per request on the hot paths.

A ``from .x import y`` inside a function runs importlib's Python code (``_handle_fromlist``) on
every call: two of them cost 23k instructions per GetItem (12%) before they moved to module
level (docs/performance.md, decision 0005). The real application's dispatch is driven without
sockets, as bench/profile_capture.py does, and ``builtins.__import__`` counts what runs.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import orjson

from tidestream.config import Config
from tidestream.http.messages import Request, Response
from tidestream.runtime import Server

DDB = "DynamoDB_20120810."


def _send(app, target: str, params: dict) -> dict:
    req = Request(
        "POST",
        "/",
        {"x-amz-target": target, "content-type": "application/x-amz-json-1.0"},
        orjson.dumps(params),
    )
    resp = app.dispatch(req)
    assert isinstance(resp, Response) and resp.status == 200, getattr(resp, "body", resp)
    return orjson.loads(resp.body or b"{}")


@contextmanager
def _imports_counted() -> Iterator[list[str]]:
    names: list[str] = []
    real: Callable = builtins.__import__

    def counting(name, *args, **kwargs):
        names.append(name)
        return real(name, *args, **kwargs)

    builtins.__import__ = counting
    try:
        yield names
    finally:
        builtins.__import__ = real


def test_getitem_putitem_and_query_import_nothing_per_request(tmp_path):
    server = Server(Config(data_dir=str(tmp_path / "data"), durability="relaxed", console=False))
    app = server.build()
    try:
        _send(
            app,
            DDB + "CreateTable",
            {
                "TableName": "hot",
                "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "AttributeDefinitions": [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "N"},
                ],
            },
        )
        key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
        calls = [
            ("PutItem", {"TableName": "hot", "Item": {**key, "data": {"S": "x"}}}),
            ("GetItem", {"TableName": "hot", "Key": key}),
            (
                "Query",
                {
                    "TableName": "hot",
                    "KeyConditionExpression": "pk = :p",
                    "ExpressionAttributeValues": {":p": {"S": "a"}},
                },
            ),
        ]
        for op, params in calls:  # first calls: lazy module loads and caches are allowed
            _send(app, DDB + op, params)
        with _imports_counted() as imported:
            for op, params in calls:
                _send(app, DDB + op, params)
        assert _send(app, DDB + "GetItem", {"TableName": "hot", "Key": key})["Item"]["data"] == {"S": "x"}
        assert imported == []
    finally:
        server.engine.close()
