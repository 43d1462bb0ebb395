"""The event-stream encoder against botocore's own decoder (the client-side oracle)."""

from __future__ import annotations

import json

import pytest
from botocore.eventstream import EventStreamBuffer

from tidestream.http import eventstream


def decode(data: bytes, split: int | None = None) -> list:
    buf = EventStreamBuffer()
    if split is None:
        buf.add_data(data)
        return list(buf)
    out = []
    for i in range(0, len(data), split):  # arrives in arbitrary pieces, as on the wire
        buf.add_data(data[i : i + split])
        out.extend(buf)
    return out


def test_event_round_trip():
    payload = json.dumps({"Records": [], "MillisBehindLatest": 0}).encode()
    msg = eventstream.event("SubscribeToShardEvent", payload)
    (m,) = decode(msg)
    assert m.headers == {
        ":event-type": "SubscribeToShardEvent",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    assert m.payload == payload
    assert m.to_response_dict()["status_code"] == 200


@pytest.mark.parametrize("split", [1, 7, 64])
def test_many_messages_in_pieces(split):
    msgs = [eventstream.event("initial-response", b"{}")]
    msgs += [
        eventstream.event("SubscribeToShardEvent", bytes(range(256)) * i, eventstream.CBOR) for i in range(5)
    ]
    got = decode(b"".join(msgs), split)
    assert [m.headers[":event-type"] for m in got] == ["initial-response"] + ["SubscribeToShardEvent"] * 5
    assert [m.payload for m in got[1:]] == [bytes(range(256)) * i for i in range(5)]
    assert got[1].headers[":content-type"] == "application/x-amz-cbor-1.1"


def test_exception_and_error():
    (m,) = decode(eventstream.exception("ResourceInUseException", b'{"message":"busy"}'))
    d = m.to_response_dict()
    assert d["status_code"] == 400 and m.headers[":exception-type"] == "ResourceInUseException"
    (m,) = decode(eventstream.error("InternalFailure", "boom"))
    d = m.to_response_dict()
    assert d["status_code"] == 400
    assert m.headers[":error-code"] == "InternalFailure" and m.headers[":error-message"] == "boom"


def test_empty_payload_and_unicode_headers():
    (m,) = decode(eventstream.encode({"x-ü": "wert ✓"}))
    assert m.headers == {"x-ü": "wert ✓"} and m.payload == b""


def test_corruption_is_detected():
    from botocore.eventstream import ChecksumMismatch

    msg = bytearray(eventstream.event("SubscribeToShardEvent", b"payload"))
    msg[-6] ^= 0xFF
    with pytest.raises(ChecksumMismatch):
        decode(bytes(msg))


def test_botocore_parses_a_subscribe_event():
    """The full botocore path: the kinesis model's event-stream parser reads our messages."""
    import botocore.session
    from botocore.eventstream import EventStream
    from botocore.parsers import EventStreamJSONParser

    model = botocore.session.get_session().get_service_model("kinesis")
    shape = model.operation_model("SubscribeToShard").output_shape.members["EventStream"]
    body = {
        "Records": [
            {
                "SequenceNumber": "1",
                "Data": "aGk=",
                "PartitionKey": "p",
                "ApproximateArrivalTimestamp": 1700000000.5,
            }
        ],
        "ContinuationSequenceNumber": "1",
        "MillisBehindLatest": 3,
    }
    raw = eventstream.event("initial-response", b"{}") + eventstream.event(
        "SubscribeToShardEvent", json.dumps(body).encode()
    )

    class Raw:
        def stream(self):
            yield raw

        def close(self):
            pass

    stream = EventStream(Raw(), shape, EventStreamJSONParser(), "SubscribeToShard")
    assert stream.get_initial_response().payload == b"{}"
    (ev,) = list(stream)
    rec = ev["SubscribeToShardEvent"]["Records"][0]
    assert rec["Data"] == b"hi" and rec["ApproximateArrivalTimestamp"].timestamp() == 1700000000.5
