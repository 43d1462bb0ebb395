"""The Kinesis-for-DynamoDB record renderer, against facts recorded from real AWS."""

from __future__ import annotations

import base64
import json

from tidestream.cdc.records import TTL_IDENTITY, partition_key, render, size_bytes


def _render(**kw):
    base = dict(
        region="us-east-1",
        event_id="e",
        table_name="t",
        keys={"id": {"S": "test"}},
        old=None,
        new={"id": {"S": "test"}},
        timestamp=1731924555370,
        by_ttl=False,
        microseconds=False,
    )
    base.update(kw)
    return render(**base)


def test_field_order_and_compact_json():
    data = _render()
    assert data == (
        b'{"awsRegion":"us-east-1","eventID":"e","eventName":"INSERT","userIdentity":null,'
        b'"recordFormat":"application/json","tableName":"t","dynamodb":{"ApproximateCreationDateTime":'
        b'1731924555370,"Keys":{"id":{"S":"test"}},"NewImage":{"id":{"S":"test"}},"SizeBytes":12},'
        b'"eventSource":"aws:dynamodb"}'
    )


def test_size_bytes_matches_recorded_aws_records():
    # LocalStack's AWS snapshot: {"id": "test"} INSERT -> 12
    assert size_bytes({"id": {"S": "test"}}, {"id": {"S": "test"}}, None) == 12
    # the reference's worked INSERT example (binary counted raw, 42.5 as 3 bytes): 9 + 38 = 47
    keys = {"pk": {"S": "order#1"}}
    img = {
        "pk": {"S": "order#1"},
        "status": {"S": "NEW"},
        "total": {"N": "42.5"},
        "paid": {"BOOL": False},
        "blob": {"B": b"\x01\x02\x03"},
    }
    assert size_bytes(keys, img, None) == 47
    # MODIFY and REMOVE count both images / the old one
    assert size_bytes(keys, img, img) == 9 + 38 + 38
    assert size_bytes(keys, None, img) == 47


def test_binary_is_base64_twice():
    data = _render(
        new={
            "id": {"S": "test"},
            "b": {"B": bytes([18, 2, 8, 123])},
            "bs": {"BS": [b"\x01"]},
            "m": {"M": {"inner": {"B": b"\x00"}}},
            "l": {"L": [{"B": b"\xff"}]},
        }
    )
    rec = json.loads(data)
    img = rec["dynamodb"]["NewImage"]
    assert img["b"] == {"B": "RWdJSWV3PT0="}  # the value AWS wrote for raw bytes 12 02 08 7b
    assert base64.b64decode(base64.b64decode(img["bs"]["BS"][0])) == b"\x01"
    assert base64.b64decode(base64.b64decode(img["m"]["M"]["inner"]["B"])) == b"\x00"
    assert base64.b64decode(base64.b64decode(img["l"]["L"][0]["B"])) == b"\xff"


def test_non_ascii_is_raw_utf8():
    data = _render(new={"id": {"S": "test"}, "k": {"S": "버스"}})
    assert "버스".encode() in data and b"\\u" not in data


def test_event_names_and_ttl_identity():
    item = {"id": {"S": "test"}}
    for old, new, name, images in (
        (None, item, "INSERT", ["NewImage"]),
        (item, item, "MODIFY", ["NewImage", "OldImage"]),
        (item, None, "REMOVE", ["OldImage"]),
    ):
        rec = json.loads(_render(old=old, new=new))
        assert rec["eventName"] == name
        assert list(rec["dynamodb"]) == ["ApproximateCreationDateTime", "Keys", *images, "SizeBytes"]
    rec = json.loads(_render(old={"id": {"S": "test"}}, new=None, by_ttl=True))
    assert rec["eventName"] == "REMOVE" and rec["userIdentity"] == TTL_IDENTITY
    assert "NewImage" not in rec["dynamodb"] and "OldImage" in rec["dynamodb"]


def test_microsecond_precision_field_trails_size():
    data = _render(timestamp=1720740233012995, microseconds=True)
    assert data.endswith(
        b'"SizeBytes":12,"ApproximateCreationDateTimePrecision":"MICROSECOND"},"eventSource":"aws:dynamodb"}'
    )


def test_partition_key_is_32_upper_hex_and_stable():
    a = partition_key("tid", b"\x01key")
    assert a == partition_key("tid", b"\x01key") and len(a) == 32 and a == a.upper()
    assert a != partition_key("tid", b"\x01other") and a != partition_key("tid2", b"\x01key")


def test_outbox_entries_of_earlier_releases_are_rendered_on_load():
    """Before 2026-11-30 the outbox held the change itself (one-letter keys, both images); such
    entries, left by a crash, are rendered when read back and publish the same record."""
    import cbor2

    from tidestream.cdc.publisher import entry_from_disk

    keys, new = {"id": {"S": "a"}}, {"id": {"S": "a"}, "b": {"B": b"\x00\xff"}}
    legacy = {
        "a": "123456789012",
        "r": "eu-west-1",
        "n": "orders",
        "tid": "table-id",
        "k": b"\x01key",
        "keys": keys,
        "old": None,
        "new": new,
        "ts": 1731924555370123,
        "us": True,
        "ttl": False,
        "id": "event-1",
        "d": "arn:aws:kinesis:eu-west-1:123456789012:stream/s",
        "at": 1700000000.5,
        "sz": 20,
    }
    entry = entry_from_disk(cbor2.dumps(legacy))
    assert entry["Data"] == render(
        region="eu-west-1",
        event_id="event-1",
        table_name="orders",
        keys=keys,
        old=None,
        new=new,
        timestamp=1731924555370123,
        by_ttl=False,
        microseconds=True,
        size=20,
    )
    assert entry["PartitionKey"] == partition_key("table-id", b"\x01key")
    assert (
        entry["destination"],
        entry["account"],
        entry["region"],
        entry["table"],
        entry["captured_at"],
    ) == (legacy["d"], "123456789012", "eu-west-1", "orders", 1700000000.5)


_FIELDS = {
    "destination": "arn:aws:kinesis:eu-west-1:123456789012:stream/s",
    "account": "123456789012",
    "region": "eu-west-1",
    "table": "orders",
    "PartitionKey": "0077D4FE61B31BE823B64CB394E9182D",
    "captured_at": 1700000000.5,
}


def test_outbox_entries_of_the_rendered_cbor_release_load_as_today():
    """The release before this layout held the rendered record in CBOR with snake_case fields;
    a crash may have left some in the outbox."""
    import cbor2

    from tidestream.cdc.publisher import entry_from_disk

    data = _render(new={"id": {"S": "line\nbreak"}})
    stored = {k: v for k, v in _FIELDS.items() if k != "PartitionKey"}
    stored.update(partition_key=_FIELDS["PartitionKey"], data=data)
    assert entry_from_disk(cbor2.dumps(stored)) == {**_FIELDS, "Data": data}


def test_outbox_value_reads_back_whole():
    """Today's layout (one JSON line, then Data): newlines inside the record or the fields
    don't cut it short."""
    from tidestream.cdc.capture import outbox_value
    from tidestream.cdc.publisher import entry_from_disk

    data = _render(new={"id": {"S": "line\nbreak"}, "b": {"B": b"\n\n"}})
    fields = {**_FIELDS, "table": "odd\ntable"}
    assert entry_from_disk(outbox_value(fields, data)) == {**fields, "Data": data}


def _dict_form(region, event_id, table_name, keys, old, new, timestamp, by_ttl, microseconds):
    """The record as the renderer built it before templates (one orjson pass over dicts):
    the reference the per-table template must match byte for byte."""
    import orjson

    from tidestream.cdc.records import _binary_twice

    dynamodb = {"ApproximateCreationDateTime": timestamp, "Keys": keys}
    if new is not None:
        dynamodb["NewImage"] = new
    if old is not None:
        dynamodb["OldImage"] = old
    dynamodb["SizeBytes"] = size_bytes(keys, new, old)
    if microseconds:
        dynamodb["ApproximateCreationDateTimePrecision"] = "MICROSECOND"
    name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    record = {
        "awsRegion": region,
        "eventID": event_id,
        "eventName": name,
        "userIdentity": TTL_IDENTITY if by_ttl else None,
        "recordFormat": "application/json",
        "tableName": table_name,
        "dynamodb": dynamodb,
        "eventSource": "aws:dynamodb",
    }
    return orjson.dumps(record, default=_binary_twice)


def test_template_render_matches_the_dict_form_for_every_shape():
    """Every event type, TTL or not, both precisions, binaries, non-ASCII text, a name with
    a "%" (the template's own format character, escaped) and placeholder-like text in values."""
    keys = {"pk": {"S": "p%s"}, "sk": {"N": "-1.5"}}
    old = {**keys, "b": {"B": b"\x00%d\xff"}, "t": {"S": "버스 @TS@ %%"}, "l": {"L": [{"BS": [b"\x01"]}]}}
    new = {**keys, "m": {"M": {"inner": {"S": '"@KEYS@"'}}}, "n": {"NS": ["1", "2"]}}
    for before, after in ((None, new), (old, new), (old, None)):
        for by_ttl in (False, True):
            for micro in (False, True):
                args = ("eu-west-1", "e-1", "odd%table", keys, before, after, 1731924555370123, by_ttl, micro)
                rendered = render(
                    region=args[0],
                    event_id=args[1],
                    table_name=args[2],
                    keys=keys,
                    old=before,
                    new=after,
                    timestamp=args[6],
                    by_ttl=by_ttl,
                    microseconds=micro,
                )
                assert rendered == _dict_form(*args)
                assert json.loads(rendered)["tableName"] == "odd%table"
