"""In-process micro-benchmarks of hot paths (not tests: they print numbers and assert nothing).

    python bench/micro.py                 # all
    python bench/micro.py plan_append     # one or more by name

Each reports the best of several repeats in microseconds per call. Numbers vary with the
machine and its load; compare runs made on the same machine, one after another.
"""

from __future__ import annotations

import sys
import time
import timeit
from collections.abc import Callable

import orjson


def _best_us(fn: Callable[[], object], number: int, repeat: int = 5) -> float:
    fn()  # warm caches (compiled validators, patterns) outside the timing
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def bench_from_wire_item() -> str:
    """DynamoDB wire item -> internal form (every PutItem pays it)."""
    from tidestream.dynamodb.attributes import from_wire_item

    item = {
        "pk": {"S": "user#123"},
        "sk": {"S": "order#1"},
        "n1": {"N": "42"},
        "n2": {"N": "3.14"},
        "flag": {"BOOL": True},
        "name": {"S": "Alice"},
        "email": {"S": "a@example.com"},
        "nothing": {"NULL": True},
        "tags": {"SS": ["a", "b"]},
        "count": {"N": "1000"},
    }
    return f"{_best_us(lambda: from_wire_item(item), 20000):.2f} us/item (10 attributes)"


def bench_validation() -> str:
    """Request validation of a PutItem (7 attributes) and a Kinesis PutRecord."""
    from tidestream.protocol import validator

    body = orjson.dumps(
        {
            "TableName": "users",
            "Item": {
                "pk": {"S": "user#123"},
                "sk": {"S": "profile"},
                "age": {"N": "42"},
                "active": {"BOOL": True},
                "tags": {"SS": ["a", "b"]},
                "addr": {"M": {"city": {"S": "Paris"}, "zip": {"N": "75001"}}},
                "avatar": {"B": "aGVsbG8gd29ybGQ="},
            },
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnConsumedCapacity": "TOTAL",
        }
    )
    kbody = orjson.dumps({"StreamName": "stream", "PartitionKey": "pk", "Data": "aGVsbG8gd29ybGQ="})
    v, kv = validator("dynamodb", "PutItem"), validator("kinesis", "PutRecord")
    per = _best_us(lambda: v(orjson.loads(body)), 20000)
    kper = _best_us(lambda: kv(orjson.loads(kbody)), 20000)
    return f"PutItem {per:.2f} us/request; Kinesis PutRecord {kper:.2f} us/request (incl. JSON parse)"


def bench_sigv4() -> str:
    """SigV4 header verification of one signed request."""
    sys.path.insert(0, ".")
    from tests.unit.test_sigv4 import ACCOUNT, KEY, NOW, SECRET, Verifier, sign  # type: ignore

    verifier = Verifier({KEY: (SECRET, ACCOUNT)}, clock=lambda: NOW)
    req, _ = sign()
    return f"{_best_us(lambda: verifier(req), 2000):.2f} us/request"


def bench_partiql_lexer() -> str:
    """PartiQL: tokenizing a typical statement and the 8 KB worst case ('?' * 8192), and parsing
    that worst case (the parser reads tokens on demand, so it stops after the first two)."""
    from tidestream.dynamodb.partiql.lexer import tokenize
    from tidestream.dynamodb.partiql.parser import parse
    from tidestream.errors import ValidationException

    typical = "SELECT * FROM \"orders\" WHERE pk = ? AND sk BETWEEN 'a' AND 'z' ORDER BY sk DESC"
    worst = "?" * 8192

    def parse_worst() -> None:
        try:
            parse(worst)
        except ValidationException:
            pass

    return (
        f"tokenize typical {_best_us(lambda: tokenize(typical), 5000):.2f} us; "
        f"tokenize '?'*8192 {_best_us(lambda: tokenize(worst), 20) / 1000:.2f} ms; "
        f"parse '?'*8192 {_best_us(parse_worst, 50) / 1000:.2f} ms"
    )


def bench_plan_append() -> str:
    """kinesis/append.plan_append, run by PutRecords per call: 100 records over 4 shards."""
    from tidestream.config import Config
    from tidestream.context import RequestContext
    from tidestream.kinesis.append import plan_append
    from tidestream.kinesis.service import build
    from tidestream.storage.engine import RocksEngine

    engine = RocksEngine(None, in_memory=True)
    spec, state = build(engine, Config(kinesis_limits=False))
    ctx = RequestContext("111122223333", "us-east-1", "bench")
    spec.operations["CreateStream"](ctx, {"StreamName": "b", "ShardCount": 4})
    spec.operations["DescribeStream"](ctx, {"StreamName": "b"})
    stream = state.resolve(ctx, {"StreamName": "b"})
    entries = [{"PartitionKey": f"pk{i}", "Data": b"x" * 200} for i in range(100)]
    per = _best_us(lambda: plan_append(state, stream, entries), 500)
    return f"{per:.1f} us per 100 records ({per / 100:.2f} us/record)"


BENCHES = {
    "from_wire_item": bench_from_wire_item,
    "validation": bench_validation,
    "sigv4": bench_sigv4,
    "partiql_lexer": bench_partiql_lexer,
    "plan_append": bench_plan_append,
}


def main(names: list[str]) -> None:
    for name in names or list(BENCHES):
        started = time.perf_counter()
        print(f"{name}: {BENCHES[name]()}  [{time.perf_counter() - started:.1f} s]", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
