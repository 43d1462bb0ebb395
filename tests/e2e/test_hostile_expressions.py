"""Random token soup for every DynamoDB expression parameter, sent through real requests.

Condition, Update, KeyCondition, Filter and Projection expressions built from the languages'
own tokens (and some junk) must be answered 200 or a 4xx in AWS's shape, never a 5xx; a
rejected write changes nothing.
"""

from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.hostile_helpers import SCALE, TABLE, Tracker, headers_for, module_state, tracked

SETTINGS = dict(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

TOKENS = [
    "pk",
    "sk",
    "n",
    "doc",
    "doc.l",
    "doc.l[0]",
    "doc.s",
    "#n",
    "#k",
    "#missing",
    ":v",
    ":n",
    ":l",
    ":m",
    ":s",
    ":b",
    ":missing",
    "a",
    "b",
    "x.y.z",
    "x[0]",
    "[1]",
    ".",
    ",",
    "(",
    ")",
    "[",
    "]",
    "=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "AND",
    "OR",
    "NOT",
    "BETWEEN",
    "IN",
    "SET",
    "REMOVE",
    "ADD",
    "DELETE",
    "attribute_exists",
    "attribute_not_exists",
    "attribute_type",
    "begins_with",
    "contains",
    "size",
    "if_not_exists",
    "list_append",
    "1",
    "0",
    "99999999999",
    "'s'",
    '"q"',
    "\\",
    "#",
    ":",
    "\t",
    "\n",
    "é",
    "\u2028",
    "\x00",
    "🙂",
    "COMMENT",
    "TABLE",
    "[-1]",
    "[99999999999999999999]",
]
soup = st.lists(st.sampled_from(TOKENS) | st.text(max_size=3), min_size=0, max_size=14).map(" ".join)
NAMES = {"#n": "n", "#k": "pk"}
VALUES = {
    ":v": {"S": "x"},
    ":n": {"N": "1"},
    ":l": {"L": [{"S": "y"}]},
    ":m": {"M": {"q": {"N": "2"}}},
    ":s": {"SS": ["p"]},
    ":b": {"B": "AAAA"},
}


@pytest.fixture(scope="module")
def state(request):
    yield from module_state(request, "hostile-expr")


@pytest.fixture
def tracker(state):
    yield from tracked(state)


def _placeholders(data, body: dict) -> dict:
    mode = data.draw(st.sampled_from(["all", "none", "random"]))
    if mode == "all":
        body["ExpressionAttributeNames"] = dict(NAMES)
        body["ExpressionAttributeValues"] = dict(VALUES)
    elif mode == "random":
        body["ExpressionAttributeNames"] = data.draw(
            st.dictionaries(
                st.sampled_from(["#n", "#k", "#", "n", "#missing"]),
                st.sampled_from(["n", "pk", "", "a.b"]),
                max_size=3,
            )
        )
        body["ExpressionAttributeValues"] = data.draw(
            st.dictionaries(
                st.sampled_from([":v", ":n", ":l", ":", "v"]),
                st.sampled_from(list(VALUES.values()) + [{}, {"S": ""}, {"N": "x"}]),
                max_size=4,
            )
        )
    return body


KEY = {"pk": {"S": "a"}, "sk": {"N": "1"}}
WRITES = {
    "PutItem": lambda e: {
        "Item": {"pk": {"S": "a"}, "sk": {"N": "7"}, "n": {"N": "5"}},
        "ConditionExpression": e,
    },
    "DeleteItem": lambda e: {"Key": KEY, "ConditionExpression": e},
    "UpdateItem-update": lambda e: {"Key": KEY, "UpdateExpression": e},
    "UpdateItem-condition": lambda e: {
        "Key": KEY,
        "UpdateExpression": "SET n = n + :n",
        "ConditionExpression": e,
    },
}
READS = {
    "GetItem": lambda e: {"Key": KEY, "ProjectionExpression": e},
    "Query-key": lambda e: {"KeyConditionExpression": e},
    "Query-filter": lambda e: {"KeyConditionExpression": "pk = :v", "FilterExpression": e},
    "Query-projection": lambda e: {"KeyConditionExpression": "pk = :v", "ProjectionExpression": e},
    "Scan-filter": lambda e: {"FilterExpression": e},
    "Scan-projection": lambda e: {"ProjectionExpression": e},
}


@settings(max_examples=250 * SCALE, **SETTINGS)
@given(kind=st.sampled_from(sorted(WRITES) + sorted(READS)), expr=soup, data=st.data())
def test_token_soup(tracker, kind, expr, data):
    build = WRITES.get(kind) or READS[kind]
    body = _placeholders(data, {"TableName": TABLE, **build(expr)})
    if kind.startswith("Query") and "KeyConditionExpression" in body and kind != "Query-key":
        body.setdefault("ExpressionAttributeValues", {})[":v"] = {"S": "a"}
    op = kind.split("-")[0]
    tracker.send(headers_for("dynamodb", op), orjson.dumps(body), (kind, body))


@settings(max_examples=60 * SCALE, **SETTINGS)
@given(expr=soup, data=st.data())
def test_token_soup_in_transactions(tracker, expr, data):
    body = {
        "TransactItems": [
            {"ConditionCheck": {"TableName": TABLE, "Key": KEY, "ConditionExpression": expr}},
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": "a"}, "sk": {"N": "2"}},
                    "UpdateExpression": data.draw(soup),
                }
            },
        ]
    }
    for item in body["TransactItems"]:
        _placeholders(data, next(iter(item.values())))
    tracker.send(headers_for("dynamodb", "TransactWriteItems"), orjson.dumps(body), body)


@pytest.mark.parametrize(
    "expr",
    [
        "(" * 5000 + "a = :v" + ")" * 5000,
        "NOT " * 5000 + "attribute_exists(a)",
        " OR ".join(["a = :v"] * 2000),
        " AND ".join(["a = :v"] * 585),
        "a" + "[0]" * 1200,
        "a" + ".b" * 2000,
        "size(" * 2000 + "a" + ")" * 2000,
        "a IN (" + ",".join([":v"] * 5000) + ")",
        "a[" + "9" * 100 + "] = :v",
        "x" * 5000 + " = :v",
        "#" + "n" * 300 + " = :v",
    ],
)
def test_pathological_expressions(state, expr):
    t = Tracker(state)
    values = {":v": {"S": "x"}}
    for kind, body in (
        ("Scan", {"FilterExpression": expr, "ExpressionAttributeValues": values}),
        ("Scan", {"ProjectionExpression": expr}),
        (
            "PutItem",
            {
                "Item": {"pk": {"S": "p"}, "sk": {"N": "1"}},
                "ConditionExpression": expr,
                "ExpressionAttributeValues": values,
            },
        ),
        ("UpdateItem", {"Key": KEY, "UpdateExpression": "SET " + expr, "ExpressionAttributeValues": values}),
        ("Query", {"KeyConditionExpression": expr, "ExpressionAttributeValues": values}),
    ):
        body["TableName"] = TABLE
        status, resp = t.send(headers_for("dynamodb", kind), orjson.dumps(body), (kind, expr[:60]))
        if len(expr) > 4096:  # DynamoDB's expression size cap (the rest: any 2xx/4xx, no 5xx)
            assert status == 400 and "Expression size has exceeded" in resp["message"], resp
    state.healthy()


PARTIQL_TOKENS = [
    "SELECT",
    "*",
    "FROM",
    f'"{TABLE}"',
    "WHERE",
    "pk",
    "sk",
    "=",
    "?",
    "'a'",
    "AND",
    "OR",
    "NOT",
    "INSERT",
    "INTO",
    "VALUE",
    "{",
    "}",
    ":",
    "[",
    "]",
    "UPDATE",
    "SET",
    "DELETE",
    "REMOVE",
    ".",
    "(",
    ")",
    ",",
    "1",
    "-1e999",
    "<<",
    ">>",
    "MISSING",
    "NULL",
    "EXISTS",
    "begins_with",
    "size",
    "IS",
    "ORDER",
    "BY",
    "DESC",
    "\x00",
    "é",
    '"',
]


@settings(max_examples=120 * SCALE, **SETTINGS)
@given(
    tokens=st.lists(st.sampled_from(PARTIQL_TOKENS) | st.text(max_size=3), max_size=16),
    params=st.none() | st.lists(st.sampled_from(list(VALUES.values()) + [{}, {"N": "x"}]), max_size=3),
)
def test_partiql_token_soup(tracker, tokens, params):
    body = {"Statement": " ".join(tokens)}
    if params is not None:
        body["Parameters"] = params
    tracker.send(headers_for("dynamodb", "ExecuteStatement"), orjson.dumps(body), body)


@pytest.mark.parametrize("n", [40, 3000])
def test_pathological_partiql(state, n):
    t = Tracker(state)
    for stmt in (
        f'SELECT * FROM "{TABLE}" WHERE ' + "(" * n + "pk = 'a'" + ")" * n,
        f'SELECT * FROM "{TABLE}" WHERE ' + "NOT " * n + "pk = 'a'",
        f'INSERT INTO "{TABLE}" VALUE ' + "{'pk':'z','sk':1,'d':" + "{'a':" * n + "1" + "}" * n + "}",
        f'INSERT INTO "{TABLE}" VALUE ' + "{'pk':'z','sk':2,'d':" + "[" * n + "1" + "]" * n + "}",
        f'SELECT * FROM "{TABLE}" WHERE pk IN [' + ",".join(["'a'"] * n) + "]",
    ):
        t.send(headers_for("dynamodb", "ExecuteStatement"), orjson.dumps({"Statement": stmt}), stmt[:80])
    state.healthy()
