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


# ---------------------------------------------------------------------------- literals and paths
@pytest.fixture
def edge(ddb):
    """F's table: pk and sk strings."""
    make_table(ddb, "edge", range_key="sk")
    return ddb


def _put(ddb, pk: str, **attrs) -> None:
    ddb.put_item(TableName="edge", Item={"pk": {"S": pk}, "sk": {"S": "1"}, **attrs})


def _stored(ddb, pk: str) -> dict | None:
    return ddb.get_item(TableName="edge", Key={"pk": {"S": pk}, "sk": {"S": "1"}}).get("Item")


def test_signs_before_a_number_literal(edge):
    """F appliesASignToANumberLiteral: any run of signs applies to the number after it, a comment
    may stand between them; a sign before a parameter or a path is refused."""
    _put(edge, "signs", n={"N": "1"})
    select = "SELECT sk FROM edge WHERE pk='signs' AND sk='1' AND "
    assert len(edge.execute_statement(Statement=select + "n = - - 1")["Items"]) == 1
    assert edge.execute_statement(Statement=select + "n > -/* c */-1")["Items"] == []
    assert _refusal(lambda: edge.execute_statement(Statement=select + "n > -?", Parameters=[{"N": "1"}]))[
        0
    ] == ("ValidationException")
    edge.execute_statement(Statement="UPDATE edge SET n = n - - 2, l = [- 1] WHERE pk='signs' AND sk='1'")
    item = _stored(edge, "signs")
    assert item["n"] == {"N": "3"} and item["l"] == {"L": [{"N": "-1"}]}


def test_a_parameter_inside_a_written_collection_is_refused(edge):
    """F refusesAParameterInsideACollectionLiteral: "Unsupported data type: Parameter under key
    root[0] at 1:<column>:1" (and root.k inside a map); a parameter as a whole value is fine."""
    update = "UPDATE edge SET x = [?] WHERE pk='literals' AND sk='1'"
    assert _refusal(lambda: edge.execute_statement(Statement=update, Parameters=[{"S": "v"}]))[1] == (
        f"Unsupported data type: Parameter under key root[0] at 1:{update.index('?') + 1}:1"
    )
    insert = "INSERT INTO edge VALUE {'pk':'literals','sk':'1','m':{'k':?}}"
    assert _refusal(lambda: edge.execute_statement(Statement=insert, Parameters=[{"S": "v"}]))[1] == (
        f"Unsupported data type: Parameter under key root.k at 1:{insert.index('?') + 1}:1"
    )
    assert _stored(edge, "literals") is None
    edge.execute_statement(
        Statement="INSERT INTO edge VALUE {'pk':?,'sk':'1','n':1}", Parameters=[{"S": "literals"}]
    )
    assert _stored(edge, "literals")["n"] == {"N": "1"}


def test_literal_nesting_names_the_path_where_it_fails(edge):
    """F refusesALiteralNested32LevelsDeep: "Nesting Levels have exceeded supported limits under
    root.a.a..." (32 levels), also through lists and in a transaction; 31 levels are stored."""
    where = " WHERE pk='nested' AND sk='1'"
    maps = "UPDATE edge SET d = " + "{'a':" * 32 + "1" + "}" * 32 + where
    assert _refusal(lambda: edge.execute_statement(Statement=maps))[1] == (
        "Nesting Levels have exceeded supported limits under root" + ".a" * 32
    )
    lists = "UPDATE edge SET d = " + "[" * 32 + "1" + "]" * 32 + where
    assert _refusal(lambda: edge.execute_transaction(TransactStatements=[{"Statement": lists}]))[1] == (
        "Validation failed in TransactStatements[0]: Nesting Levels have exceeded supported limits under root"
        + "[0]" * 32
    )
    edge.execute_statement(
        Statement="INSERT INTO edge VALUE {'pk':'nested','sk':'1','d':" + "{'a':" * 31 + "1" + "}" * 31 + "}"
    )
    assert "M" in _stored(edge, "nested")["d"]


def test_list_indexes_outside_a_32_bit_integer(edge):
    """F refusesANegativeListIndex / refusesAListIndexAboveTheIntegerRange: the position is the
    number's; ``-0`` reads index 0."""
    _put(edge, "index", l={"L": [{"S": "a"}, {"S": "b"}]})
    assert _refusal(
        lambda: edge.execute_statement(Statement="SELECT l[-1] FROM edge WHERE pk='index' AND sk='1'")
    )[1] == ("List index is not within the allowable range; index: [-1] at 1:11:1")
    assert _refusal(
        lambda: edge.execute_statement(Statement="SELECT l[2147483648] FROM edge WHERE pk='index' AND sk='1'")
    )[1] == ("List index is not within the allowable range; index: [2147483648] at 1:10:10")
    items = edge.execute_statement(Statement="SELECT l[-0] FROM edge WHERE pk='index' AND sk='1'")["Items"]
    assert items == [{"l[0]": {"S": "a"}}]


def test_repeated_numbers_in_a_bag_and_too_many_in_operands(edge):
    """F refusesDuplicateMembersInABag ("Input collection [2, 2.0] contains duplicates! under
    root", the numbers as written) and refusesTooManyInOperandsAndTooManyDecomposedReads ("The IN
    operator is provided with too many operands; number of operands: 101")."""
    _put(edge, "bags", n={"NS": ["1"]})
    update = "UPDATE edge SET n = set_add(n, <<2, 2.0>>) WHERE pk='bags' AND sk='1'"
    assert _refusal(lambda: edge.execute_statement(Statement=update))[1] == (
        "One or more parameter values were invalid: Input collection [2, 2.0] contains duplicates! under root"
    )
    many = ",".join(f"'v{i}'" for i in range(101))
    operands = "The IN operator is provided with too many operands; number of operands: 101"
    assert (
        _refusal(
            lambda: edge.execute_statement(
                Statement=f"SELECT sk FROM edge WHERE pk='bags' AND flag IN [{many}]"
            )
        )[1]
        == operands
    )
    update = f"UPDATE edge SET t=1 WHERE pk='bags' AND sk='1' AND flag IN [{many}]"
    assert _refusal(lambda: edge.execute_statement(Statement=update))[1] == operands
    assert _stored(edge, "bags") == {"pk": {"S": "bags"}, "sk": {"S": "1"}, "n": {"NS": ["1"]}}


def test_an_update_that_leaves_the_item_too_deep(edge):
    """F refusesAWriteThatLeavesTheItemTooDeep: "Nesting Levels have exceeded supported limits"
    (nothing more) in all three operations; the batch slot names the table."""
    _put(edge, "deep-path", m={"M": {}})
    update = "UPDATE edge SET m.deep = ? WHERE pk='deep-path' AND sk='1'"
    params = [_deep(31, {"S": "x"})]
    too_deep = "Nesting Levels have exceeded supported limits"
    assert _refusal(lambda: edge.execute_statement(Statement=update, Parameters=params))[1] == too_deep
    slots = edge.batch_execute_statement(Statements=[{"Statement": update, "Parameters": params}])[
        "Responses"
    ]
    assert slots == [{"Error": {"Code": "ValidationError", "Message": too_deep}, "TableName": "edge"}]
    with pytest.raises(ClientError) as exc:
        edge.execute_transaction(TransactStatements=[{"Statement": update, "Parameters": params}])
    assert exc.value.response["CancellationReasons"] == [{"Code": "ValidationError", "Message": too_deep}]
    assert _stored(edge, "deep-path")["m"] == {"M": {}}


# ---------------------------------------------------------------------------- naming one item
TX_KEY = "Select statements within ExecuteTransaction must specify the primary key in the where clause."
BATCH_KEY = "Select statements within BatchExecuteStatement must specify the primary key in the where clause."
MISMATCH = "The provided key element does not match the schema"


def _cancellation(call) -> list[dict]:
    with pytest.raises(ClientError) as exc:
        call()
    assert exc.value.response["Error"]["Code"] == "TransactionCanceledException"
    return exc.value.response["CancellationReasons"]


def _tx(ddb, *statements: str):
    return ddb.execute_transaction(TransactStatements=[{"Statement": s} for s in statements])


def test_batch_and_transaction_reads_take_nothing_but_the_key(edge):
    """F readsOnlyByTheKeyInATransaction and readsByAOneValueInAndRefuses...: a further
    condition, or a key given two different values, is refused; the same value twice and a
    one-value IN are fine. PF (partiqlFunctions) pins the same texts for attribute_exists."""
    _put(edge, "keyed", flag={"S": "right"})
    select = "SELECT * FROM edge WHERE "
    for where in (
        "pk='keyed' AND sk='1' AND flag='right'",
        "pk='keyed' AND sk='1' AND pk='reads'",
        "pk='keyed'",
    ):
        assert _refusal(lambda w=where: _tx(edge, select + w)) == (
            "ValidationException",
            f"Validation failed in TransactStatements[0]: {TX_KEY}",
        )
    answer = _tx(edge, select + "(sk='1') AND pk IN ['keyed'] AND pk='keyed'")
    assert answer["Responses"][0]["Item"]["flag"] == {"S": "right"}
    slots = edge.batch_execute_statement(
        Statements=[
            {"Statement": select + "pk IN ['keyed'] AND sk='1'"},
            {"Statement": select + "pk='keyed' AND sk='1' AND attribute_exists(flag)"},
            {"Statement": select + "pk='keyed' AND sk='1' AND pk='other'"},
        ]
    )["Responses"]
    assert slots[0]["Item"]["flag"] == {"S": "right"}
    assert [s.get("Error", {}).get("Message") for s in slots[1:]] == [BATCH_KEY, BATCH_KEY]


def test_transaction_reads_mistyped_key_and_one_item_twice(edge):
    """F refusesTwoReadsOfOneItemInATransaction: a mistyped key cancels ([None, None,
    ValidationError]) before two reads of one item are refused; those are refused on their own."""
    _put(edge, "reads", a={"S": "x"})
    select = "SELECT * FROM edge WHERE pk='reads' AND sk='1'"
    reasons = _cancellation(lambda: _tx(edge, select, select, "SELECT * FROM edge WHERE pk='reads' AND sk=1"))
    assert reasons == [{"Code": "None"}, {"Code": "None"}, {"Code": "ValidationError", "Message": MISMATCH}]
    assert _refusal(lambda: _tx(edge, select, "SELECT a FROM edge WHERE sk='1' AND pk='reads'")) == (
        "ValidationException",
        "Transaction request cannot include multiple operations on one item",
    )


def test_a_write_that_gives_a_key_two_values(edge):
    """F refusesTwoValuesForOneKeyOnAWriteAndReadsTheFirstInExists: "Multiple conditions on same
    key pk. Only single item Update/Insert/Delete are supported"; the same value twice updates; an
    EXISTS reads the first value and its condition (pk='other') fails."""
    _put(edge, "conflict", flag={"S": "right"})
    _put(edge, "other", flag={"S": "right"})
    multiple = "Multiple conditions on same key pk. Only single item Update/Insert/Delete are supported"
    for statement in (
        "UPDATE edge SET a=1 WHERE pk='conflict' AND sk='1' AND pk='other'",
        "DELETE FROM edge WHERE pk='conflict' AND sk='1' AND pk='other'",
    ):
        assert _refusal(lambda s=statement: edge.execute_statement(Statement=s)) == (
            "ValidationException",
            multiple,
        )
    edge.execute_statement(Statement="UPDATE edge SET a=2 WHERE pk='conflict' AND sk='1' AND pk='conflict'")
    assert _stored(edge, "conflict")["a"] == {"N": "2"}
    reasons = _cancellation(
        lambda: _tx(
            edge,
            "EXISTS(SELECT * FROM edge WHERE pk='conflict' AND sk='1' AND pk='other' AND flag='right')",
            "UPDATE edge SET b=1 WHERE pk='other' AND sk='1'",
        )
    )
    assert [r["Code"] for r in reasons] == ["ConditionalCheckFailed", "None"]
    assert "b" not in _stored(edge, "other")


def test_transaction_writes_that_name_no_item_cancel(edge):
    """F cancelsATransactionWhoseWriteDoesNotNameOneItem: a partial key, a one-value IN, two
    values for a key or a mistyped key cancel with ValidationError ("The provided key element does
    not match the schema"); an INSERT without the sort key says "Missing the key sk in the item".
    F readsByAOneValueIn...: an EXISTS whose key is a one-value IN is refused outright."""
    _put(edge, "keys", flag={"S": "right"})
    update = "UPDATE edge SET a=1 WHERE "
    reasons = _cancellation(
        lambda: _tx(
            edge,
            update + "pk='keys'",
            update + "pk IN ['keys'] AND sk='1'",
            update + "pk='keys' AND sk='1' AND pk='other'",
            update + "pk='keys' AND sk=1",
            update + "pk='keys' AND sk='1'",
        )
    )
    assert [r["Code"] for r in reasons] == ["ValidationError"] * 4 + ["None"]
    assert reasons[0]["Message"] == reasons[3]["Message"] == MISMATCH
    reasons = _cancellation(
        lambda: _tx(edge, "INSERT INTO edge VALUE {'pk':'keys-insert'}", "DELETE FROM edge WHERE sk='1'")
    )
    assert [r["Message"] for r in reasons] == [
        "One or more parameter values were invalid: Missing the key sk in the item",
        MISMATCH,
    ]
    assert "a" not in _stored(edge, "keys")
    exists = "EXISTS(SELECT * FROM edge WHERE pk IN ['keys'] AND sk='1' AND flag='right')"
    assert _refusal(lambda: _tx(edge, exists, update + "pk='other' AND sk='1'"))[1] == (
        "Validation failed in TransactStatements[0]: EXISTS() must contain a single item read with additional condition"
    )


def test_transactions_naming_a_missing_table(edge):
    """F cancelsATransactionThatNamesAMissingTable: a missing table cancels with
    ResourceNotFound for that statement (even one with RETURNING or reading an index), while a
    later statement's own fault (RETURNING, an index read) is refused outright."""
    _put(edge, "missing", flag={"S": "right"})
    gone = "UPDATE gone SET a=1 WHERE pk='x' AND sk='1'"
    reasons = _cancellation(
        lambda: _tx(edge, gone + " RETURNING ALL NEW *", "DELETE FROM gone WHERE pk='x' AND sk='1'")
    )
    assert reasons == [{"Code": "ResourceNotFound", "Message": "Requested resource not found"}] * 2
    select = "SELECT * FROM edge WHERE pk='missing' AND sk='1'"
    reasons = _cancellation(lambda: _tx(edge, select, "SELECT * FROM gone.\"idx\" WHERE pk='x' AND sk='1'"))
    assert [r["Code"] for r in reasons] == ["None", "ResourceNotFound"] and "Message" not in reasons[0]
    returning = "UPDATE edge SET a=1 WHERE pk='missing' AND sk='1' RETURNING ALL NEW *"
    assert _refusal(lambda: _tx(edge, gone, returning))[1] == (
        "Validation failed in TransactStatements[1]: RETURNING clause is not supported in ExecuteTransaction."
    )
    index_read = "SELECT * FROM edge.\"idx\" WHERE pk='x' AND sk='1'"
    assert _refusal(lambda: _tx(edge, "SELECT * FROM gone WHERE pk='x' AND sk='1'", index_read))[1] == (
        "Validation failed in TransactStatements[1]: Reads on indices are not supported within transactions."
    )
    assert "a" not in _stored(edge, "missing")


# ---------------------------------------------------------------------------- key reads of a SELECT
OVERLAP = "Overlapping conditions with range keys are not supported in where clause"


@pytest.fixture
def ranges(edge):
    _put(edge, "ranges", flag={"S": "one"})
    edge.put_item(TableName="edge", Item={"pk": {"S": "ranges"}, "sk": {"S": "2"}, "flag": {"S": "two"}})
    return edge


def _sort_keys(ddb, statement: str) -> list[str]:
    return sorted(i["sk"]["S"] for i in ddb.execute_statement(Statement=statement)["Items"])


@pytest.mark.parametrize(
    "where",
    [
        "pk IN ['ranges','ranges']",
        "pk='ranges' OR pk='ranges'",
        "pk='ranges' AND (sk > '0' OR sk < '5')",
        "pk='ranges' AND (sk='1' OR flag='two')",
        "(pk='ranges' AND flag='one') OR (pk='ranges' AND flag='two')",
        "pk = 'ranges' AND x <> '1' OR pk = 'ranges' AND sk = '2'",
    ],
)
def test_overlapping_reads_of_one_partition_are_refused(ranges, where):
    """F refusesOverlappingKeyConditionsAndMismatchedKeyTypes and PG ("an OR branch with a non-key
    <> beside a sort-key branch"): "Overlapping conditions with range keys are not supported in
    where clause"."""
    assert _refusal(lambda: ranges.execute_statement(Statement=f"SELECT sk FROM edge WHERE {where}")) == (
        "ValidationException",
        OVERLAP,
    )


def test_disjoint_or_negated_sort_key_reads_run(ranges):
    """F readsSortKeyConditionsThatAQueryKeyCannotHold and paritysuite whereOverlap.test.ts: disjoint
    sort-key branches run, and so does a branch whose sort-key condition is negated or <>; a
    transaction reports an overlap under its statement's index."""
    select = "SELECT sk FROM edge WHERE pk='ranges' AND "
    assert _sort_keys(ranges, select + "(sk < '1' OR sk > '1' OR sk='1')") == ["1", "2"]
    assert _sort_keys(ranges, select + "sk IN ['1','2']") == ["1", "2"]
    assert _sort_keys(ranges, select + "NOT sk = '1' OR pk = 'ranges' AND sk = '2'") == ["2"]
    assert _sort_keys(
        ranges, "SELECT sk FROM edge WHERE pk = 'ranges' OR pk = 'ranges' AND NOT sk = '1'"
    ) == [
        "1",
        "2",
    ]
    statement = "SELECT sk FROM edge WHERE pk IN ['ranges','ranges'] AND sk='1'"
    assert (
        _refusal(lambda: _tx(ranges, statement))[1]
        == f"Validation failed in TransactStatements[0]: {OVERLAP}"
    )


def test_key_types_and_decomposed_reads(ranges):
    """F refusesOverlappingKeyConditionsAndMismatchedKeyTypes (a key condition's value of the wrong
    type, in any branch; pk > 1 is a filter) and refusesTooManyInOperandsAndTooManyDecomposedReads
    (more than 50 reads when every branch names its partition; in a batch that wins over the
    key rule)."""
    select = "SELECT sk FROM edge WHERE "
    assert _refusal(lambda: ranges.execute_statement(Statement=select + "pk = 1 OR pk = 'ranges'"))[1] == (
        "Key attribute's data type should match its data type in table's schema: Key pk"
    )
    assert _refusal(lambda: ranges.execute_statement(Statement=select + "pk = 'ranges' AND sk IN ['1', 2]"))[
        1
    ] == ("Key attribute's data type should match its data type in table's schema: Key sk")
    assert ranges.execute_statement(Statement=select + "pk > 1")["Items"] == []

    def values(count: int) -> str:
        return ",".join(f"'v{i}'" for i in range(count))

    many = "Too many decomposed read operations for a given query."
    for where in (f"pk IN [{values(51)}]", f"pk IN [{values(26)}] AND sk IN ['1','2']"):
        assert _refusal(lambda w=where: ranges.execute_statement(Statement=select + w))[1] == many
    ranges.execute_statement(Statement=select + f"pk IN [{values(50)}] AND flag IN [{values(100)}]")
    ranges.execute_statement(Statement=select + f"pk IN [{values(51)}] OR flag='one'")
    slots = ranges.batch_execute_statement(
        Statements=[{"Statement": select + f"pk IN [{values(51)}] AND sk='1'"}]
    )
    assert slots["Responses"][0]["Error"]["Message"] == many


@pytest.fixture
def indexed(ddb):
    """F's partiql-edge-cases-index: a GSI projecting its key and ``projattr``; PI's gsi2 likewise."""
    make_table(
        ddb,
        "indexed",
        extra_attributes=[("gsiPk", "S")],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi-inc",
                "KeySchema": [{"AttributeName": "gsiPk", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["projattr"]},
            }
        ],
    )
    item = {"pk": {"S": "p"}, "gsiPk": {"S": "y"}, "projattr": {"S": "proj1"}, "nonproj": {"S": "np1"}}
    ddb.put_item(TableName="indexed", Item=item)
    return ddb


@pytest.mark.parametrize(
    "where,missing",
    [
        ("gsiPk='y' AND NOT (nonproj='np1' OR projattr='x')", "[nonproj]"),
        ("gsiPk='y' AND b='1' AND (a='2' OR projattr='3')", "[a, b]"),
        ("gsiPk='y' AND (zz='1' OR aa='2' OR mm='3')", "[zz, aa, mm]"),
        ("(gsiPk='y' OR gsiPk='z') AND zz='1'", "[zz]"),
        ("(gsiPk='b' AND u1='1') OR (gsiPk='q' AND u2='1')", "[u2]"),
        ("(gsiPk='q' AND u1='1') OR (gsiPk='b' AND u2='1')", "[u1]"),
    ],
)
def test_a_keyed_gsi_read_filtering_on_what_it_does_not_project(indexed, where, missing):
    """F refusesUnprojectedAttributesInsideGroupedConditionsOnAKeyedIndexRead and
    checksProjectionOnEachKeyedBranchOfAnIndexRead: "Secondary index gsi-inc does not project one
    or more filter attributes: [...]" (the last branch by partition; AWS's set order)."""
    statement = f'SELECT pk FROM indexed."gsi-inc" WHERE {where}'
    assert _refusal(lambda: indexed.execute_statement(Statement=statement))[1] == (
        "One or more parameter values were invalid: Secondary index gsi-inc does not project one or more "
        f"filter attributes: {missing}"
    )


def test_gsi_reads_within_what_it_projects(indexed):
    """F (the accepted forms beside the refusals above) and paritysuite
    tier2/partiql/executeStatementIndex.test.ts ("rejects non-projected columns on a GSI in
    statement order", also without a WHERE)."""
    select = 'SELECT pk FROM indexed."gsi-inc" WHERE '
    for where in (
        "gsiPk='y' AND (projattr='proj1' OR projattr='proj2')",
        "(gsiPk='y' AND projattr='1') OR (gsiPk='z' AND aa='1')",
        "gsiPk > 'a' AND zz='1'",
        "(gsiPk='y' AND zz='1') OR aa='1'",
    ):
        indexed.execute_statement(Statement=select + where)
    assert indexed.execute_statement(Statement=select + "gsiPk='y'")["Items"] == [{"pk": {"S": "p"}}]
    for statement, missing in (
        ("SELECT alternate, mymap FROM indexed.\"gsi-inc\" WHERE gsiPk = 'y'", "[alternate, mymap]"),
        ('SELECT alternate FROM indexed."gsi-inc"', "[alternate]"),
    ):
        assert _refusal(lambda s=statement: indexed.execute_statement(Statement=s))[1] == (
            f"One or more parameter values were invalid: Global secondary index gsi-inc does not project {missing}"
        )


# ---------------------------------------------------------------------------- conditions as values
@pytest.mark.parametrize(
    "condition,holds",
    [
        ("attribute_exists(nope) = false", True),
        ("true = attribute_exists(n)", True),
        ("attribute_exists(n) <> 1", True),
        ("contains(nope, 'z') = false", True),
        ("(n BETWEEN 0 AND 5) = true", True),
        ("(n = 5 OR flag = 'x') = false", True),
        ("attribute_exists(nope) IN [true, false]", True),
        ("attribute_exists(n) = attribute_exists(flag)", True),
        ("attribute_exists(n) = yes", True),
        ("attribute_exists(n) = 1", False),
        ("NOT attribute_exists(n) = true", False),
        ("(attribute_exists(n) = true) = false", False),
        ("attribute_exists(n) = flag", False),
    ],
)
def test_a_condition_compared_as_a_boolean(edge, condition, holds):
    """F comparesAConditionWithABoolean: a condition's truth compares with BOOL values, paths
    and other conditions (it was refused: "WHERE clause must contain an expression that resolves
    to a boolean")."""
    _put(edge, "booleans", n={"N": "1"}, flag={"S": "right"}, yes={"BOOL": True})
    statement = f"SELECT sk FROM edge WHERE pk='booleans' AND sk='1' AND {condition}"
    assert len(edge.execute_statement(Statement=statement)["Items"]) == (1 if holds else 0)


def test_a_condition_has_no_order(edge):
    """F comparesAConditionWithABoolean: "Incorrect operand type for operator or function;
    operator or function: >, operand type: BOOL"."""
    statement = "SELECT sk FROM edge WHERE pk='booleans' AND sk='1' AND attribute_exists(n) > false"
    assert _refusal(lambda: edge.execute_statement(Statement=statement)) == (
        "ValidationException",
        "Incorrect operand type for operator or function; operator or function: >, operand type: BOOL",
    )


@pytest.mark.parametrize("type_name", ["INT4", "INT8", "DOUBLE PRECISION", "CHARACTER VARYING"])
def test_a_bare_type_test_parses_but_does_not_run(ddb, type_name):
    """PG "IS %s parses as a type test": "Unsupported operation: IsType" (it was "Expected data
    manipulation")."""
    assert _refusal(lambda: ddb.execute_statement(Statement=f"x IS {type_name}")) == (
        "ValidationException",
        "Unsupported operation: IsType",
    )


def test_the_from_first_update_takes_returning(ddb):
    """paritysuite tier2/partiql/fromFirstUpdate.test.ts ("RETURNING ALL NEW * returns the updated
    item"; it was refused as a token left over)."""
    make_table(ddb, "users")
    ddb.put_item(TableName="users", Item={"pk": {"S": "u"}, "a": {"N": "1"}, "b": {"S": "bee"}})
    answer = ddb.execute_statement(Statement="FROM users WHERE pk = 'u' SET d = 3 RETURNING ALL NEW *")
    assert answer["Items"] == [{"pk": {"S": "u"}, "a": {"N": "1"}, "b": {"S": "bee"}, "d": {"N": "3"}}]
