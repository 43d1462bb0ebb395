"""AWS JSON-protocol plumbing driven by botocore's service models (read as data, never imported).

Services: ``"dynamodb"``, ``"kinesis"``, ``"dynamodbstreams"``, ``"lambda"`` (botocore's
directory names; Lambda is REST-JSON, routed by :mod:`tidestream.http.restjson`).

Public API
----------
``load_model(service) -> dict``
    The newest botocore ``service-2.json`` for the service, parsed with orjson and cached per
    process. Raises ``KeyError`` for an unknown service. Treat the result as read-only.

``operation_names(service) -> frozenset[str]``
    The operation names, e.g. ``{"PutItem", "GetItem", ...}``.

``has_operation(service, operation) -> bool``
    Whether the service defines the operation (for the HTTP layer's ``X-Amz-Target`` dispatch).

``target_prefix(service) -> str``
    The ``X-Amz-Target`` prefix, e.g. ``"DynamoDB_20120810"``, ``"Kinesis_20131202"``,
    ``"DynamoDBStreams_20120810"``.

``validator(service, operation, cbor=False) -> Callable[[dict | None], dict]``
    The operation's compiled input validator (compiled on first use, then cached). Call it with
    the decoded request body; ``None`` counts as ``{}``. It returns the same dict with values
    converted in place, or raises:

    * ``tidestream.errors.SerializationException`` for a value of the wrong JSON type or an
      invalid base64 blob (first one found; the texts follow the real services, whose DynamoDB
      and Kinesis front ends word them differently);
    * ``tidestream.errors.ValidationException`` for constraint violations (required members,
      min/max length, min/max value, enum, pattern), AWS-style:
      ``"2 validation errors detected: Value null at 'tableName' failed to satisfy constraint:
      Member must not be null; ..."`` (at most ten listed, in model member order);
    * ``tidestream.errors.UnknownOperationException`` (from ``validator`` itself) if the
      operation does not exist.

    Conversions: blobs -> ``bytes`` (base64-decoded in JSON mode; CBOR byte strings kept),
    timestamps -> ``float`` epoch seconds (JSON numbers are seconds; with ``cbor=True`` numbers
    and tag-1 values are epoch milliseconds, ``datetime`` objects are accepted), integral members
    sent as decimals -> truncated ``int``, doubles sent as integers -> ``float``. Unknown members
    are left alone; JSON ``null`` members count as absent. Inside DynamoDB ``AttributeValue``
    only types are checked (and ``B``/``BS`` decoded); item rules belong to the DynamoDB layer.

``validate(service, operation, params, cbor=False) -> dict``
    Shorthand for ``validator(service, operation, cbor)(params)``.
"""

from __future__ import annotations

from tidestream.protocol.models import (
    SERVICES,
    load_model,
    operation_model,
    operation_names,
    target_prefix,
)
from tidestream.protocol.validation import MAX_ERRORS, validate, validator


def has_operation(service: str, operation: str) -> bool:
    """Whether *service* defines *operation*."""
    return operation in load_model(service)["operations"]


__all__ = [
    "MAX_ERRORS",
    "SERVICES",
    "has_operation",
    "load_model",
    "operation_model",
    "operation_names",
    "target_prefix",
    "validate",
    "validator",
]
