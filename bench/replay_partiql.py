"""Replay PartiQL requests whose answers were recorded against live DynamoDB, and list the misses.

Why: PartiQL's messages and edge cases are numerous and poorly documented; the only reliable
expectations are those captured from AWS. Each case below names its source and sends the raw
request (so nothing an SDK would refuse client-side is lost), then checks the status, ``__type``,
message or the part of the response the source pins. Cases run in order: some depend on the
items earlier ones wrote, as in their sources.

Sources (read with the search tool, October-November 2026):
  F  Floci's ``DynamoDbPartiQLEdgeCaseIntegrationTest`` ("every expectation captured from real
     DynamoDB (eu-west-2, 2026-09-17)")
  PG paritysuite dynamodb-conformance ``tier3/error-messages/partiqlGrammar.test.ts``
  PF paritysuite ``tier3/error-messages/partiqlFunctions.test.ts``
  PN paritysuite ``tier3/error-messages/partiqlParameterNumbers.test.ts``
  PI paritysuite ``tier2/partiql/executeStatementIndex.test.ts``
  PO paritysuite ``tier2/partiql/whereOverlap.test.ts``
  PW paritysuite ``tier2/partiql/whereFunctions.test.ts`` / ``writeResponses.test.ts`` /
     ``fromFirstUpdate.test.ts`` / ``setFunctions.test.ts`` / ``comparison.test.ts``
  (paritysuite: eu-west-2 and us-east-1, October 2026)
  PC paritysuite ``tier2/partiql/comparison.test.ts`` (non-scalar equality, ordering refusals)
  PS paritysuite ``tier3/limits/itemSizeBySurface.test.ts`` (PartiQL, eu-west-2, 2026-08-18)
  M  moto's ``tests/test_dynamodb/test_dynamodb_statements.py`` tests marked ``aws_verified``

Usage: python bench/replay_partiql.py http://127.0.0.1:PORT [--verbose]
Exit status 1 when any case differs. Use a fresh server: the cases create their own tables.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

DDB = "DynamoDB_20120810."
NWF = "Statement wasn't well formed, can't be processed: "
LEFTOVER = NWF + "Unexpected token after expression"
OVERLAP = "Overlapping conditions with range keys are not supported in where clause"
BATCH_KEY = "Select statements within BatchExecuteStatement must specify the primary key in the where clause."
TX_KEY = "Select statements within ExecuteTransaction must specify the primary key in the where clause."
MISMATCH = "The provided key element does not match the schema"
UNCONVERTIBLE = "The parameter cannot be converted to a numeric value"
OVERFLOW = "Number overflow. Attempting to store a number with magnitude larger than supported range"
UNDERFLOW = "Number underflow. Attempting to store a number with magnitude smaller than supported range"
NEST = (
    "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels "
    "beyond supported limit"
)

Check = Callable[[int, dict], str | None]

# tables: F's composite table, paritysuite's hash (S), hash (N) and composite ones
FT = "partiql-edge-cases"
FQ = f'"{FT}"'
FI = "partiql-edge-cases-index"
FV = "partiql-edge-cases-index-view"
S, N, C = "pq_hash", "pq_hash_n", "pq_comp"
M = "pq_moto"
INSERT_K = f"INSERT INTO {FQ} VALUE {{'pk':'literals','sk':'1','m':{{'k':?}}}}"


def post(endpoint: str, operation: str, body: Any) -> tuple[int, dict]:
    data = json.dumps(body).encode()
    req = urllib.request.Request(
        endpoint,
        data=data,
        headers={
            "X-Amz-Target": DDB + operation,
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, "
            "SignedHeaders=host, Signature=00",
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    return status, json.loads(raw or b"{}")


# ---------------------------------------------------------------------------- checks
def _kind(doc: dict) -> str:
    return str(doc.get("__type", "")).rsplit("#", 1)[-1]


def err(kind: str, message: str | None = None) -> Check:
    def check(status: int, doc: dict) -> str | None:
        got = (_kind(doc), doc.get("message", doc.get("Message")))
        if status != 400 or got[0] != kind or (message is not None and got[1] != message):
            return f"want {kind} {message!r}, got {status} {got[0]} {got[1]!r}"
        return None

    return check


def invalid(message: str | None = None) -> Check:
    return err("ValidationException", message)


def ok(predicate: Callable[[dict], bool] = lambda doc: True, what: str = "") -> Check:
    def check(status: int, doc: dict) -> str | None:
        if status != 200:
            return f"want 200 {what}, got {status} {_kind(doc)} {doc.get('message')!r}"
        if not predicate(doc):
            return f"want {what}, got {json.dumps(doc)[:300]}"
        return None

    return check


def items(count: int) -> Check:
    return ok(lambda d: len(d.get("Items", [])) == count, f"{count} items")


def sort_keys(*expected: str) -> Check:
    return ok(
        lambda d: sorted(i["sk"]["S"] for i in d.get("Items", [])) == sorted(expected),
        f"sk {sorted(expected)}",
    )


def reasons(*codes: str, messages: dict[int, str | None] | None = None) -> Check:
    def check(status: int, doc: dict) -> str | None:
        got = doc.get("CancellationReasons", [])
        if _kind(doc) != "TransactionCanceledException" or [r.get("Code") for r in got] != list(codes):
            return f"want cancellation {codes}, got {status} {_kind(doc)} {doc.get('message')!r} {got}"
        for i, text in (messages or {}).items():
            if got[i].get("Message") != text:
                return f"reason {i}: want {text!r}, got {got[i].get('Message')!r}"
        return None

    return check


def slots(*expected: tuple[str | None, str | None]) -> Check:
    """BatchExecuteStatement: each response's (Error.Code, Error.Message); None matches anything."""

    def check(status: int, doc: dict) -> str | None:
        got = [
            (r.get("Error", {}).get("Code"), r.get("Error", {}).get("Message"))
            for r in doc.get("Responses", [])
        ]
        if status != 200 or len(got) != len(expected):
            return f"want {expected}, got {status} {got or doc}"
        for (want_code, want_msg), (code, msg) in zip(expected, got):
            if (want_code is not None and want_code != code) or (want_msg is not None and want_msg != msg):
                return f"want {expected}, got {got}"
        return None

    return check


# ---------------------------------------------------------------------------- requests
def stmt(text: str, params: list | None = None, **extra: Any) -> tuple[str, dict]:
    body: dict[str, Any] = {"Statement": text, **extra}
    if params is not None:
        body["Parameters"] = params
    return "ExecuteStatement", body


def tx(*statements: str | tuple[str, list]) -> tuple[str, dict]:
    members = [
        {"Statement": s} if isinstance(s, str) else {"Statement": s[0], "Parameters": s[1]}
        for s in statements
    ]
    return "ExecuteTransaction", {"TransactStatements": members}


def batch(*statements: str | tuple[str, list]) -> tuple[str, dict]:
    members = [
        {"Statement": s} if isinstance(s, str) else {"Statement": s[0], "Parameters": s[1]}
        for s in statements
    ]
    return "BatchExecuteStatement", {"Statements": members}


def put(table: str, item: dict) -> tuple[str, dict]:
    return "PutItem", {"TableName": table, "Item": item}


def fput(pk: str, sk: str = "1", **attrs: dict) -> tuple[str, dict]:
    return put(FT, {"pk": {"S": pk}, "sk": {"S": sk}, **attrs})


def in_values(count: int) -> str:
    return ",".join(f"'v{i}'" for i in range(count))


def deep(depth: int, leaf: dict | None = None) -> dict:
    value = leaf or {"S": "leaf"}
    for _ in range(depth):
        value = {"M": {"n": value}}
    return value


def _table(name: str, keys: list[tuple[str, str, str]], **extra: Any) -> tuple[str, dict]:
    names = {n: t for n, t, _ in keys}
    for index in extra.get("GlobalSecondaryIndexes", []) + extra.get("LocalSecondaryIndexes", []):
        for el in index["KeySchema"]:
            names.setdefault(el["AttributeName"], "S")
    return "CreateTable", {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in names.items()],
        "KeySchema": [{"AttributeName": n, "KeyType": k} for n, _, k in keys],
        **extra,
    }


def setup_requests() -> list[tuple[str, dict]]:
    include = {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["projattr"]}
    gsi_inc = {
        "IndexName": "gsi-inc",
        "KeySchema": [{"AttributeName": "gsiPk", "KeyType": "HASH"}],
        "Projection": include,
    }
    return [
        _table(FT, [("pk", "S", "HASH"), ("sk", "S", "RANGE")]),
        _table(FI, [("pk", "S", "HASH")], GlobalSecondaryIndexes=[gsi_inc]),
        _table(
            FV,
            [("pk", "S", "HASH"), ("sk", "S", "RANGE")],
            GlobalSecondaryIndexes=[gsi_inc],
            LocalSecondaryIndexes=[
                {
                    "IndexName": "lsi-keys",
                    "KeySchema": [
                        {"AttributeName": "pk", "KeyType": "HASH"},
                        {"AttributeName": "lsiSk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            ],
        ),
        _table(S, [("pk", "S", "HASH")]),
        _table(N, [("pk", "N", "HASH")]),
        _table(C, [("pk", "S", "HASH"), ("sk", "S", "RANGE")]),
        _table(M, [("pk", "S", "HASH")]),
        put(FI, {"pk": {"S": "p"}, "gsiPk": {"S": "y"}, "projattr": {"S": "proj1"}, "nonproj": {"S": "np1"}}),
        put(
            FV,
            {
                "pk": {"S": "p"},
                "sk": {"S": "s1"},
                "gsiPk": {"S": "y"},
                "lsiSk": {"S": "k1"},
                "nonproj": {"S": "np1"},
            },
        ),
        put(
            FV,
            {
                "pk": {"S": "p"},
                "sk": {"S": "s2"},
                "gsiPk": {"S": "y2"},
                "lsiSk": {"S": "k2"},
                "nonproj": {"S": "np2"},
            },
        ),
        put(
            S,
            {
                "pk": {"S": "pq-fn"},
                "ss": {"SS": ["a", "b", "c"]},
                "s": {"S": "str"},
                "m": {"M": {"inner": {"SS": ["x"]}}},
            },
        ),
        put(C, {"pk": {"S": "pq-overlap"}, "sk": {"S": "1"}}),
        put(C, {"pk": {"S": "pq-overlap"}, "sk": {"S": "2"}}),
        put(C, {"pk": {"S": "pq-overlap"}, "sk": {"S": "3"}}),
    ]


# ---------------------------------------------------------------------------- cases
Case = tuple[str, tuple[str, dict], Check | None]


def floci_cases() -> list[Case]:
    """F: in the source's order; puts have no check."""
    sel = f"SELECT sk FROM {FQ} WHERE "
    upd = f"UPDATE {FQ} SET "
    idx = f'SELECT pk FROM "{FI}"."gsi-inc" WHERE gsiPk=\'y\' AND '
    proj = "One or more parameter values were invalid: Secondary index gsi-inc does not project one or more filter attributes: "
    multiple = "Multiple conditions on same key pk. Only single item Update/Insert/Delete are supported"
    cases: list[Case] = [
        ("F put", fput("minus", n={"N": "5"}), None),
        ("F n=n-1", stmt(f"{upd}n=n-1 WHERE pk='minus' AND sk='1'"), ok()),
        ("F n>-5;", stmt(f"{sel}pk='minus' AND n>-5;"), items(1)),
        ("F trailing garbage", stmt(f"{upd}t=1 WHERE pk='minus' AND sk='1' garbage"), invalid(LEFTOVER)),
        ("F put", fput("index", l={"L": [{"S": "a"}, {"S": "b"}]}), None),
        (
            "F l[-1]",
            stmt(f"SELECT l[-1] FROM {FQ} WHERE pk='index' AND sk='1'"),
            invalid("List index is not within the allowable range; index: [-1] at 1:11:1"),
        ),
        (
            "F l[-0]",
            stmt(f"SELECT l[-0] FROM {FQ} WHERE pk='index' AND sk='1'"),
            ok(lambda d: d["Items"][0]["l[0]"] == {"S": "a"}, "l[0]=a"),
        ),
        (
            "F l[2147483648]",
            stmt(f"SELECT l[2147483648] FROM {FQ} WHERE pk='index' AND sk='1'"),
            invalid("List index is not within the allowable range; index: [2147483648] at 1:10:10"),
        ),
        (
            "F REMOVE l[2147483648]",
            stmt(f"UPDATE {FQ} REMOVE l[2147483648] WHERE pk='index' AND sk='1'"),
            invalid(),
        ),
        ("F l[2147483647]", stmt(f"SELECT l[2147483647] FROM {FQ} WHERE pk='index' AND sk='1'"), ok()),
        (
            "F attribute_type(l, 1)",
            stmt(f"{sel}pk='index' AND attribute_type(l, 1)"),
            invalid(
                "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N"
            ),
        ),
        (
            "F attribute_type(l, true)",
            stmt(f"{sel}pk='index' AND attribute_type(l, true)"),
            invalid(
                "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: BOOL"
            ),
        ),
        ("F put", fput("sets", BandMembers={"SS": ["member1", "member2"]}), None),
        (
            "F set_add string, multi-line",
            stmt(f"UPDATE {FQ}\nSET BandMembers = set_add(BandMembers, 'x')\nWHERE pk='sets' AND sk='1'"),
            invalid("The second argument to SET_ADD must be a value with type SET at 2:27:11"),
        ),
        ("F put", fput("bags", s={"SS": ["a"]}, n={"NS": ["1"]}), None),
        (
            "F set_add <<'b','b'>>",
            stmt(f"{upd}s = set_add(s, <<'b','b'>>) WHERE pk='bags' AND sk='1'"),
            invalid(
                "One or more parameter values were invalid: Input collection [b, b] contains duplicates."
            ),
        ),
        (
            "F set_add <<2, 2.0>>",
            stmt(f"{upd}n = set_add(n, <<2, 2.0>>) WHERE pk='bags' AND sk='1'"),
            invalid(
                "One or more parameter values were invalid: Input collection [2, 2.0] contains duplicates! under root"
            ),
        ),
        (
            "F s = <<'a','a'>> in WHERE",
            stmt(f"{sel}pk='bags' AND sk='1' AND s = <<'a','a'>>"),
            invalid(
                "One or more parameter values were invalid: Input collection [a, a] contains duplicates."
            ),
        ),
        (
            "F tx insert dup bag",
            tx(f"INSERT INTO {FQ} VALUE {{'pk':'bags-tx','sk':'1','x':[<<'a','a'>>]}}"),
            invalid(
                "Validation failed in TransactStatements[0]: One or more parameter values were invalid: Input collection [a, a] contains duplicates."
            ),
        ),
        ("F n = <<1, 10>>", stmt(f"{upd}n = <<1, 10>> WHERE pk='bags' AND sk='1'"), ok()),
        (
            "F bad parameter before a bad statement",
            stmt(f"UPDATE {FQ} SET WHERE", [{"SS": ["a", "a"]}]),
            invalid(
                "One or more parameter values were invalid: Input collection [a, a] contains duplicates."
            ),
        ),
        (
            "F NULL false parameter",
            stmt(f"INSERT INTO {FQ} VALUE {{'pk':'params','sk':'1','x':?}}", [{"NULL": False}]),
            invalid(
                "One or more parameter values were invalid: Null attribute value types must have the value of true"
            ),
        ),
        (
            "F tx bad parameter in second statement",
            tx(
                (f"UPDATE {FQ} SET y = ? WHERE pk='params' AND sk='1'", [{"N": "1"}]),
                (f"INSERT INTO {FQ} VALUE {{'pk':'params','sk':'1','x':?}}", [{"SS": ["a", "a"]}]),
            ),
            invalid(
                "One or more parameter values were invalid: Input collection [a, a] contains duplicates."
            ),
        ),
        (
            "F batch empty SS parameter",
            batch((f"UPDATE {FQ} SET y = ? WHERE pk='params' AND sk='1'", [{"SS": []}])),
            slots(
                (
                    "ValidationError",
                    "One or more parameter values were invalid: An string set  may not be empty",
                )
            ),
        ),
        ("F put", fput("reads", a={"S": "x"}), None),
        (
            "F tx two reads of one item",
            tx(
                f"SELECT * FROM {FQ} WHERE pk='reads' AND sk='1'",
                f"SELECT a FROM {FQ} WHERE sk='1' AND pk='reads'",
            ),
            invalid("Transaction request cannot include multiple operations on one item"),
        ),
        (
            "F tx read with mistyped key",
            tx(
                f"SELECT * FROM {FQ} WHERE pk='reads' AND sk='1'",
                f"SELECT * FROM {FQ} WHERE pk='reads' AND sk='1'",
                f"SELECT * FROM {FQ} WHERE pk=1 AND sk='1'",
            ),
            err(
                "TransactionCanceledException",
                "Transaction cancelled, please refer cancellation reasons for specific reasons [None, None, ValidationError]",
            ),
        ),
        (
            "F tx two reads",
            tx(
                f"SELECT * FROM {FQ} WHERE pk='reads' AND sk='1'",
                f"SELECT * FROM {FQ} WHERE pk='reads' AND sk='2'",
            ),
            ok(lambda d: d["Responses"][0]["Item"]["a"] == {"S": "x"}, "Responses[0].Item.a"),
        ),
        ("F put", fput("keyed", flag={"S": "right"}), None),
        (
            "F tx read with filter",
            tx(f"SELECT * FROM {FQ} WHERE pk='keyed' AND sk='1' AND flag='right'"),
            invalid(f"Validation failed in TransactStatements[0]: {TX_KEY}"),
        ),
        (
            "F tx read two pk values",
            tx(f"SELECT * FROM {FQ} WHERE pk='keyed' AND sk='1' AND pk='reads'"),
            invalid(f"Validation failed in TransactStatements[0]: {TX_KEY}"),
        ),
        (
            "F tx read partial key",
            tx(f"SELECT * FROM {FQ} WHERE pk='keyed'"),
            invalid(f"Validation failed in TransactStatements[0]: {TX_KEY}"),
        ),
        (
            "F tx read repeated pk",
            tx(f"SELECT * FROM {FQ} WHERE (sk='1') AND pk='keyed' AND pk='keyed'"),
            ok(lambda d: d["Responses"][0]["Item"]["flag"] == {"S": "right"}, "flag=right"),
        ),
        (
            "F idx NOT (nonproj OR projattr)",
            stmt(idx + "NOT (nonproj='np1' OR projattr='x')"),
            invalid(proj + "[nonproj]"),
        ),
        (
            "F idx b AND (a OR projattr)",
            stmt(idx + "b='1' AND (a='2' OR projattr='3')"),
            invalid(proj + "[a, b]"),
        ),
        (
            "F idx (zz OR aa OR mm)",
            stmt(idx + "(zz='1' OR aa='2' OR mm='3')"),
            invalid(proj + "[zz, aa, mm]"),
        ),
        (
            "F idx projected OR",
            stmt(idx + "(projattr='proj1' OR projattr='proj2')"),
            ok(lambda d: d["Items"][0]["pk"] == {"S": "p"}, "pk=p"),
        ),
        ("F put", fput("comments", n={"N": "1"}, note={"S": "a--b /*c*/"}), None),
        (
            "F comments everywhere",
            stmt(f"SELECT/**/* FROM {FQ} -- the table\nWHERE pk/* key */='comments' AND sk='1' --"),
            ok(lambda d: d["Items"][0]["note"] == {"S": "a--b /*c*/"}, "note"),
        ),
        (
            "F comment after ;",
            stmt(f"SELECT note FROM {FQ} WHERE pk='comments' AND sk='1' AND note = 'a--b /*c*/'; -- done"),
            items(1),
        ),
        ("F n=n--1", stmt(f"{upd}n=n--1 WHERE pk='comments' AND sk='1'"), invalid()),
        ("F open comment", stmt(f"SELECT * FROM {FQ} WHERE pk='comments' AND sk='1' /* open"), invalid()),
        ("F put", fput("signs", n={"N": "1"}), None),
        ("F n = - - 1", stmt(f"{sel}pk='signs' AND sk='1' AND n = - - 1"), items(1)),
        ("F n > -/* c */-1", stmt(f"{sel}pk='signs' AND sk='1' AND n > -/* c */-1"), items(0)),
        (
            "F BETWEEN - 2 AND +5",
            stmt(f"{sel}pk='signs' AND sk='1' AND n BETWEEN - 2 AND +5 AND n IN [- 1, 1]"),
            items(1),
        ),
        ("F n > -?", stmt(f"{sel}pk='signs' AND sk='1' AND n > -?"), invalid()),
        ("F n > -n", stmt(f"{sel}pk='signs' AND sk='1' AND n > -n"), invalid()),
        ("F n = n - - 2, l = [- 1]", stmt(f"{upd}n = n - - 2, l = [- 1] WHERE pk='signs' AND sk='1'"), ok()),
        (
            "F [?] in SET",
            stmt(f"{upd}x = [?] WHERE pk='literals' AND sk='1'", [{"S": "v"}]),
            invalid(f"Unsupported data type: Parameter under key root[0] at 1:{len(upd) + 6}:1"),
        ),
        (
            "F {'k':?} in INSERT",
            stmt(INSERT_K, [{"S": "v"}]),
            invalid(f"Unsupported data type: Parameter under key root.k at 1:{INSERT_K.index('?') + 1}:1"),
        ),
        (
            "F pk=? in INSERT",
            stmt(f"INSERT INTO {FQ} VALUE {{'pk':?,'sk':'1','n':1}}", [{"S": "literals"}]),
            ok(),
        ),
        ("F n IN [?, 2]", stmt(f"{sel}pk='literals' AND n IN [?, 2]", [{"N": "1"}]), items(1)),
        (
            "F 32 nested maps",
            stmt(f"{upd}d = " + "{'a':" * 32 + "1" + "}" * 32 + " WHERE pk='nested' AND sk='1'"),
            invalid("Nesting Levels have exceeded supported limits under root" + ".a" * 32),
        ),
        (
            "F map then 31 lists",
            stmt(f"{upd}d = " + "{'a':" + "[" * 31 + "1" + "]" * 31 + "}" + " WHERE pk='nested' AND sk='1'"),
            invalid("Nesting Levels have exceeded supported limits under root.a" + "[0]" * 31),
        ),
        (
            "F tx 32 nested lists",
            tx(f"{upd}d = " + "[" * 32 + "1" + "]" * 32 + " WHERE pk='nested' AND sk='1'"),
            invalid(
                "Validation failed in TransactStatements[0]: Nesting Levels have exceeded supported limits under root"
                + "[0]" * 32
            ),
        ),
        (
            "F 31 nested maps insert",
            stmt(
                f"INSERT INTO {FQ} VALUE {{'pk':'nested','sk':'1','d':" + "{'a':" * 31 + "1" + "}" * 31 + "}"
            ),
            ok(),
        ),
        ("F put", fput("arithmetic", n={"N": "1"}), None),
        (
            "F 'a' + 1",
            stmt(f"{upd}n = 'a' + 1 WHERE pk='arithmetic' AND sk='1' AND nope='x'"),
            invalid(
                "Incorrect operand type for operator or function; operator or function: +, operand type: S"
            ),
        ),
        (
            "F n - null",
            stmt(f"{upd}n = n - null WHERE pk='arithmetic' AND sk='1' AND nope='x'"),
            invalid(
                "Incorrect operand type for operator or function; operator or function: -, operand type: NULL"
            ),
        ),
        (
            "F tx n + [1]",
            tx(f"{upd}n = n + [1] WHERE pk='arithmetic' AND sk='1'"),
            invalid(
                "Validation failed in TransactStatements[0]: Incorrect operand type for operator or function; operator or function: +, operand type: L"
            ),
        ),
        ("F put", fput("exists", m={"M": {"x": {"S": "y"}}}, l={"L": [{"S": "a"}]}), None),
        (
            "F attribute_exists mix",
            stmt(
                f"{sel}pk='exists' AND sk='1' AND attribute_exists(m.x) AND ATTRIBUTE_NOT_EXISTS (nope) AND attribute_exists(l[0])"
            ),
            items(1),
        ),
        (
            "F attribute_exists OR NOT",
            stmt(f"{sel}pk='exists' AND sk='1' AND (attribute_exists(nope) OR NOT attribute_exists(\"m\"))"),
            items(0),
        ),
        (
            "F attribute_exists('m')",
            stmt(f"{sel}pk='exists' AND sk='1' AND attribute_exists('m')"),
            invalid(),
        ),
        (
            "F update CCF",
            stmt(f"UPDATE {FQ} SET t=1 WHERE pk='exists' AND sk='1' AND attribute_exists(nope)"),
            err("ConditionalCheckFailedException"),
        ),
        ("F put", fput("booleans", n={"N": "1"}, flag={"S": "right"}, yes={"BOOL": True}), None),
    ]
    bsel = f"{sel}pk='booleans' AND sk='1' AND "
    for holds in (
        "attribute_exists(nope) = false",
        "true = attribute_exists(n)",
        "attribute_exists(n) <> 1",
        "contains(nope, 'z') = false",
        "(n BETWEEN 0 AND 5) = true",
        "(n = 5 OR flag = 'x') = false",
        "attribute_exists(nope) IN [true, false]",
        "attribute_exists(n) = attribute_exists(flag)",
        "attribute_exists(n) = yes",
    ):
        cases.append((f"F holds: {holds}", stmt(bsel + holds), items(1)))
    for fails in (
        "attribute_exists(n) = 1",
        "NOT attribute_exists(n) = true",
        "(attribute_exists(n) = true) = false",
        "attribute_exists(n) = flag",
    ):
        cases.append((f"F fails: {fails}", stmt(bsel + fails), items(0)))
    cases.append(
        (
            "F attribute_exists(n) > false",
            stmt(bsel + "attribute_exists(n) > false"),
            invalid(
                "Incorrect operand type for operator or function; operator or function: >, operand type: BOOL"
            ),
        )
    )
    cases += [
        ("F put", fput("ranges", flag={"S": "one"}), None),
        ("F put", fput("ranges", "2", flag={"S": "two"}), None),
    ]
    rsel = f"{sel}pk='ranges' AND "
    for both in (
        "(sk='1' OR sk='2')",
        "sk IN ['1','2']",
        "(sk < '1' OR sk > '1' OR sk='1')",
        "attribute_exists(pk)",
    ):
        cases.append((f"F both: {both}", stmt(rsel + both), sort_keys("1", "2")))
    for second in ("NOT sk='1'", "sk <> '1'", "sk > '0' AND sk <> '1'"):
        cases.append((f"F second: {second}", stmt(rsel + second), sort_keys("2")))
    cases.append(("F sk='1' AND sk > '0'", stmt(rsel + "sk='1' AND sk > '0'"), sort_keys("1")))
    for where in (
        "pk IN ['ranges','ranges']",
        "pk='ranges' OR pk='ranges'",
        "pk='ranges' AND (sk > '0' OR sk < '5')",
        "pk='ranges' AND (sk='1' OR flag='two')",
        "(pk='ranges' AND flag='one') OR (pk='ranges' AND flag='two')",
    ):
        cases.append((f"F overlap: {where}", stmt(sel + where), invalid(OVERLAP)))
    cases += [
        (
            "F tx overlap",
            tx(sel + "pk IN ['ranges','ranges'] AND sk='1'"),
            invalid(f"Validation failed in TransactStatements[0]: {OVERLAP}"),
        ),
        ("F pk OR sk", stmt(sel + "pk='ranges' OR sk='1'"), ok()),
        (
            "F pk = 1 OR pk = 'ranges'",
            stmt(sel + "pk = 1 OR pk = 'ranges'"),
            invalid("Key attribute's data type should match its data type in table's schema: Key pk"),
        ),
        (
            "F sk IN ['1', 2]",
            stmt(sel + "pk = 'ranges' AND sk IN ['1', 2]"),
            invalid("Key attribute's data type should match its data type in table's schema: Key sk"),
        ),
        ("F pk > 1", stmt(sel + "pk > 1"), items(0)),
    ]
    gsel = f'SELECT pk FROM "{FI}"."gsi-inc" WHERE '
    cases += [
        ("F idx branches AND zz", stmt(gsel + "(gsiPk='y' OR gsiPk='z') AND zz='1'"), invalid(proj + "[zz]")),
        (
            "F idx branch b,q",
            stmt(gsel + "(gsiPk='b' AND u1='1') OR (gsiPk='q' AND u2='1')"),
            invalid(proj + "[u2]"),
        ),
        (
            "F idx branch q,b",
            stmt(gsel + "(gsiPk='q' AND u1='1') OR (gsiPk='b' AND u2='1')"),
            invalid(proj + "[u1]"),
        ),
    ]
    for accepted in (
        "(gsiPk='y' AND projattr='1') OR (gsiPk='z' AND aa='1')",
        "gsiPk > 'a' AND zz='1'",
        "gsiPk='y' AND (gsiPk='z' OR zz='1')",
        "(gsiPk='y' AND zz='1') OR aa='1'",
    ):
        cases.append((f"F idx accepted: {accepted}", stmt(gsel + accepted), ok()))
    cases.append(
        ("F idx overlap", stmt(gsel + "(gsiPk='y' AND zz='1') OR (gsiPk='y' AND aa='1')"), invalid(OVERLAP))
    )
    cases += [
        (
            "F tx IN one value",
            tx(sel + "pk IN ['ranges'] AND sk IN ['1']"),
            ok(lambda d: d["Responses"][0]["Item"]["sk"] == {"S": "1"}, "sk=1"),
        ),
        (
            "F tx (IN) AND =",
            tx(sel + "(pk IN ['ranges']) AND pk='ranges' AND sk='2'"),
            ok(lambda d: d["Responses"][0]["Item"]["sk"] == {"S": "2"}, "sk=2"),
        ),
        (
            "F tx IN other AND =",
            tx(sel + "pk IN ['other'] AND pk='ranges' AND sk='1'"),
            invalid(f"Validation failed in TransactStatements[0]: {TX_KEY}"),
        ),
        (
            "F tx EXISTS with IN",
            tx(
                "EXISTS(" + sel + "pk IN ['ranges'] AND sk='1' AND flag='one')",
                f"UPDATE {FQ} SET b=1 WHERE pk='ranges' AND sk='2'",
            ),
            invalid(
                "Validation failed in TransactStatements[0]: EXISTS() must contain a single item read with additional condition"
            ),
        ),
        (
            "F batch IN / filter / two pk",
            batch(
                sel + "pk IN ['ranges'] AND sk='1'",
                sel + "pk='ranges' AND sk='1' AND flag='one'",
                sel + "pk='ranges' AND sk='1' AND pk='other'",
            ),
            slots((None, None), (None, BATCH_KEY), (None, BATCH_KEY)),
        ),
        ("F put", fput("conflict", flag={"S": "right"}), None),
        ("F put", fput("other", flag={"S": "right"}), None),
        (
            "F update two pk",
            stmt(f"UPDATE {FQ} SET a=1 WHERE pk='conflict' AND sk='1' AND pk='other'"),
            invalid(multiple),
        ),
        (
            "F delete two pk",
            stmt(f"DELETE FROM {FQ} WHERE pk='conflict' AND sk='1' AND pk='other'"),
            invalid(multiple),
        ),
        (
            "F update same pk twice",
            stmt(f"UPDATE {FQ} SET a=2 WHERE pk='conflict' AND sk='1' AND pk='conflict'"),
            ok(),
        ),
        (
            "F tx EXISTS two pk",
            tx(
                f"EXISTS(SELECT * FROM {FQ} WHERE pk='conflict' AND sk='1' AND pk='other' AND flag='right')",
                f"UPDATE {FQ} SET b=1 WHERE pk='other' AND sk='1'",
            ),
            reasons("ConditionalCheckFailed", "None"),
        ),
    ]
    missing = '"partiql-edge-cases-missing"'
    mupd = f"UPDATE {missing} SET a=1 WHERE pk='x' AND sk='1'"
    cases += [
        ("F put", fput("missing", flag={"S": "right"}), None),
        (
            "F tx missing table writes",
            tx(mupd + " RETURNING ALL NEW *", f"DELETE FROM {missing} WHERE pk='x' AND sk='1'"),
            reasons("ResourceNotFound", "ResourceNotFound", messages={0: "Requested resource not found"}),
        ),
        (
            "F tx missing table index read",
            tx(
                f"SELECT * FROM {FQ} WHERE pk='missing' AND sk='1'",
                f"SELECT * FROM {missing}.\"idx\" WHERE pk='x' AND sk='1'",
            ),
            reasons("None", "ResourceNotFound", messages={0: None}),
        ),
        (
            "F tx RETURNING",
            tx(mupd, f"UPDATE {FQ} SET a=1 WHERE pk='missing' AND sk='1' RETURNING ALL NEW *"),
            invalid(
                "Validation failed in TransactStatements[1]: RETURNING clause is not supported in ExecuteTransaction."
            ),
        ),
        (
            "F tx index read after missing table",
            tx(
                f"SELECT * FROM {missing} WHERE pk='x' AND sk='1'",
                f"SELECT * FROM {FQ}.\"idx\" WHERE pk='x' AND sk='1'",
            ),
            invalid(
                "Validation failed in TransactStatements[1]: Reads on indices are not supported within transactions."
            ),
        ),
        ("F put", fput("keys", flag={"S": "right"}), None),
    ]
    kupd = f"UPDATE {FQ} SET a=1 WHERE "
    cases += [
        (
            "F tx writes not naming one item",
            tx(
                kupd + "pk='keys'",
                kupd + "pk IN ['keys'] AND sk='1'",
                kupd + "pk='keys' AND sk='1' AND pk='other'",
                kupd + "pk='keys' AND sk=1",
                kupd + "pk='keys' AND sk='1'",
            ),
            reasons(
                "ValidationError",
                "ValidationError",
                "ValidationError",
                "ValidationError",
                "None",
                messages={0: MISMATCH, 3: MISMATCH},
            ),
        ),
        (
            "F tx insert missing sk / delete without pk",
            tx(f"INSERT INTO {FQ} VALUE {{'pk':'keys-insert'}}", f"DELETE FROM {FQ} WHERE sk='1'"),
            reasons(
                "ValidationError",
                "ValidationError",
                messages={
                    0: "One or more parameter values were invalid: Missing the key sk in the item",
                    1: MISMATCH,
                },
            ),
        ),
        (
            "F tx read sk=1",
            tx(f"SELECT * FROM {FQ} WHERE pk='keys' AND sk=1"),
            reasons("ValidationError", messages={0: MISMATCH}),
        ),
        ("F put", fput("deep-path", m={"M": {}}), None),
    ]
    deep_update = f"UPDATE {FQ} SET m.deep = ? WHERE pk='deep-path' AND sk='1'"
    deep_param = [deep(31, {"S": "x"})]
    cases += [
        (
            "F too deep after update",
            stmt(deep_update, deep_param),
            invalid("Nesting Levels have exceeded supported limits"),
        ),
        (
            "F tx too deep after update",
            tx((deep_update, deep_param)),
            reasons("ValidationError", messages={0: "Nesting Levels have exceeded supported limits"}),
        ),
        (
            "F batch too deep after update",
            batch((deep_update, deep_param)),
            slots((None, "Nesting Levels have exceeded supported limits")),
        ),
        ("F put", fput("columns", m={"M": {"k": {"L": [{"S": "c"}]}}}), None),
        (
            "F m.k[0] column",
            stmt(f"SELECT m.k[0] FROM {FQ} WHERE pk='columns' AND sk='1'"),
            ok(lambda d: d["Items"][0]["k[0]"] == {"S": "c"}, "k[0]"),
        ),
    ]
    many = "Too many decomposed read operations for a given query."
    operands = "The IN operator is provided with too many operands; number of operands: 101"
    for where in (
        f"pk IN [{in_values(51)}]",
        f"pk='ranges' AND sk IN [{in_values(51)}]",
        f"pk IN [{in_values(26)}] AND sk IN ['1','2']",
    ):
        cases.append((f"F too many reads: {where[:30]}", stmt(sel + where), invalid(many)))
    for where in (
        f"pk IN [{in_values(50)}] AND flag IN [{in_values(100)}]",
        f"pk IN [{in_values(51)}] OR flag='one'",
    ):
        cases.append((f"F allowed: {where[:30]}", stmt(sel + where), ok()))
    cases += [
        ("F batch too many reads", batch(sel + f"pk IN [{in_values(51)}] AND sk='1'"), slots((None, many))),
        ("F IN 101 operands", stmt(sel + f"pk='ranges' AND flag IN [{in_values(101)}]"), invalid(operands)),
        (
            "F update IN 101",
            stmt(f"UPDATE {FQ} SET t=1 WHERE pk='ranges' AND sk='1' AND flag IN [{in_values(101)}]"),
            invalid(operands),
        ),
        (
            "F tx IN 101",
            tx(f"SELECT * FROM {FQ} WHERE pk IN [{in_values(101)}] AND sk='1'"),
            invalid(f"Validation failed in TransactStatements[0]: {operands}"),
        ),
    ]
    vg = f'SELECT sk FROM "{FV}"."gsi-inc" WHERE '
    vl = f'SELECT sk FROM "{FV}"."lsi-keys" WHERE '
    cases += [
        ("F view gsi nonproj", stmt(vg + "nonproj='np1'"), items(0)),
        ("F view lsi nonproj", stmt(vl + "nonproj='np1'"), items(0)),
        ("F view gsi NOT nonproj", stmt(vg + "NOT nonproj='np1'"), sort_keys("s1", "s2")),
        ("F view gsi branches", stmt(vg + "(gsiPk='y' AND nonproj='np1') OR (gsiPk='y2')"), sort_keys("s2")),
        ("F view table", stmt(f"SELECT sk FROM \"{FV}\" WHERE nonproj='np1'"), sort_keys("s1")),
    ]
    return cases


def paritysuite_cases() -> list[Case]:
    q = f'"{S}"'
    qn = f'"{N}"'
    qc = f'"{C}"'
    where = f"SELECT * FROM {q} WHERE pk = 'pq-fn' AND "
    cases: list[Case] = []
    for text in (
        f"SELECT * FROM {q} WHERE",
        f"SELECT * FROM {q} WHERE;",
        f"SELECT * FROM {q} WHERE   ",
        f"SELECT pk FROM {q} WHERE",
        f"UPDATE {q} SET a = 1 WHERE",
        f"DELETE FROM {q} WHERE",
        f"SELECT * FROM {q} WHERE NOT",
        f"SELECT * FROM {q} WHERE (",
        f'SELECT * FROM "{S}-never-created" WHERE',
    ):
        cases.append((f"PG empty WHERE: {text}", stmt(text), invalid(NWF + "Unexpected term")))
    cases += [
        ("PG a = 1 e5", stmt(f"SELECT * FROM {qn} WHERE pk = 1 e5"), invalid(LEFTOVER)),
        ("PG stray )", stmt(f"SELECT * FROM {qn} WHERE pk = 1)"), invalid(LEFTOVER)),
        ("PG ORDER BY before WHERE", stmt(f"SELECT * FROM {qn} ORDER BY pk WHERE pk = 1"), invalid(LEFTOVER)),
        ("PG 1.5e-2147483647", stmt(f"SELECT * FROM {qn} WHERE pk = 1.5e-2147483647"), invalid(NWF)),
        ("PG 1e126", stmt(f"SELECT * FROM {qn} WHERE pk = 1e126"), invalid(OVERFLOW + " under root")),
        (
            "PG list 1e126",
            stmt(f"INSERT INTO {qn} VALUE {{'pk': 970007, 'l': [1, 1e126]}}"),
            invalid(OVERFLOW + " under root[1]"),
        ),
        (
            "PG map 1e126",
            stmt(f"INSERT INTO {qn} VALUE {{'pk': 970006, 'm': {{'x': 1e126}}}}"),
            invalid(OVERFLOW + " under root.x"),
        ),
        (
            "PG OR at end",
            stmt(f"SELECT * FROM {q} WHERE pk = 'p1' OR"),
            invalid(NWF + "Missing right-hand side expression of infix operator"),
        ),
        (
            "PG tx empty WHERE",
            tx(f"SELECT * FROM {q} WHERE"),
            invalid(f"Validation failed in TransactStatements[0]: {NWF}Unexpected term"),
        ),
        (
            "PG batch empty WHERE",
            batch(f"SELECT * FROM {q} WHERE"),
            slots(("ValidationError", NWF + "Unexpected term")),
        ),
    ]
    for type_name in ("INT4", "INT8", "DOUBLE PRECISION", "CHARACTER VARYING"):
        cases.append(
            (f"PG x IS {type_name}", stmt(f"x IS {type_name}"), invalid("Unsupported operation: IsType"))
        )
    cases += [
        ("PG WHERE IS NULL", stmt(f"SELECT * FROM {q} WHERE IS NULL"), invalid(NWF + "Unexpected operator")),
    ]
    for text in ("DELETE FROM", "DELETE FROM   ", "DELETE FROM;", "DELETE FROM WHERE pk = 'a'"):
        cases.append((f"PG {text!r}", stmt(text), invalid(NWF + "Expected identifier for simple path")))
    incomplete = "Where clause does not contain a mandatory equality on all key attributes"
    cases += [
        ("PG FROM SET no WHERE", stmt(f"FROM {q} SET c = 1"), invalid(incomplete)),
        ("PG FROM REMOVE no WHERE", stmt(f"FROM {q} REMOVE a"), invalid(incomplete)),
        ("PG FROM WHERE non-key", stmt(f"FROM {q} WHERE a = 1 SET c = 1"), invalid(incomplete)),
        ("PG FROM SET WHERE", stmt(f"FROM {q} SET c = 1 WHERE pk = 'pq-ff-msg'"), invalid(LEFTOVER)),
        (
            "PG FROM SET WHERE SET",
            stmt(f"FROM {q} SET c = 1 WHERE pk = 'pq-ff-msg' SET d = 2"),
            invalid(LEFTOVER),
        ),
        (
            "PG FROM missing table",
            stmt(f"FROM \"{S}-never-created\" WHERE pk = 'x' SET c = 1"),
            err("ResourceNotFoundException", "Requested resource not found"),
        ),
        (
            "PG overlap x=",
            stmt(f"SELECT * FROM {qc} WHERE pk = 'a' AND x = '1' OR pk = 'a' AND sk = '2'"),
            invalid(OVERLAP),
        ),
        (
            "PG overlap x<>",
            stmt(f"SELECT * FROM {qc} WHERE pk = 'a' AND x <> '1' OR pk = 'a' AND sk = '2'"),
            invalid(OVERLAP),
        ),
    ]
    base = f"SELECT * FROM {qc} WHERE "
    for label, left, expected in (
        ("NOT sk =", "pk = 'pq-overlap' AND NOT sk = '1'", ["2", "3"]),
        ("sk <>", "pk = 'pq-overlap' AND sk <> '1'", ["2", "3"]),
        ("NOT begins_with", "pk = 'pq-overlap' AND NOT begins_with(sk, 'x')", ["1", "2", "3"]),
        ("NOT sk IN", "pk = 'pq-overlap' AND NOT sk IN ['1', '3']", ["2"]),
        ("NOT sk >", "pk = 'pq-overlap' AND NOT sk > '5'", ["1", "2", "3"]),
        ("NOT (sk =)", "pk = 'pq-overlap' AND NOT (sk = '1')", ["2", "3"]),
    ):
        cases.append(
            (f"PO {label}", stmt(base + left + " OR pk = 'pq-overlap' AND sk = '2'"), sort_keys(*expected))
        )
    cases.append(
        (
            "PO bare partition",
            stmt(base + "pk = 'pq-overlap' OR pk = 'pq-overlap' AND NOT sk = '1'"),
            sort_keys("1", "2", "3"),
        )
    )
    cases += [
        (
            "PF attribute_exists(?)",
            stmt(where + "attribute_exists(?)", [{"S": "ss"}]),
            invalid("Operator or function requires a document path; operator or function: attribute_exists"),
        ),
        (
            "PF attribute_exists 2 operands",
            stmt(where + "attribute_exists(ss, ns)"),
            invalid(
                "Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 2"
            ),
        ),
        (
            "PF tx attribute_exists",
            tx(where + "attribute_exists(ss)"),
            invalid(f"Validation failed in TransactStatements[0]: {TX_KEY}"),
        ),
        (
            "PF batch attribute_exists",
            batch(where + "attribute_exists(ss)"),
            slots(("ValidationError", BATCH_KEY)),
        ),
        (
            "PF EXISTS without condition",
            tx(
                f"EXISTS(SELECT * FROM {q} WHERE pk = 'pq-fn')",
                f"UPDATE {q} SET z = 1 WHERE pk = 'pq-fn-never-written'",
            ),
            invalid(
                "Validation failed in TransactStatements[0]: EXISTS() must contain a single item read with additional condition"
            ),
        ),
        (
            "PF set_add <<1>> to SS",
            stmt(f"UPDATE {q} SET ss = set_add(ss, <<1>>) WHERE pk = 'pq-fn'"),
            invalid("An operand in the update expression has an incorrect data type"),
        ),
        (
            "PF set_add to S",
            stmt(f"UPDATE {q} SET s = set_add(s, <<'x'>>) WHERE pk = 'pq-fn'"),
            invalid("An operand in the update expression has an incorrect data type"),
        ),
        (
            "PF set_add dup",
            stmt(f"UPDATE {q} SET ss = set_add(ss, <<'x', 'x'>>) WHERE pk = 'pq-fn'"),
            invalid(
                "One or more parameter values were invalid: Input collection [x, x] contains duplicates."
            ),
        ),
        (
            "PF set_add <<>>",
            stmt(f"UPDATE {q} SET ss = set_add(ss, <<>>) WHERE pk = 'pq-fn'"),
            invalid("Empty bags are not supported"),
        ),
        (
            "PF set_add m.inner",
            stmt(f"UPDATE {q} SET m.inner = set_add(m.inner, <<'y'>>) WHERE pk = 'pq-fn'"),
            invalid(NWF + "Invalid path dot component"),
        ),
        (
            "PF set_delete <<1>>",
            stmt(f"UPDATE {q} SET ss = set_delete(ss, <<1>>) WHERE pk = 'pq-fn'"),
            invalid("An operand in the update expression has an incorrect data type"),
        ),
    ]
    positions = [
        ("WHERE", f"SELECT * FROM {qc} WHERE pk = 'pq-pn' AND n = ?"),
        ("INSERT", f"INSERT INTO {qc} VALUE {{'pk': 'pq-pn-insert', 'sk': 's', 'n': ?}}"),
        ("SET", f"UPDATE {qc} SET n = ? WHERE pk = 'pq-pn' AND sk = 's'"),
        ("key", f"SELECT * FROM {qc} WHERE pk = ?"),
    ]
    for value in ("1e99999999999", "-1e99999999999", "1e-99999999999", "1e2147483648", "1e-2147483648"):
        for label, text in positions:
            cases.append(
                (f"PN {value} in {label}", stmt(text, [{"N": value}]), invalid(f"{UNCONVERTIBLE}: {value}"))
            )
    for label, text in positions:
        cases.append((f"PN 1e2147483647 in {label}", stmt(text, [{"N": "1e2147483647"}]), invalid(UNDERFLOW)))
        cases.append((f"PN '' in {label}", stmt(text, [{"N": ""}]), invalid(UNCONVERTIBLE)))
    w = positions[0][1]
    cases += [
        (
            "PN in list",
            stmt(w, [{"L": [{"N": "1"}, {"N": "1e99999999999"}]}]),
            invalid(f"{UNCONVERTIBLE}: 1e99999999999"),
        ),
        (
            "PN in map",
            stmt(w, [{"M": {"x": {"N": "1e99999999999"}}}]),
            invalid(f"{UNCONVERTIBLE}: 1e99999999999"),
        ),
        ("PN in NS", stmt(w, [{"NS": ["1", "1e99999999999"]}]), invalid(f"{UNCONVERTIBLE}: 1e99999999999")),
        (
            "PN tx",
            tx((positions[2][1], [{"N": "1e99999999999"}])),
            invalid(f"{UNCONVERTIBLE}: 1e99999999999"),
        ),
        (
            "PN batch",
            batch(
                (f"SELECT * FROM {qc} WHERE pk = 'pq-pn' AND sk = 's' AND n = ?", [{"N": "1e99999999999"}])
            ),
            slots(("ValidationError", f"{UNCONVERTIBLE}: 1e99999999999")),
        ),
    ]
    pair = f"SELECT * FROM {qc} WHERE pk = 'pq-pn' AND x = ? AND y = ?"
    single = f"SELECT * FROM {qc} WHERE pk = 'pq-pn' AND x = ?"
    for depth in (40, 100):
        cases += [
            (f"PN deep{depth} then bad", stmt(pair, [deep(depth), {"N": "abc"}]), invalid(NEST)),
            (
                f"PN bad then deep{depth}",
                stmt(pair, [{"N": "abc"}, deep(depth)]),
                invalid(f"{UNCONVERTIBLE}: abc"),
            ),
            (
                f"PN map deep{depth} then bad",
                stmt(single, [{"M": {"d": deep(depth), "bad": {"N": "abc"}}}]),
                invalid(NEST),
            ),
            (
                f"PN map bad then deep{depth}",
                stmt(single, [{"M": {"bad": {"N": "abc"}, "d": deep(depth)}}]),
                invalid(f"{UNCONVERTIBLE}: abc"),
            ),
            (f"PN bad at bottom of deep{depth}", stmt(single, [deep(depth, {"N": "abc"})]), invalid(NEST)),
            (f"PN deep{depth} then 1e126", stmt(pair, [deep(depth), {"N": "1e126"}]), invalid(NEST)),
            (
                f"PN tx deep{depth}",
                tx(
                    (
                        f"UPDATE {qc} SET x = ? SET y = ? WHERE pk = 'pq-pn' AND sk = '1'",
                        [deep(depth), {"N": "abc"}],
                    )
                ),
                invalid(NEST),
            ),
            (
                f"PN batch deep{depth}",
                batch((pair, [deep(depth), {"N": "abc"}])),
                slots(("ValidationError", NEST)),
            ),
        ]
    return cases


def acceptance_cases() -> list[Case]:
    """PW: what runs and what it answers (writeResponses, fromFirstUpdate, setFunctions,
    whereFunctions)."""
    q = f'"{S}"'
    item = {
        "pk": {"S": "pq-w"},
        "ss": {"SS": ["a", "b", "c"]},
        "s": {"S": "str"},
        "nul": {"NULL": True},
        "flag": {"BOOL": True},
        "a": {"N": "1"},
    }
    where = f"SELECT * FROM {q} WHERE pk = 'pq-w' AND "
    empty_items = ok(lambda d: d.get("Items") == [], "Items []")
    cases: list[Case] = [
        ("PW put", put(S, item), None),
        ("PW insert answers []", stmt(f"INSERT INTO {q} VALUE {{'pk': 'pq-w-insert'}}"), empty_items),
        ("PW update answers []", stmt(f"UPDATE {q} SET a = 2 WHERE pk = 'pq-w'"), empty_items),
        ("PW delete of nothing answers []", stmt(f"DELETE FROM {q} WHERE pk = 'pq-w-never'"), empty_items),
        (
            "PW tx writes answer []",
            tx(f"UPDATE {q} SET a = 3 WHERE pk = 'pq-w'", f"DELETE FROM {q} WHERE pk = 'pq-w-insert'"),
            ok(lambda d: d["Responses"] == [], "Responses []"),
        ),
        ("PW size()", stmt(where + "size(s) = 3"), items(1)),
        ("PW attribute_type()", stmt(where + "attribute_type(ss, 'SS')"), items(1)),
        ("PW ATTRIBUTE_EXISTS", stmt(where + "ATTRIBUTE_EXISTS(ss)"), items(1)),
        ("PW IS NULL", stmt(where + "nul IS NULL"), items(1)),
        ("PW IS NOT NULL", stmt(where + "nul IS NOT NULL"), items(0)),
        ("PW IS BOOL", stmt(where + "flag IS BOOL"), items(1)),
        (
            "PW update CCF",
            stmt(f"UPDATE {q} SET z = 2 WHERE pk = 'pq-w' AND attribute_exists(nope)"),
            err("ConditionalCheckFailedException"),
        ),
        (
            "PW delete CCF",
            stmt(f"DELETE FROM {q} WHERE pk = 'pq-w' AND attribute_exists(nope)"),
            err("ConditionalCheckFailedException"),
        ),
        (
            "PW update of absent",
            stmt(f"UPDATE {q} SET z = 1 WHERE pk = 'pq-w-absent' AND attribute_not_exists(pk)"),
            err("ConditionalCheckFailedException"),
        ),
        ("PW FROM-first SET REMOVE", stmt(f"FROM {q} WHERE pk = 'pq-w' SET c = 2 REMOVE s"), ok()),
        (
            "PW FROM-first RETURNING",
            stmt(f"FROM {q} WHERE pk = 'pq-w' SET d = 3 RETURNING ALL NEW *"),
            ok(lambda d: d["Items"][0]["d"] == {"N": "3"} and "s" not in d["Items"][0], "d=3, s removed"),
        ),
        (
            "PW FROM-first absent",
            stmt(f"FROM {q} WHERE pk = 'pq-w-absent' SET c = 1"),
            err("ConditionalCheckFailedException"),
        ),
        ("PW FROM-first batch", batch(f"FROM {q} WHERE pk = 'pq-w' SET e = 1"), slots((None, None))),
        (
            "PW set_add creates",
            stmt(f"UPDATE {q} SET nss = set_add(nss, <<'x'>>) WHERE pk = 'pq-w' RETURNING ALL NEW *"),
            ok(lambda d: d["Items"][0]["nss"] == {"SS": ["x"]}, "nss [x]"),
        ),
        (
            "PW set_delete all",
            stmt(
                f"UPDATE {q} SET ss = set_delete(ss, <<'a', 'b', 'c'>>) WHERE pk = 'pq-w' RETURNING ALL NEW *"
            ),
            ok(lambda d: "ss" not in d["Items"][0], "ss removed"),
        ),
        (
            "PW set_add absent item",
            stmt(f"UPDATE {q} SET ss = set_add(ss, <<'x'>>) WHERE pk = 'pq-w-absent'"),
            err("ConditionalCheckFailedException"),
        ),
    ]
    return cases


def comparison_cases() -> list[Case]:
    """PC: equality of every type by value (sets unordered, lists ordered, maps by content), and
    the ordering operators refusing operands with no order."""
    q = f'"{S}"'
    stored = {
        "SS": ({"SS": ["a", "b", "c"]}, {"SS": ["c", "a", "b"]}, True),
        "NS": ({"NS": ["1", "2", "3"]}, {"NS": ["3", "1", "2"]}, True),
        "BS": ({"BS": ["AQI=", "AwQ="]}, {"BS": ["AwQ=", "AQI="]}, True),
        "L": ({"L": [{"S": "a"}, {"S": "b"}]}, {"L": [{"S": "b"}, {"S": "a"}]}, False),
        "M": ({"M": {"x": {"N": "1"}, "y": {"N": "2"}}}, {"M": {"y": {"N": "2"}, "x": {"N": "1"}}}, True),
        "B": ({"B": "AQID"}, {"B": "AQIE"}, False),
        "NULL": ({"NULL": True}, {"S": "not null"}, False),
    }
    cases: list[Case] = []
    for kind, (value, other, other_matches) in stored.items():
        pk = f"pq-cmp-{kind}"
        select = f"SELECT pk FROM {q} WHERE pk = ? AND val = ?"
        cases += [
            ("PC put", put(S, {"pk": {"S": pk}, "val": value}), None),
            (f"PC {kind} = same", stmt(select, [{"S": pk}, value]), items(1)),
            (f"PC {kind} = other", stmt(select, [{"S": pk}, other]), items(1 if other_matches else 0)),
            (f"PC {kind} <> same", stmt(select.replace("val =", "val <>"), [{"S": pk}, value]), items(0)),
        ]
    for kind, value in (
        ("BOOL", {"BOOL": True}),
        ("NULL", {"NULL": True}),
        ("L", {"L": [{"S": "a"}]}),
        ("SS", {"SS": ["a"]}),
    ):
        cases.append(
            (
                f"PC < {kind}",
                stmt(f"SELECT pk FROM {q} WHERE pk = ? AND val < ?", [{"S": "pq-cmp-B"}, value]),
                invalid(),
            )
        )
    for op in ("<", "<=", ">", ">="):
        cases.append(
            (
                f"PC {op} BOOL message",
                stmt(f"SELECT pk FROM {q} WHERE pk = ? AND val {op} ?", [{"S": "pq-cmp-B"}, {"BOOL": True}]),
                invalid(
                    f"Incorrect operand type for operator or function; operator or function: {op}, operand type: BOOL"
                ),
            )
        )
    cases += [
        (
            "PC S < N runs",
            stmt(f"SELECT pk FROM {q} WHERE pk = ? AND val < ?", [{"S": "pq-cmp-NULL"}, {"N": "5"}]),
            ok(),
        ),
        (
            "PC B < bytes",
            stmt(f"SELECT pk FROM {q} WHERE pk = ? AND val < ?", [{"S": "pq-cmp-B"}, {"B": "AQIE"}]),
            items(1),
        ),
        (
            "PC B > bytes",
            stmt(f"SELECT pk FROM {q} WHERE pk = ? AND val > ?", [{"S": "pq-cmp-B"}, {"B": "AQIE"}]),
            items(0),
        ),
    ]
    return cases


def size_cases() -> list[Case]:
    """PS: INSERT and UPDATE measure the finished item flat: 409,600 bytes pass, one more fails
    (the put and the update wording)."""
    cases: list[Case] = []
    for name, extra in (("at", 0), ("over", 1)):
        pk = f"lim-pql-{name}"
        value = "x" * (409_600 + extra - len("pk") - len(pk) - len("p"))
        insert = stmt(f"INSERT INTO \"{S}\" VALUE {{'pk': ?, 'p': ?}}", [{"S": pk}, {"S": value}])
        update = stmt(f'UPDATE "{S}" SET p = ? WHERE pk = ?', [{"S": value}, {"S": pk}])
        cases.append(
            (
                f"PS INSERT {name}",
                insert,
                ok() if not extra else invalid("Item size has exceeded the maximum allowed size"),
            )
        )
        cases.append(("PS delete", stmt(f'DELETE FROM "{S}" WHERE pk = ?', [{"S": pk}]), None))
        cases.append(("PS put", put(S, {"pk": {"S": pk}}), None))
        cases.append(
            (
                f"PS UPDATE {name}",
                update,
                ok() if not extra else invalid("Item size to update has exceeded the maximum allowed size"),
            )
        )
    return cases


def moto_cases() -> list[Case]:
    """M: moto's tests marked as run against AWS."""
    item1 = {
        "pk": {"S": "msg1"},
        "body": {"S": "some text"},
        "nested_attrs": {"M": {"some": {"S": "key"}}},
        "price": {"N": "123.4"},
        "list_attrs": {"L": [{"BOOL": True}, {"BOOL": False}]},
        "bool_attr": {"BOOL": True},
    }
    item2 = {"pk": {"S": "msg2"}, "body": {"S": "n/a"}, "unique_key": {"S": "key"}}
    return [
        ("M put", put(M, item1), None),
        ("M put", put(M, item2), None),
        (
            "M select *",
            stmt(f"select * from {M}"),
            ok(lambda d: item1 in d["Items"] and item2 in d["Items"], "both"),
        ),
        (
            "M select attr",
            stmt(f"select unique_key from {M}"),
            ok(
                lambda d: {} in d["Items"] and {"unique_key": {"S": "key"}} in d["Items"], "{} and unique_key"
            ),
        ),
        ("M quoted table", stmt(f'select * from "{M}"'), items(2)),
        (
            "M parameter",
            stmt(f"select pk from {M} where pk = ?", [{"S": "msg1"}]),
            ok(lambda d: d["Items"] == [{"pk": {"S": "msg1"}}], "pk only"),
        ),
        ("M no results", stmt(f"select * from {M} where pk = ?", [{"S": "msg3"}]), items(0)),
        (
            "M insert",
            stmt(f"INSERT INTO \"{M}\" value {{'pk': 'msg3'}}"),
            ok(lambda d: d["Items"] == [], "Items []"),
        ),
        (
            "M insert nested",
            stmt(f"INSERT INTO \"{M}\" value {{'pk': 'msg4', 'attr':{{'sth': ['other']}}}}"),
            ok(),
        ),
        ("M update", stmt(f"UPDATE \"{M}\" SET body='other' WHERE pk='msg1'"), ok()),
        ("M remove", stmt(f"UPDATE \"{M}\" REMOVE body WHERE pk='msg1'"), ok()),
        ("M delete", stmt(f"DELETE FROM \"{M}\" WHERE pk='msg2'"), ok()),
        (
            "M put",
            put(
                M,
                {
                    "pk": {"S": "0"},
                    "NameLower": {"S": "lambda"},
                    "DescriptionLower": {"S": "run code in under 15 minutes"},
                    "Price": {"N": "2E-7"},
                    "Category": {"S": "free"},
                    "FreeTier": {"N": "1E+6"},
                },
            ),
            None,
        ),
        (
            "M put",
            put(
                M,
                {
                    "pk": {"S": "1"},
                    "NameLower": {"S": "auto scaling"},
                    "DescriptionLower": {"S": "scale"},
                    "Price": {"N": "0"},
                    "Category": {"S": "free"},
                    "FreeTier": {"NULL": True},
                },
            ),
            None,
        ),
        (
            "M put",
            put(
                M,
                {
                    "pk": {"S": "3"},
                    "NameLower": {"S": "config"},
                    "DescriptionLower": {"S": "code audit"},
                    "Price": {"N": "0.003"},
                    "Category": {"S": "paid"},
                },
            ),
            None,
        ),
        (
            "M all clauses",
            stmt(
                f'SELECT pk FROM "{M}" WHERE (contains("NameLower", \'code\') OR contains("DescriptionLower", \'code\')) '
                "AND Category = 'free' AND Price >= 0 AND Price <= 1 AND FreeTier IS NOT MISSING AND attribute_type(\"FreeTier\", 'N')"
            ),
            ok(lambda d: d["Items"] == [{"pk": {"S": "0"}}], "pk 0"),
        ),
    ]


def run(endpoint: str, verbose: bool = False) -> int:
    for operation, body in setup_requests():
        post(endpoint, operation, body)
    misses = 0
    total = 0
    for name, (operation, body), check in (
        floci_cases()
        + paritysuite_cases()
        + acceptance_cases()
        + comparison_cases()
        + size_cases()
        + moto_cases()
    ):
        status, doc = post(endpoint, operation, body)
        if check is None:
            continue
        total += 1
        problem = check(status, doc)
        if problem is not None:
            misses += 1
            print(f"DIFF  {name}: {problem}")
        elif verbose:
            print(f"ok    {name}")
    print(f"{total - misses} passed, {misses} failed")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], "--verbose" in sys.argv[2:]))
