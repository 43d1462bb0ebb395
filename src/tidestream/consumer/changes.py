"""One typed :class:`Change` for both change feeds of a DynamoDB table.

A consumer should not care whether a change came through the table's Kinesis destination
("Kinesis Data Streams for DynamoDB": JSON Data, binaries base64-encoded twice, timestamps in
epoch ms or µs) or through its DynamoDB stream (the ``Record`` shape boto3 returns: binaries
already bytes, a datetime rounded to the second). Both decode here into the same value, with
plain Python attribute values: numbers as :class:`~decimal.Decimal`, ``B`` as bytes, sets as
frozensets, ``L`` as list, ``M`` as dict, ``NULL`` as None, ``BOOL`` as bool.

The decoder is ours rather than boto3's ``TypeDeserializer`` because boto3 is not a runtime
dependency of tidestream, the Kinesis format needs a second base64 layer undone, and the
deserializer returns mutable ``set`` and ``Binary`` wrappers rather than bytes.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from ..arns import parse_arn

KINESIS = "kinesis"
DYNAMODB_STREAMS = "dynamodb-streams"
EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")
TTL_PRINCIPAL = "dynamodb.amazonaws.com"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = datetime.resolution


class NotAChange(ValueError):
    """The record is not a DynamoDB change record (or is damaged); the message says why."""


@dataclass(frozen=True)
class UserIdentity:
    """Who made the change: AWS sets it only for TTL deletions (type Service)."""

    type: str
    principal_id: str


@dataclass(frozen=True)
class Change:
    """One item-level change of a DynamoDB table, whichever feed delivered it."""

    event_name: str
    table_name: str | None  # DynamoDB Streams records do not carry it; pass it when decoding
    region: str
    event_id: str
    keys: dict[str, Any]
    new_image: dict[str, Any] | None
    old_image: dict[str, Any] | None
    approximate_creation: datetime  # timezone-aware, UTC
    precision: str  # MICROSECOND | MILLISECOND (Kinesis) | SECOND (DynamoDB Streams)
    size_bytes: int
    user_identity: UserIdentity | None
    source: str  # KINESIS | DYNAMODB_STREAMS
    sequence_number: str | None
    sub_sequence_number: int | None = None  # set when the record came out of a KPL aggregate

    @property
    def is_ttl_expiry(self) -> bool:
        """A REMOVE made by DynamoDB's TTL sweeper rather than by a caller."""
        identity = self.user_identity
        return identity is not None and identity.type == "Service" and identity.principal_id == TTL_PRINCIPAL

    @property
    def item_key(self) -> tuple:
        """Hashable identity of the changed item (table name + primary key values)."""
        return (self.table_name, tuple(sorted(self.keys.items())))

    @property
    def order_key(self) -> tuple[int, int]:
        """Sorts one item's changes oldest first; equal keys mean the same change.

        Kinesis: the creation time in µs (tidestream keeps it strictly increasing per item, as
        AWS advises consumers to rely on). DynamoDB Streams times are whole seconds, so the
        stream's sequence number breaks ties there."""
        micros = (self.approximate_creation - _EPOCH) // _MICROSECOND
        tiebreak = (
            int(self.sequence_number) if self.source == DYNAMODB_STREAMS and self.sequence_number else 0
        )
        return (micros, tiebreak)


def _b64(text: Any) -> bytes:
    if isinstance(text, (bytes, bytearray)):
        return bytes(text)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, TypeError, ValueError) as err:
        raise NotAChange(f"binary value is not base64: {text!r:.60}") from err


def _b64_twice(text: Any) -> bytes:
    if not isinstance(text, str):
        raise NotAChange(f"binary value is not base64 text: {text!r:.60}")
    return _b64(_b64(text).decode("ascii", "replace"))


def _number(text: Any) -> Decimal:
    try:
        return Decimal(text)
    except (InvalidOperation, TypeError, ValueError) as err:
        raise NotAChange(f"N value is not a number: {text!r:.60}") from err


# how each attribute type becomes a plain value; binary is the caller's B decoding
_PLAIN_BY_TYPE: dict[str, Callable[[Any, Callable[[Any], bytes]], Any]] = {
    "S": lambda v, binary: v,
    "N": lambda v, binary: _number(v),
    "B": lambda v, binary: binary(v),
    "BOOL": lambda v, binary: bool(v),
    "NULL": lambda v, binary: None,
    "SS": lambda v, binary: frozenset(v),
    "NS": lambda v, binary: frozenset(_number(x) for x in v),
    "BS": lambda v, binary: frozenset(binary(x) for x in v),
    "L": lambda v, binary: [plain_value(x, binary) for x in v],
    "M": lambda v, binary: plain_image(v, binary),
}


def plain_value(av: Mapping[str, Any], binary: Callable[[Any], bytes] = _b64) -> Any:
    """A DynamoDB JSON attribute value as a plain Python value (``binary`` undoes B's encoding)."""
    if not isinstance(av, Mapping) or len(av) != 1:
        raise NotAChange(f"not an attribute value: {av!r:.80}")
    ((kind, v),) = av.items()
    convert = _PLAIN_BY_TYPE.get(kind)
    if convert is None:
        raise NotAChange(f"unknown attribute type {kind!r}")
    return convert(v, binary)


def plain_image(image: Mapping[str, Any], binary: Callable[[Any], bytes] = _b64) -> dict[str, Any]:
    """A DynamoDB JSON item (``{"name": {"S": "..."}}``) as ``{"name": "..."}``."""
    if not isinstance(image, Mapping):
        raise NotAChange(f"not an item: {image!r:.80}")
    return {name: plain_value(av, binary) for name, av in image.items()}


def _optional_image(body: Mapping[str, Any], field: str, binary: Callable[[Any], bytes]) -> dict | None:
    image = body.get(field)
    return None if image is None else plain_image(image, binary)


def _identity(raw: Any) -> UserIdentity | None:
    """Kinesis records spell it ``type``/``principalId``, the DynamoDB Streams API ``Type``/``PrincipalId``."""
    if not raw:
        return None
    return UserIdentity(
        type=raw.get("type", raw.get("Type", "")),
        principal_id=raw.get("principalId", raw.get("PrincipalId", "")),
    )


def _kinesis_time(value: Any, precision: str | None) -> tuple[datetime, str]:
    if not isinstance(value, int) or isinstance(value, bool):
        raise NotAChange(f"ApproximateCreationDateTime is not an integer: {value!r:.40}")
    if precision == "MICROSECOND":
        return _EPOCH + value * _MICROSECOND, "MICROSECOND"
    return _EPOCH + value * 1000 * _MICROSECOND, "MILLISECOND"


def _stream_time(value: Any) -> datetime:
    """boto3 gives a datetime (local zone); raw JSON gives epoch seconds."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    raise NotAChange(f"ApproximateCreationDateTime is not a time: {value!r:.40}")


def _event_name(record: Mapping[str, Any]) -> str:
    name = record.get("eventName")
    if name not in EVENT_NAMES:
        raise NotAChange(f"eventName is {name!r}, not INSERT, MODIFY or REMOVE")
    return name


def _body(record: Mapping[str, Any]) -> Mapping[str, Any]:
    body = record.get("dynamodb")
    if not isinstance(body, Mapping) or "Keys" not in body:
        raise NotAChange("record has no dynamodb.Keys")
    return body


def _kinesis_payload(record: bytes | bytearray | memoryview | Mapping[str, Any]) -> tuple[Any, Mapping]:
    """(parsed Data JSON, the Kinesis record envelope or {})."""
    envelope: Mapping[str, Any] = {}
    data: Any = record
    if isinstance(record, Mapping):
        envelope, data = record, record.get("Data")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise NotAChange("Kinesis record has no Data bytes")
    try:
        return orjson.loads(data), envelope
    except orjson.JSONDecodeError as err:
        raise NotAChange(f"Data is not JSON: {bytes(data[:40])!r}") from err


def decode_kinesis_record(record: bytes | bytearray | memoryview | Mapping[str, Any]) -> Change:
    """A Kinesis Data Streams for DynamoDB record: the Data bytes, or a boto3 GetRecords record
    (then ``SequenceNumber`` and a KPL ``SubSequenceNumber`` are kept). Raises NotAChange."""
    payload, envelope = _kinesis_payload(record)
    if not isinstance(payload, dict) or payload.get("eventSource") != "aws:dynamodb":
        raise NotAChange("Data is not a DynamoDB change record (eventSource is not aws:dynamodb)")
    name, body = _event_name(payload), _body(payload)
    created, precision = _kinesis_time(
        body.get("ApproximateCreationDateTime"), body.get("ApproximateCreationDateTimePrecision")
    )
    return Change(
        event_name=name,
        table_name=payload.get("tableName"),
        region=payload.get("awsRegion", ""),
        event_id=payload.get("eventID", ""),
        keys=plain_image(body["Keys"], _b64_twice),
        new_image=_optional_image(body, "NewImage", _b64_twice),
        old_image=_optional_image(body, "OldImage", _b64_twice),
        approximate_creation=created,
        precision=precision,
        size_bytes=int(body.get("SizeBytes", 0)),
        user_identity=_identity(payload.get("userIdentity")),
        source=KINESIS,
        sequence_number=envelope.get("SequenceNumber"),
        sub_sequence_number=envelope.get("SubSequenceNumber"),
    )


def decode_stream_record(record: Mapping[str, Any], table_name: str | None = None) -> Change:
    """A DynamoDB Streams record as boto3's ``get_records`` returns it (binaries already bytes;
    base64 text is accepted too, as in raw JSON). The record does not name its table: pass
    ``table_name`` (e.g. from the stream ARN) so :attr:`Change.item_key` tells tables apart."""
    if not isinstance(record, Mapping) or record.get("eventSource") != "aws:dynamodb":
        raise NotAChange("not a DynamoDB Streams record (eventSource is not aws:dynamodb)")
    name, body = _event_name(record), _body(record)
    return Change(
        event_name=name,
        table_name=table_name,
        region=record.get("awsRegion", ""),
        event_id=record.get("eventID", ""),
        keys=plain_image(body["Keys"]),
        new_image=_optional_image(body, "NewImage", _b64),
        old_image=_optional_image(body, "OldImage", _b64),
        approximate_creation=_stream_time(body.get("ApproximateCreationDateTime")),
        precision="SECOND",
        size_bytes=int(body.get("SizeBytes", 0)),
        user_identity=_identity(record.get("userIdentity")),
        source=DYNAMODB_STREAMS,
        sequence_number=body.get("SequenceNumber"),
    )


def table_from_stream_arn(arn: str) -> str | None:
    """``arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>`` -> ``<name>``."""
    parsed = parse_arn(arn)
    if parsed is None or parsed.resource_type != "table":
        return None
    name, sep, _ = parsed.resource.partition("/stream/")
    return name if sep else None
