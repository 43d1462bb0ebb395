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

    def __init_subclass__(cls, status: int = 400, **kwargs: Any) -> None:
        """A subclass is one AWS error type: its name is the code (``class X(AwsError,
        status=500)``)."""
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:  # a class body may still say it (and its status) itself
            cls.code = cls.__name__
        if "status" not in cls.__dict__:
            cls.status = status


# Errors shared by the services (the HTTP layer qualifies them with the service namespace).
class ValidationException(AwsError):
    pass


class SerializationException(AwsError):
    pass


class UnknownOperationException(AwsError):
    pass


class ResourceNotFoundException(AwsError):
    pass


class ResourceInUseException(AwsError):
    pass


class LimitExceededException(AwsError):
    pass


class InternalServerError(AwsError, status=500):
    pass


# DynamoDB
class ConditionalCheckFailedException(AwsError):
    pass


class TransactionCanceledException(AwsError):
    pass


class TransactionConflictException(AwsError):
    pass


class TransactionInProgressException(AwsError):
    pass


class IdempotentParameterMismatchException(AwsError):
    pass


class ItemCollectionSizeLimitExceededException(AwsError):
    pass


class ProvisionedThroughputExceededException(AwsError):
    pass


class TableNotFoundException(AwsError):
    pass


# Kinesis
class InvalidArgumentException(AwsError):
    pass


class ExpiredIteratorException(AwsError):
    pass


class ExpiredNextTokenException(AwsError):
    pass


class KMSDisabledException(AwsError):
    pass


# Auth (raised by the HTTP layer, shaped like other errors)
class MissingAuthenticationTokenException(AwsError, status=403):
    pass


class UnrecognizedClientException(AwsError):
    pass


class InvalidSignatureException(AwsError):
    pass


class AccessDeniedException(AwsError):
    pass
