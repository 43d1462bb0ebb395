"""PartiQL through boto3: ExecuteStatement, BatchExecuteStatement, ExecuteTransaction."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import make_table
from tests.e2e.cdc_helpers import setup_cdc, wait_changes

NWF = "Statement wasn't well formed, can't be processed: "


def _err(exc) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


def run(ddb, statement: str, *params, **kw):
    if params:
        kw["Parameters"] = list(params)
    return ddb.execute_statement(Statement=statement, **kw)


def get(ddb, table: str, **key):
    return ddb.get_item(TableName=table, Key={k: {"S": v} for k, v in key.items()}).get("Item")


@pytest.fixture
def users(ddb):
    make_table(ddb, "users", hash_key="Username")
    return ddb


@pytest.fixture
def music(ddb):
    make_table(
        ddb,
        "music",
        hash_key="Artist",
        range_key="SongTitle",
        extra_attributes=[("Genre", "S")],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_genre",
                "KeySchema": [{"AttributeName": "Genre", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    for artist, song, genre, year in [
        ("A", "s1", "rock", 2001),
        ("A", "s2", "pop", 2002),
        ("A", "s3", "rock", 2003),
        ("B", "s1", "jazz", 2004),
        ("C", "s9", "rock", 2005),
    ]:
        ddb.put_item(
            TableName="music",
            Item={
                "Artist": {"S": artist},
                "SongTitle": {"S": song},
                "Genre": {"S": genre},
                "Year": {"N": str(year)},
            },
        )
    return ddb


# ------------------------------------------------------------------------ recorded AWS responses
def test_execute_transaction_of_inserts_matches_aws(users):
    r = users.execute_transaction(
        TransactStatements=[
            {"Statement": "INSERT INTO users VALUE {'Username': 'user01'}"},
            {"Statement": "INSERT INTO users VALUE {'Username': 'user02'}"},
        ]
    )
    assert r["Responses"] == []
    scan = users.scan(TableName="users")
    assert scan["Count"] == 2 and scan["ScannedCount"] == 2
    assert sorted(i["Username"]["S"] for i in scan["Items"]) == ["user01", "user02"]


def test_batch_execute_statement_matches_aws(users):
    users.put_item(TableName="users", Item={"Username": {"S": "user02"}})
    r = users.batch_execute_statement(
        Statements=[
            {"Statement": "INSERT INTO users VALUE {'Username': 'user01'}"},
            {"Statement": "UPDATE users SET Age=20 WHERE Username='user02'"},
        ]
    )
    assert r["Responses"] == [{"TableName": "users"}, {"TableName": "users"}]
    assert get(users, "users", Username="user02") == {"Age": {"N": "20"}, "Username": {"S": "user02"}}
    assert get(users, "users", Username="user01") == {"Username": {"S": "user01"}}


def test_is_not_missing_matches_aws(users):
    users.put_item(TableName="users", Item={"Username": {"S": "Alice123"}, "FirstName": {"S": "Alice"}})
    users.put_item(TableName="users", Item={"Username": {"S": "Bob123"}})
    items = run(users, 'SELECT * FROM "users" WHERE FirstName IS NOT MISSING')["Items"]
    assert items == [{"FirstName": {"S": "Alice"}, "Username": {"S": "Alice123"}}]
    missing = run(users, 'SELECT Username FROM "users" WHERE FirstName IS MISSING')["Items"]
    assert missing == [{"Username": {"S": "Bob123"}}]


def test_empty_parameters_rejected_like_aws(srv, users):
    raw = boto3.client(
        "dynamodb",
        endpoint_url=srv.endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
    )
    with pytest.raises(ClientError) as e:
        raw.execute_statement(Statement="SELECT * FROM users WHERE Username = ?", Parameters=[])
    assert _err(e) == (
        "ValidationException",
        "1 validation error detected: Value '[]' at 'parameters' "
        "failed to satisfy constraint: Member must have length greater than or equal to 1",
    )


# ------------------------------------------------------------------------ single statements
def test_insert_select_update_delete_roundtrip(music):
    assert (
        run(
            music,
            "INSERT INTO \"music\" VALUE {'Artist': 'D', 'SongTitle': 't', 'n': 1, "
            "'tags': <<'x', 'y'>>, 'nums': <<1, 2>>, 'doc': {'l': [1, 'two', true, null]}}",
        )["Items"]
        == []
    )
    item = music.get_item(TableName="music", Key={"Artist": {"S": "D"}, "SongTitle": {"S": "t"}})["Item"]
    assert item["doc"] == {"M": {"l": {"L": [{"N": "1"}, {"S": "two"}, {"BOOL": True}, {"NULL": True}]}}}
    assert sorted(item["tags"]["SS"]) == ["x", "y"] and sorted(item["nums"]["NS"]) == ["1", "2"]
    r = run(
        music,
        "UPDATE music SET n = n + 4 SET doc.l[1] = 'deux' SET tags = set_add(tags, <<'z'>>) "
        "SET nums = set_delete(nums, <<1>>) REMOVE doc.l[0] "
        "WHERE Artist = 'D' AND SongTitle = 't' RETURNING ALL NEW *",
    )
    new = r["Items"][0]
    assert new["n"] == {"N": "5"} and sorted(new["tags"]["SS"]) == ["x", "y", "z"]
    assert new["nums"] == {"NS": ["2"]}
    assert new["doc"] == {"M": {"l": {"L": [{"S": "deux"}, {"BOOL": True}, {"NULL": True}]}}}
    r = run(music, "UPDATE music SET n = 9 WHERE Artist = 'D' AND SongTitle = 't' RETURNING MODIFIED OLD *")
    assert r["Items"] == [{"n": {"N": "5"}}]
    r = run(
        music,
        "UPDATE music SET l2 = list_append([0], [1]) WHERE Artist = 'D' AND SongTitle = 't' "
        "RETURNING MODIFIED NEW *",
    )
    assert r["Items"] == [{"l2": {"L": [{"N": "0"}, {"N": "1"}]}}]
    r = run(music, "DELETE FROM music WHERE Artist = 'D' AND SongTitle = 't' RETURNING ALL OLD *")
    assert r["Items"][0]["n"] == {"N": "9"}
    assert "Item" not in music.get_item(
        TableName="music", Key={"Artist": {"S": "D"}, "SongTitle": {"S": "t"}}
    )
    # deleting a missing item is no error, and returns nothing
    assert run(music, "DELETE FROM music WHERE Artist = 'D' AND SongTitle = 't'")["Items"] == []


def test_parameters(music):
    run(
        music,
        "INSERT INTO music VALUE {'Artist': ?, 'SongTitle': ?, 'b': ?, 'm': ?}",
        {"S": "P"},
        {"S": "q"},
        {"B": b"\x01\x02"},
        {"M": {"x": {"L": [{"N": "7"}]}}},
    )
    items = run(music, "SELECT b, m.x FROM music WHERE Artist = ? AND SongTitle = ?", {"S": "P"}, {"S": "q"})[
        "Items"
    ]
    assert items == [{"b": {"B": b"\x01\x02"}, "x": {"L": [{"N": "7"}]}}]
    with pytest.raises(ClientError) as e:
        run(music, "SELECT * FROM music WHERE Artist = ? AND SongTitle = ?", {"S": "P"})
    assert _err(e) == ("ValidationException", "Number of parameters in request and statement don't match.")


def test_select_query_scan_and_filters(music):
    q = run(music, "SELECT SongTitle FROM music WHERE Artist = 'A'")["Items"]
    assert q == [{"SongTitle": {"S": "s1"}}, {"SongTitle": {"S": "s2"}}, {"SongTitle": {"S": "s3"}}]
    q = run(music, "SELECT SongTitle FROM music WHERE Artist = 'A' AND SongTitle > 's1' AND Year <= 2002")[
        "Items"
    ]
    assert q == [{"SongTitle": {"S": "s2"}}]
    q = run(
        music,
        "SELECT SongTitle FROM music WHERE Artist = 'A' AND begins_with(SongTitle, 's') "
        "AND SongTitle BETWEEN 's2' AND 's3' AND Genre <> 'pop'",
    )["Items"]
    assert q == [{"SongTitle": {"S": "s3"}}]
    both = run(music, "SELECT Artist FROM music WHERE Artist IN ['C', 'B'] AND SongTitle = 's1'")["Items"]
    assert both == [{"Artist": {"S": "B"}}]
    ors = run(
        music, "SELECT Artist, SongTitle FROM music WHERE Artist = 'B' OR Artist = 'C' ORDER BY Artist DESC"
    )["Items"]
    assert [i["Artist"]["S"] for i in ors] == ["C", "B"]
    scan = run(
        music,
        "SELECT Artist, SongTitle FROM music WHERE Year > 2002 AND contains(Genre, 'o') "
        "AND size(SongTitle) = 2 AND attribute_type(Year, 'N')",
    )["Items"]
    assert sorted((i["Artist"]["S"], i["SongTitle"]["S"]) for i in scan) == [("A", "s3"), ("C", "s9")]
    assert len(run(music, "SELECT * FROM music")["Items"]) == 5
    assert run(music, "SELECT * FROM music WHERE NOT (Year < 2005)")["Items"][0]["Artist"] == {"S": "C"}


def test_order_by_sort_key(music):
    items = run(music, "SELECT SongTitle FROM music WHERE Artist = 'A' ORDER BY SongTitle DESC")["Items"]
    assert [i["SongTitle"]["S"] for i in items] == ["s3", "s2", "s1"]
    with pytest.raises(ClientError) as e:
        run(music, "SELECT * FROM music ORDER BY SongTitle")
    assert _err(e)[1] == "Must have WHERE clause in the statement when using ORDER BY clause."
    with pytest.raises(ClientError) as e:
        run(music, "SELECT * FROM music WHERE Artist = 'A' ORDER BY Year")
    assert _err(e)[1] == "Variable reference Year in ORDER BY clause must be part of the primary key"


def test_select_on_index(music):
    items = run(music, 'SELECT Artist, SongTitle FROM "music"."by_genre" WHERE Genre = \'rock\'')["Items"]
    assert sorted((i["Artist"]["S"], i["SongTitle"]["S"]) for i in items) == [
        ("A", "s1"),
        ("A", "s3"),
        ("C", "s9"),
    ]
    with pytest.raises(ClientError) as e:
        run(music, 'SELECT * FROM "music"."by_genre" WHERE Genre = \'rock\'', ConsistentRead=True)
    assert _err(e) == (
        "ValidationException",
        "Strongly consistent read is not supported on Global Secondary Indexes",
    )
    with pytest.raises(ClientError) as e:
        run(music, 'SELECT * FROM "music"."nope"')
    assert _err(e)[0] == "ValidationException"


def test_limit_and_next_token_paging(music):
    seen, token, pages = [], None, 0
    while True:
        kw = {"Limit": 2}
        if token:
            kw["NextToken"] = token
        r = run(music, "SELECT Artist, SongTitle FROM music", **kw)
        pages += 1
        seen += [(i["Artist"]["S"], i["SongTitle"]["S"]) for i in r["Items"]]
        token = r.get("NextToken")
        if not token:
            break
        assert "LastEvaluatedKey" in r
    assert pages == 3 and len(seen) == 5 and len(set(seen)) == 5
    # Limit counts items read, not items matched
    r = run(music, "SELECT * FROM music WHERE Year > 2004", Limit=2)
    assert r["Items"] == [] or len(r["Items"]) <= 1
    assert "NextToken" in r
    # a query pages too, across IN partitions
    r1 = run(music, "SELECT SongTitle FROM music WHERE Artist IN ['A', 'B']", Limit=3)
    r2 = run(
        music, "SELECT SongTitle FROM music WHERE Artist IN ['A', 'B']", Limit=3, NextToken=r1["NextToken"]
    )
    assert len(r1["Items"]) == 3 and len(r2["Items"]) == 1 and "NextToken" not in r2
    with pytest.raises(ClientError) as e:
        run(music, "SELECT * FROM music WHERE Year > 1", NextToken=r1["NextToken"])
    assert _err(e) == ("ValidationException", "The provided starting key is invalid")
    with pytest.raises(ClientError) as e:
        run(music, "SELECT * FROM music", NextToken="garbage!")
    assert _err(e) == ("ValidationException", "Invalid NextToken")


def test_write_errors(music):
    with pytest.raises(ClientError) as e:
        run(music, "INSERT INTO music VALUE {'Artist': 'A', 'SongTitle': 's1'}")
    assert _err(e) == ("DuplicateItemException", "Duplicate primary key exists in table")
    with pytest.raises(ClientError) as e:
        run(music, "UPDATE music SET x = 1 WHERE Artist = 'Z' AND SongTitle = 'none'")
    assert _err(e) == ("ConditionalCheckFailedException", "The conditional request failed")
    assert "Item" not in music.get_item(
        TableName="music", Key={"Artist": {"S": "Z"}, "SongTitle": {"S": "none"}}
    )
    with pytest.raises(ClientError) as e:
        run(
            music,
            "UPDATE music SET x = 1 WHERE Artist = 'A' AND SongTitle = 's1' AND Year = 1999",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert _err(e)[0] == "ConditionalCheckFailedException"
    assert e.value.response["Item"]["Year"] == {"N": "2001"}
    with pytest.raises(ClientError) as e:
        run(music, "DELETE FROM music WHERE Artist = 'A' AND SongTitle = 's1' AND Year = 1999")
    assert _err(e)[0] == "ConditionalCheckFailedException"
    with pytest.raises(ClientError) as e:
        run(music, "DELETE FROM music WHERE Artist = 'A'")
    assert _err(e) == (
        "ValidationException",
        "Where clause does not contain a mandatory equality on all key attributes",
    )
    with pytest.raises(ClientError) as e:
        run(music, "UPDATE music SET Artist = 'Q' WHERE Artist = 'A' AND SongTitle = 's1'")
    assert "Cannot update attribute Artist" in _err(e)[1]
    with pytest.raises(ClientError) as e:
        run(music, "SELECT * FROM nothere WHERE Artist = 'A'")
    assert _err(e) == ("ResourceNotFoundException", "Requested resource not found")
    with pytest.raises(ClientError) as e:
        run(music, "SELECT * FROM music WHERE")
    assert _err(e) == ("ValidationException", NWF + "Unexpected term")
    with pytest.raises(ClientError) as e:
        run(music, "EXISTS(SELECT * FROM music WHERE Artist = 'A' AND SongTitle = 's1' AND Year = 1)")
    assert _err(e)[1] == "EXISTS can only be used in ExecuteTransaction write requests."


def test_consumed_capacity(music):
    r = run(
        music, "INSERT INTO music VALUE {'Artist': 'E', 'SongTitle': 'e'}", ReturnConsumedCapacity="TOTAL"
    )
    assert r["ConsumedCapacity"] == {"TableName": "music", "CapacityUnits": 1.0}  # not in the GSI
    r = run(
        music,
        "INSERT INTO music VALUE {'Artist': 'E', 'SongTitle': 'f', 'Genre': 'g'}",
        ReturnConsumedCapacity="TOTAL",
    )
    assert r["ConsumedCapacity"] == {"TableName": "music", "CapacityUnits": 2.0}  # table + GSI entry
    r = run(
        music, "SELECT * FROM music WHERE Artist = 'A'", ReturnConsumedCapacity="TOTAL", ConsistentRead=True
    )
    assert r["ConsumedCapacity"]["CapacityUnits"] == 1.0


# ------------------------------------------------------------------------ batches
def test_batch_reads_and_errors(music):
    r = music.batch_execute_statement(
        Statements=[
            {"Statement": "SELECT Year FROM music WHERE Artist = 'A' AND SongTitle = 's2'"},
            {
                "Statement": "SELECT * FROM music WHERE Artist = ? AND SongTitle = ?",
                "Parameters": [{"S": "A"}, {"S": "missing"}],
            },
            {"Statement": "SELECT * FROM music WHERE Artist = 'A'"},
            {"Statement": 'SELECT * FROM "music"."by_genre" WHERE Genre = \'rock\''},
            {"Statement": "SELECT * FROM nothere WHERE Artist = 'A' AND SongTitle = 's'"},
            {"Statement": "SELECT * FROM music WHERE"},
        ],
        ReturnConsumedCapacity="TOTAL",
    )["Responses"]
    assert r[0] == {"TableName": "music", "Item": {"Year": {"N": "2002"}}}
    assert r[1] == {"TableName": "music"}
    key_msg = (
        "Select statements within BatchExecuteStatement must specify the primary key in the where clause."
    )
    assert r[2]["Error"] == {"Code": "ValidationError", "Message": key_msg}
    assert r[3]["Error"] == {"Code": "ValidationError", "Message": key_msg}
    assert r[4] == {"Error": {"Code": "ResourceNotFound", "Message": "Requested resource not found"}}
    assert r[5]["Error"] == {"Code": "ValidationError", "Message": NWF + "Unexpected term"}


def test_batch_writes_each_on_its_own(music):
    r = music.batch_execute_statement(
        Statements=[
            {"Statement": "INSERT INTO music VALUE {'Artist': 'A', 'SongTitle': 's1'}"},
            {"Statement": "INSERT INTO music VALUE {'Artist': 'N', 'SongTitle': 'n'}"},
            {"Statement": "UPDATE music SET x = 1 WHERE Artist = 'none' AND SongTitle = 'n'"},
            {"Statement": "DELETE FROM music WHERE Artist = 'B' AND SongTitle = 's1'"},
        ]
    )["Responses"]
    assert r[0] == {
        "Error": {"Code": "DuplicateItem", "Message": "Duplicate primary key exists in table"},
        "TableName": "music",
    }
    assert r[1] == {"TableName": "music"} and r[3] == {"TableName": "music"}
    assert r[2]["Error"]["Code"] == "ConditionalCheckFailed"
    assert "Item" in music.get_item(TableName="music", Key={"Artist": {"S": "N"}, "SongTitle": {"S": "n"}})
    assert "Item" not in music.get_item(
        TableName="music", Key={"Artist": {"S": "B"}, "SongTitle": {"S": "s1"}}
    )


def test_batch_cannot_mix_reads_and_writes(music):
    with pytest.raises(ClientError) as e:
        music.batch_execute_statement(
            Statements=[
                {"Statement": "SELECT * FROM music WHERE Artist = 'A' AND SongTitle = 's1'"},
                {"Statement": "INSERT INTO music VALUE {'Artist': 'M', 'SongTitle': 'm'}"},
            ]
        )
    assert _err(e)[0] == "ValidationException"
    assert "Item" not in music.get_item(
        TableName="music", Key={"Artist": {"S": "M"}, "SongTitle": {"S": "m"}}
    )


# ------------------------------------------------------------------------ transactions
def test_transaction_all_or_nothing(music):
    with pytest.raises(ClientError) as e:
        music.execute_transaction(
            TransactStatements=[
                {"Statement": "INSERT INTO music VALUE {'Artist': 'T', 'SongTitle': 't'}"},
                {
                    "Statement": "UPDATE music SET Year = 1 WHERE Artist = 'A' AND SongTitle = 's1' AND Year = 1800",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                },
                {"Statement": "INSERT INTO music VALUE {'Artist': 'A', 'SongTitle': 's2'}"},
            ]
        )
    assert _err(e) == (
        "TransactionCanceledException",
        "Transaction cancelled, please refer cancellation "
        "reasons for specific reasons [None, ConditionalCheckFailed, DuplicateItem]",
    )
    reasons = e.value.response["CancellationReasons"]
    assert reasons[0] == {"Code": "None"}
    assert reasons[1]["Code"] == "ConditionalCheckFailed" and reasons[1]["Item"]["Year"] == {"N": "2001"}
    assert reasons[2] == {"Code": "DuplicateItem", "Message": "Duplicate primary key exists in table"}
    assert "Item" not in music.get_item(
        TableName="music", Key={"Artist": {"S": "T"}, "SongTitle": {"S": "t"}}
    )
    r = music.execute_transaction(
        TransactStatements=[
            {
                "Statement": "EXISTS(SELECT * FROM music WHERE Artist = 'A' AND SongTitle = 's1' AND Genre = 'rock')"
            },
            {"Statement": "INSERT INTO music VALUE {'Artist': 'T', 'SongTitle': 't'}"},
            {"Statement": "DELETE FROM music WHERE Artist = 'B' AND SongTitle = 's1'"},
        ],
        ReturnConsumedCapacity="TOTAL",
    )
    assert r["Responses"] == [] and r["ConsumedCapacity"][0]["TableName"] == "music"
    assert "Item" in music.get_item(TableName="music", Key={"Artist": {"S": "T"}, "SongTitle": {"S": "t"}})
    with pytest.raises(ClientError) as e:
        music.execute_transaction(
            TransactStatements=[
                {
                    "Statement": "EXISTS(SELECT * FROM music WHERE Artist = 'A' AND SongTitle = 's1' AND Genre = 'pop')"
                },
                {"Statement": "DELETE FROM music WHERE Artist = 'T' AND SongTitle = 't'"},
            ]
        )
    assert e.value.response["CancellationReasons"][0]["Code"] == "ConditionalCheckFailed"


def test_transaction_reads(music):
    r = music.execute_transaction(
        TransactStatements=[
            {"Statement": "SELECT Year FROM music WHERE Artist = 'A' AND SongTitle = 's1'"},
            {"Statement": "SELECT * FROM music WHERE Artist = 'A' AND SongTitle = 'nope'"},
        ]
    )
    assert r["Responses"] == [{"Item": {"Year": {"N": "2001"}}}, {}]
    with pytest.raises(ClientError) as e:
        music.execute_transaction(
            TransactStatements=[{"Statement": "SELECT * FROM music WHERE Artist = 'A'"}]
        )
    assert _err(e) == (
        "ValidationException",
        "Validation failed in TransactStatements[0]: Select statements "
        "within ExecuteTransaction must specify the primary key in the where clause.",
    )
    with pytest.raises(ClientError) as e:
        music.execute_transaction(
            TransactStatements=[
                {"Statement": "SELECT * FROM music WHERE Artist = 'A' AND SongTitle = 's1'"},
                {"Statement": "SELECT * FROM music WHERE"},
            ]
        )
    assert _err(e) == (
        "ValidationException",
        f"Validation failed in TransactStatements[1]: {NWF}Unexpected term",
    )


def test_transaction_validation_and_idempotency(music):
    with pytest.raises(ClientError) as e:
        music.execute_transaction(
            TransactStatements=[
                {"Statement": "UPDATE music SET a = 1 WHERE Artist = 'A' AND SongTitle = 's1'"},
                {"Statement": "DELETE FROM music WHERE Artist = 'A' AND SongTitle = 's1'"},
            ]
        )
    assert _err(e) == (
        "ValidationException",
        "Transaction request cannot include multiple operations on one item",
    )
    with pytest.raises(ClientError) as e:
        music.execute_transaction(
            TransactStatements=[
                {"Statement": "EXISTS(SELECT * FROM music WHERE Artist = 'A' AND SongTitle = 's1')"},
                {"Statement": "UPDATE music SET z = 1 WHERE Artist = 'A' AND SongTitle = 's2'"},
            ]
        )
    assert _err(e) == (
        "ValidationException",
        "Validation failed in TransactStatements[0]: EXISTS() must "
        "contain a single item read with additional condition",
    )
    stmts = [{"Statement": "UPDATE music SET n = n + 1 WHERE Artist = 'A' AND SongTitle = 's1'"}]
    music.update_item(
        TableName="music",
        Key={"Artist": {"S": "A"}, "SongTitle": {"S": "s1"}},
        UpdateExpression="SET n = :z",
        ExpressionAttributeValues={":z": {"N": "0"}},
    )
    music.execute_transaction(TransactStatements=stmts, ClientRequestToken="tok-1")
    music.execute_transaction(TransactStatements=stmts, ClientRequestToken="tok-1")
    item = music.get_item(TableName="music", Key={"Artist": {"S": "A"}, "SongTitle": {"S": "s1"}})["Item"]
    assert item["n"] == {"N": "1"}
    with pytest.raises(ClientError) as e:
        music.execute_transaction(
            TransactStatements=stmts
            + [{"Statement": "DELETE FROM music WHERE Artist = 'C' AND SongTitle = 's9'"}],
            ClientRequestToken="tok-1",
        )
    assert _err(e)[0] == "IdempotentParameterMismatchException"


# ------------------------------------------------------------------------ change data capture
def test_partiql_writes_reach_the_kinesis_destination(srv):
    ddb, kin, _ = setup_cdc(srv)
    run(ddb, "INSERT INTO orders VALUE {'pk': 'o1', 'total': 5}")
    run(ddb, "UPDATE orders SET total = total + 1 WHERE pk = 'o1'")
    ddb.batch_execute_statement(Statements=[{"Statement": "INSERT INTO orders VALUE {'pk': 'o2'}"}])
    ddb.execute_transaction(
        TransactStatements=[
            {"Statement": "INSERT INTO orders VALUE {'pk': 'o3'}"},
            {"Statement": "DELETE FROM orders WHERE pk = 'o1'"},
        ]
    )
    recs = wait_changes(kin, "changes", 5)
    events = [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in recs]
    assert sorted(events) == sorted(
        [("INSERT", "o1"), ("MODIFY", "o1"), ("INSERT", "o2"), ("INSERT", "o3"), ("REMOVE", "o1")]
    )
    modify = next(r for r in recs if r["eventName"] == "MODIFY")
    assert modify["dynamodb"]["NewImage"]["total"] == {"N": "6"}
    assert modify["dynamodb"]["OldImage"]["total"] == {"N": "5"}
