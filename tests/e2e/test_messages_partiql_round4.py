"""Fidelity round 4: PartiQL (ExecuteStatement, BatchExecuteStatement, ExecuteTransaction) as
today's AWS answers it.

Sources (each test names its own):
- PN: paritysuite dynamodb-conformance ``tests/tier3/error-messages/partiqlParameterNumbers.test.ts``
  (eu-west-2, October 2026; us-east-1 gave the same strings).
- PG: paritysuite ``tests/tier3/error-messages/partiqlGrammar.test.ts`` (eu-west-2, October 2026).
- F: Floci's ``DynamoDbPartiQLEdgeCaseIntegrationTest`` ("every expectation captured from real
  DynamoDB (eu-west-2, 2026-09-17)").

``bench/replay_partiql.py`` replays every recorded case of these sources against a server.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_table

UNCONVERTIBLE = "The parameter cannot be converted to a numeric value"
UNDERFLOW = "Number underflow. Attempting to store a number with magnitude smaller than supported range"
NEST = (
    "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels "
    "beyond supported limit"
)
DUPLICATES = "One or more parameter values were invalid: Input collection [a, a] contains duplicates."


def _refusal(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        call()
    error = exc.value.response["Error"]
    return error["Code"], error["Message"]


def _deep(depth: int, leaf: dict | None = None) -> dict:
    value = leaf or {"S": "leaf"}
    for _ in range(depth):
        value = {"M": {"n": value}}
    return value


@pytest.fixture
def comp(ddb):
    make_table(ddb, "comp", range_key="sk")
    return ddb


# ---------------------------------------------------------------------------- parameters
PARAMETER_POSITIONS = [
    "SELECT * FROM comp WHERE pk = 'pq-pn' AND n = ?",
    "INSERT INTO comp VALUE {'pk': 'pq-pn-insert', 'sk': 's', 'n': ?}",
    "UPDATE comp SET n = ? WHERE pk = 'pq-pn' AND sk = 's'",
    "SELECT * FROM comp WHERE pk = ?",
]


@pytest.mark.parametrize("statement", PARAMETER_POSITIONS)
@pytest.mark.parametrize("value", ["1e99999999999", "-1e99999999999", "1e2147483648", "1e-2147483648"])
def test_a_parameter_exponent_outside_32_bits_cannot_be_converted(comp, statement, value):
    """PN: "A parameter is read the way Java's BigDecimal reads a string. An exponent that
    doesn't fit in a 32-bit integer can't be converted at all"."""
    assert _refusal(lambda: comp.execute_statement(Statement=statement, Parameters=[{"N": value}])) == (
        "ValidationException",
        f"{UNCONVERTIBLE}: {value}",
    )


@pytest.mark.parametrize("statement", PARAMETER_POSITIONS)
def test_a_parameter_magnitude_wraps_and_an_empty_number_says_nothing_more(comp, statement):
    """PN: "1e2147483647 comes out as an underflow. An empty string gets the message with
    nothing after it"."""
    run = comp.execute_statement
    assert _refusal(lambda: run(Statement=statement, Parameters=[{"N": "1e2147483647"}]))[1] == UNDERFLOW
    assert _refusal(lambda: run(Statement=statement, Parameters=[{"N": ""}]))[1] == UNCONVERTIBLE


def test_parameter_faults_in_document_order(comp):
    """PN: "When a parameter is both nested too deeply and holds a number that can't be
    converted, DynamoDB reports whichever it reaches first in document order"; also inside lists,
    maps and number sets."""
    pair = "SELECT * FROM comp WHERE pk = 'pq-pn' AND x = ? AND y = ?"
    single = "SELECT * FROM comp WHERE pk = 'pq-pn' AND x = ?"
    run = comp.execute_statement
    assert _refusal(lambda: run(Statement=pair, Parameters=[_deep(40), {"N": "abc"}]))[1] == NEST
    assert (
        _refusal(lambda: run(Statement=pair, Parameters=[{"N": "abc"}, _deep(40)]))[1]
        == f"{UNCONVERTIBLE}: abc"
    )
    assert _refusal(lambda: run(Statement=single, Parameters=[_deep(100, {"N": "abc"})]))[1] == NEST
    assert _refusal(lambda: run(Statement=pair, Parameters=[_deep(40), {"N": "1e126"}]))[1] == NEST
    huge = f"{UNCONVERTIBLE}: 1e99999999999"
    for param in ({"L": [{"N": "1"}, {"N": "1e99999999999"}]}, {"NS": ["1", "1e99999999999"]}):
        assert _refusal(lambda p=param: run(Statement=single, Parameters=[p]))[1] == huge


def test_parameter_faults_in_batches_and_transactions(comp):
    """PN (unconvertible and too deep, in both operations) and F
    refusesAnInvalidParameterBeforeReadingTheStatement: a transaction reports a parameter's fault
    bare, before reading any statement, whichever statement it belongs to; a batch reports it in
    that statement's slot."""
    update = "UPDATE comp SET n = ? WHERE pk = 'pq-pn' AND sk = 's'"
    insert = "INSERT INTO comp VALUE {'pk':'params','sk':'1','x':?}"
    assert _refusal(
        lambda: comp.execute_transaction(
            TransactStatements=[
                {"Statement": update, "Parameters": [{"N": "1"}]},
                {"Statement": insert, "Parameters": [{"SS": ["a", "a"]}]},
            ]
        )
    ) == ("ValidationException", DUPLICATES)
    assert (
        _refusal(
            lambda: comp.execute_transaction(
                TransactStatements=[{"Statement": update, "Parameters": [{"N": "1e99999999999"}]}]
            )
        )[1]
        == f"{UNCONVERTIBLE}: 1e99999999999"
    )
    pair = "SELECT * FROM comp WHERE pk = 'pq-pn' AND x = ? AND y = ?"
    slots = comp.batch_execute_statement(
        Statements=[{"Statement": pair, "Parameters": [_deep(40), {"N": "abc"}]}]
    )["Responses"]
    assert [s["Error"] for s in slots] == [{"Code": "ValidationError", "Message": NEST}]
    assert (
        _refusal(
            lambda: comp.execute_statement(Statement="UPDATE comp SET WHERE", Parameters=[{"SS": ["a", "a"]}])
        )[1]
        == DUPLICATES
    )
    assert "Item" not in comp.get_item(TableName="comp", Key={"pk": {"S": "params"}, "sk": {"S": "1"}})
