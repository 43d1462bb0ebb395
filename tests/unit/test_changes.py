"""Change decoding (both feeds, every attribute type) and the per-item ordering helper.

The Kinesis records are rendered by tidestream's own CDC renderer (the bytes the server puts on
the stream); the DynamoDB Streams records by its Streams renderer (what boto3 hands back, bar the
datetime). tests/e2e/test_cdc_replica.py checks the same decoding against a running server.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidestream.cdc.records import render as render_kinesis
from tidestream.consumer.changes import (
    DYNAMODB_STREAMS,
    KINESIS,
    Change,
    NotAChange,
    UserIdentity,
    decode_kinesis_record,
    decode_stream_record,
    table_from_stream_arn,
)
from tidestream.consumer.ordering import LatestPerItem
from tidestream.dynamodbstreams.records import render as render_stream
from tidestream.dynamodbstreams.state import StreamMeta

KEYS = {"pk": {"S": "order#1"}, "sk": {"N": "7"}}
#: every attribute type, nested, as the server holds it (B as raw bytes)
EVERY_TYPE = {
    **KEYS,
    "s": {"S": "버스 ✓"},
    "n": {"N": "-12.50"},
    "big": {"N": "12345678901234567890123456789012345678"},
    "b": {"B": bytes([18, 2, 8, 123])},
    "bool": {"BOOL": False},
    "null": {"NULL": True},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"\x00", b"\xff\x01"]},
    "l": {"L": [{"S": "x"}, {"N": "1"}, {"B": b"\x01"}, {"L": []}, {"NULL": True}]},
    "m": {"M": {"inner": {"M": {"deep": {"BS": [b"z"]}}}, "flag": {"BOOL": True}}},
}
EXPECTED = {
    "pk": "order#1",
    "sk": Decimal(7),
    "s": "버스 ✓",
    "n": Decimal("-12.5"),
    "big": Decimal("12345678901234567890123456789012345678"),
    "b": bytes([18, 2, 8, 123]),
    "bool": False,
    "null": None,
    "ss": frozenset({"a", "b"}),
    "ns": frozenset({Decimal(1), Decimal("2.5")}),
    "bs": frozenset({b"\x00", b"\xff\x01"}),
    "l": ["x", Decimal(1), b"\x01", [], None],
    "m": {"inner": {"deep": frozenset({b"z"})}, "flag": True},
}
TS_US = 1731924555370123


def kinesis_data(old=None, new=None, *, ttl=False, micro=True, ts=TS_US, keys=KEYS, table="Orders") -> bytes:
    return render_kinesis(
        region="eu-west-1",
        event_id="0b6d9f3e-1111-4222-8333-444455556666",
        table_name=table,
        keys=keys,
        old=old,
        new=new,
        timestamp=ts if micro else ts // 1000,
        by_ttl=ttl,
        microseconds=micro,
    )


def stream_record(old=None, new=None, *, ttl=False, counter=42, t=1731924555.9) -> dict:
    meta = StreamMeta(
        id=1,
        account="000000000000",
        region="eu-west-1",
        table="Orders",
        table_id="tid",
        label="2026-11-30T00:00:00.000",
        view_type="NEW_AND_OLD_IMAGES",
        key_schema=[("pk", "HASH"), ("sk", "RANGE")],
        created=0.0,
        start=1,
    )
    event_name = "INSERT" if old is None else ("REMOVE" if new is None else "MODIFY")
    entry = {"created_at": t, "keys": KEYS, "event_id": "a" * 32, "event_name": event_name}
    if new is not None:
        entry["new"] = new
    if old is not None:
        entry["old"] = old
    if ttl:
        entry["ttl"] = True
    return render_stream(meta, counter, entry)


def test_kinesis_every_type_binaries_twice_and_fields():
    data = kinesis_data(new=EVERY_TYPE)
    assert '"RWdJSWV3PT0="' in data.decode()  # the double-base64 form AWS writes for 12 02 08 7b
    c = decode_kinesis_record(data)
    assert c.new_image == EXPECTED and c.old_image is None
    assert c.keys == {"pk": "order#1", "sk": Decimal(7)}
    assert (c.event_name, c.table_name, c.region, c.source) == ("INSERT", "Orders", "eu-west-1", KINESIS)
    assert c.event_id == "0b6d9f3e-1111-4222-8333-444455556666"
    assert c.approximate_creation == datetime(2024, 11, 18, 10, 9, 15, 370123, tzinfo=UTC)
    assert c.precision == "MICROSECOND"
    assert c.size_bytes == json.loads(data)["dynamodb"]["SizeBytes"] > 0
    assert c.user_identity is None and not c.is_ttl_expiry
    assert c.sequence_number is None


def test_kinesis_millisecond_precision_and_boto3_record_envelope():
    data = kinesis_data(old={**KEYS, "v": {"N": "1"}}, new={**KEYS, "v": {"N": "2"}}, micro=False)
    c = decode_kinesis_record(
        {
            "SequenceNumber": "4955",
            "Data": data,
            "PartitionKey": "ABC",
            "ApproximateArrivalTimestamp": datetime.now(UTC),
        }
    )
    assert c.event_name == "MODIFY" and c.precision == "MILLISECOND"
    assert c.approximate_creation == datetime(2024, 11, 18, 10, 9, 15, 370000, tzinfo=UTC)
    assert c.old_image["v"] == 1 and c.new_image["v"] == 2
    assert c.sequence_number == "4955" and c.sub_sequence_number is None


def test_ttl_identity_both_feeds():
    k = decode_kinesis_record(kinesis_data(old=EVERY_TYPE, ttl=True))
    s = decode_stream_record(stream_record(old=EVERY_TYPE, ttl=True))
    for c in (k, s):
        assert c.event_name == "REMOVE" and c.new_image is None and c.old_image == EXPECTED
        assert c.user_identity == UserIdentity("Service", "dynamodb.amazonaws.com") and c.is_ttl_expiry
    assert not decode_stream_record(stream_record(old=EVERY_TYPE)).is_ttl_expiry


def test_dynamodb_streams_record_every_type():
    rec = stream_record(old=EVERY_TYPE, new={**EVERY_TYPE, "s": {"S": "neu"}}, counter=42)
    rec["dynamodb"]["ApproximateCreationDateTime"] = datetime(
        2024, 11, 18, 11, 9, 15, tzinfo=timezone(timedelta(hours=1))
    )  # as boto3
    c = decode_stream_record(rec, "Orders")
    assert c.old_image == EXPECTED and c.new_image == {**EXPECTED, "s": "neu"}
    assert (c.event_name, c.table_name, c.source, c.precision) == (
        "MODIFY",
        "Orders",
        DYNAMODB_STREAMS,
        "SECOND",
    )
    assert c.approximate_creation == datetime(2024, 11, 18, 10, 9, 15, tzinfo=UTC)
    assert c.approximate_creation.tzinfo is not None
    assert c.sequence_number == rec["dynamodb"]["SequenceNumber"]
    assert c.size_bytes == rec["dynamodb"]["SizeBytes"]
    assert c.order_key == (int(c.approximate_creation.timestamp()) * 10**6, int(c.sequence_number))


def test_both_feeds_agree_on_the_same_change():
    old, new = EVERY_TYPE, {**EVERY_TYPE, "n": {"N": "3"}}
    k = decode_kinesis_record(kinesis_data(old=old, new=new))
    s = decode_stream_record(stream_record(old=old, new=new), "Orders")
    for name in ("event_name", "table_name", "region", "keys", "old_image", "new_image", "size_bytes"):
        assert getattr(k, name) == getattr(s, name), name


@pytest.mark.parametrize(
    "data, problem",
    [
        (b"not json", "not JSON"),
        (b'{"eventSource":"aws:kinesis"}', "not a DynamoDB change"),
        (b'{"eventSource":"aws:dynamodb","eventName":"INSERT"}', "no dynamodb.Keys"),
        (b'{"eventSource":"aws:dynamodb","eventName":"UPSERT","dynamodb":{"Keys":{}}}', "eventName"),
        (
            b'{"eventSource":"aws:dynamodb","eventName":"INSERT","dynamodb":{"ApproximateCreationDateTime":1,'
            b'"Keys":{"pk":{"X":"1"}}}}',
            "unknown attribute type",
        ),
        (
            b'{"eventSource":"aws:dynamodb","eventName":"INSERT","dynamodb":{"ApproximateCreationDateTime":1,'
            b'"Keys":{"pk":{"B":"!!"}}}}',
            "not base64",
        ),
        (
            b'{"eventSource":"aws:dynamodb","eventName":"INSERT","dynamodb":{"ApproximateCreationDateTime":"x",'
            b'"Keys":{"pk":{"S":"1"}}}}',
            "not an integer",
        ),
    ],
)
def test_damaged_records_raise_not_a_change(data, problem):
    with pytest.raises(NotAChange, match=problem):
        decode_kinesis_record(data)


def test_table_from_stream_arn():
    arn = "arn:aws:dynamodb:us-east-1:000000000000:table/Orders/stream/2026-11-30T00:00:00.000"
    assert table_from_stream_arn(arn) == "Orders"
    assert table_from_stream_arn("arn:aws:kinesis:us-east-1:000000000000:stream/x") is None


# ---- ordering ------------------------------------------------------------------------------


def change(pk: str, ts_us: int, value: int | None, table: str = "Orders") -> Change:
    keys = {"pk": {"S": pk}}
    new = None if value is None else {**keys, "v": {"N": str(value)}}
    old = {**keys, "v": {"N": "0"}} if value is None else None
    return decode_kinesis_record(kinesis_data(old=old, new=new, ts=ts_us, keys=keys, table=table))


def test_duplicates_and_stale_changes_are_dropped():
    latest = LatestPerItem()
    a1, a2, b1 = change("a", 10, 1), change("a", 20, 2), change("b", 15, 1)
    kept = list(latest.filter([a1, b1, a2, a1, change("a", 20, 2), b1]))
    assert [(c.keys["pk"], c.order_key[0]) for c in kept] == [("a", 10), ("b", 15), ("a", 20)]
    assert latest.dropped == 3


def test_same_key_in_another_table_is_another_item():
    latest = LatestPerItem()
    assert latest.admit(change("a", 20, 1, table="T1"))
    assert latest.admit(change("a", 10, 1, table="T2"))


def test_remove_is_remembered_so_a_late_insert_cannot_resurrect():
    latest = LatestPerItem()
    assert latest.admit(change("a", 30, None))
    assert not latest.admit(change("a", 20, 5))


def test_memory_is_bounded_and_least_recently_changed_is_forgotten():
    latest = LatestPerItem(max_items=2)
    for pk, ts in (("a", 1), ("b", 2), ("a", 3), ("c", 4)):  # c evicts b, the least recent
        assert latest.admit(change(pk, ts, 1))
    assert len(latest) == 2
    assert not latest.admit(change("a", 3, 1))  # still remembered
    assert latest.admit(change("b", 2, 1))  # forgotten: the documented price of the cap
    with pytest.raises(ValueError):
        LatestPerItem(max_items=0)


HISTORY = st.dictionaries(
    st.sampled_from("abcdef"), st.lists(st.integers(0, 99), min_size=1, max_size=8), min_size=1
)


@settings(max_examples=150, deadline=None)
@given(history=HISTORY, seed=st.integers(0, 2**32 - 1), cap=st.sampled_from([6, 100]))
def test_any_duplication_and_reordering_reduces_to_the_latest_state(history, seed, cap):
    """Each item's versions get increasing timestamps; deliver them duplicated and shuffled
    (a version may arrive before older ones), apply what the helper admits last-writer-wins:
    the result is every item's newest version."""
    rng = random.Random(seed)
    changes = []
    for pk, values in history.items():
        for i, v in enumerate(values):
            value = None if v < 20 else v  # some versions are deletes
            changes.append(change(pk, 1000 + i, value))
    delivered = changes + [rng.choice(changes) for _ in range(len(changes))]
    rng.shuffle(delivered)
    state: dict[str, Decimal | None] = {}
    for c in LatestPerItem(max_items=cap).filter(delivered):
        state[c.keys["pk"]] = None if c.event_name == "REMOVE" else c.new_image["v"]
    want = {pk: (None if values[-1] < 20 else Decimal(values[-1])) for pk, values in history.items()}
    assert state == want


# ---- `tidestream consume` argument and output helpers --------------------------------------


def test_consume_from_argument_forms():
    import argparse

    from tidestream.consumer.tail import (
        ConsumeError,
        Position,
        _split_position,
        add_arguments,
        parse_position,
    )

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--from", "trim-horizon", "mystream"])  # STREAM swallowed by --from's nargs
    assert parse_position(_split_position(args)) == Position("TRIM_HORIZON") and args.stream == "mystream"
    args = parser.parse_args(["s", "--from", "at-timestamp", "2026-11-30T01:02:03"])
    assert parse_position(_split_position(args)) == Position(
        "AT_TIMESTAMP", datetime(2026, 11, 30, 1, 2, 3, tzinfo=UTC)
    )
    assert parse_position(["at-timestamp", "2026-11-30T01:02:03Z"]).timestamp.tzinfo is not None
    assert parser.parse_args([]).position == ["latest"]
    for words in (["s", "--from", "latest", "a", "b"], ["s", "--from", "latest", "extra"]):
        with pytest.raises(ConsumeError):
            parse_position(_split_position(parser.parse_args(words)))
    with pytest.raises(ConsumeError, match="needs a time"):
        parse_position(["at-timestamp"])


def test_consume_json_values_stay_exact():
    from tidestream.consumer.tail import _dumps

    assert _dumps(
        {
            "i": Decimal("10"),
            "e": Decimal("1E+2"),
            "f": Decimal("3.5"),
            "x": Decimal("0.1"),
            "big": Decimal("12345678901234567890.25"),
            "b": b"\x00\xff",
            "s": frozenset({"b", "a"}),
            "ns": frozenset({Decimal(2), Decimal(1)}),
        }
    ) == (
        '{"i":10,"e":100,"f":3.5,"x":0.1,"big":"12345678901234567890.25","b":"AP8=","s":["a","b"],"ns":[1,2]}'
    )
