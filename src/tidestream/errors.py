"""Service errors as plain data.

Service code raises these; the HTTP layer turns them into AWS's error envelope. They carry the
AWS error code (``__type`` suffix), the message and the HTTP status AWS uses for it, so no layer
below HTTP needs to know how errors are written on the wire.
"""

from __future__ import annotations

from typing import Any


class AwsError(Exception):
    """An error AWS would return. ``code`` is the short type name, e.g. ``ValidationException``."""

    code: str = "InternalFailure"
    status: int = 400
    #: namespace prefix for the ``__type`` field; the HTTP layer picks the service's default
    namespace: str | None = None

    def __init__(
        self,
        message: str = "",
        code: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        #: extra top-level members of the error body (e.g. CancellationReasons, Item)
        self.extra = extra or {}


def _error(name: str, status: int = 400, namespace: str | None = None) -> type[AwsError]:
    return type(name, (AwsError,), {"code": name, "status": status, "namespace": namespace})


# Errors shared by the services (the HTTP layer qualifies them with the service namespace).
ValidationException = _error("ValidationException")
SerializationException = _error("SerializationException")
UnknownOperationException = _error("UnknownOperationException")
ResourceNotFoundException = _error("ResourceNotFoundException")
ResourceInUseException = _error("ResourceInUseException")
LimitExceededException = _error("LimitExceededException")
InternalServerError = _error("InternalServerError", 500)
# DynamoDB
ConditionalCheckFailedException = _error("ConditionalCheckFailedException")
TransactionCanceledException = _error("TransactionCanceledException")
TransactionConflictException = _error("TransactionConflictException")
TransactionInProgressException = _error("TransactionInProgressException")
IdempotentParameterMismatchException = _error("IdempotentParameterMismatchException")
ItemCollectionSizeLimitExceededException = _error("ItemCollectionSizeLimitExceededException")
ProvisionedThroughputExceededException = _error("ProvisionedThroughputExceededException")
TableNotFoundException = _error("TableNotFoundException")
# Kinesis
InvalidArgumentException = _error("InvalidArgumentException")
ExpiredIteratorException = _error("ExpiredIteratorException")
ExpiredNextTokenException = _error("ExpiredNextTokenException")
KMSDisabledException = _error("KMSDisabledException")
# Auth (raised by the HTTP layer, shaped like other errors)
MissingAuthenticationTokenException = _error("MissingAuthenticationTokenException", 403)
UnrecognizedClientException = _error("UnrecognizedClientException", 400)
InvalidSignatureException = _error("InvalidSignatureException", 400)
AccessDeniedException = _error("AccessDeniedException", 400)
