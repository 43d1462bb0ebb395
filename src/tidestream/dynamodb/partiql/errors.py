"""PartiQL error messages (DynamoDB's wording) and the errors only PartiQL raises."""

from __future__ import annotations

from ...errors import AwsError, ValidationException

NOT_WELL_FORMED = "Statement wasn't well formed, can't be processed: "
MSG_INCOMPLETE_KEY = "Where clause does not contain a mandatory equality on all key attributes"
MSG_DUPLICATE_ITEM = "Duplicate primary key exists in table"
MSG_PARAMETER_COUNT = "Number of parameters in request and statement don't match."
MSG_ALIASING = "Aliasing is not supported"
MSG_EMPTY_BAG = "Empty bags are not supported"
MSG_BAG_TYPES = "Unsupported data type in Bag. DynamoDB only supports either numbers or strings in bags"
MSG_STAR_AND_OTHERS = "Other attributes should not be present in the projection when '*' is used."
MSG_CONSISTENT_GSI = "Strongly consistent read is not supported on Global Secondary Indexes"
MSG_EXISTS_ONLY_IN_TX = "EXISTS can only be used in ExecuteTransaction write requests."
MSG_INVALID_NEXT_TOKEN = "Invalid NextToken"
MSG_BAD_START = "The provided starting key is invalid"
MSG_BATCH_SELECT_KEY = (
    "Select statements within BatchExecuteStatement must specify the primary key in the where clause."
)
MSG_TX_SELECT_KEY = (
    "Select statements within ExecuteTransaction must specify the primary key in the where clause."
)
MSG_TX_RETURNING = "RETURNING clause is not supported in ExecuteTransaction."
MSG_TX_INDEX = "Reads on indices are not supported within transactions."
MSG_TX_EXISTS = "EXISTS() must contain a single item read with additional condition"
MSG_INDEX_WRITE = "This operation is not supported on an index"
MSG_MISSING_COMPARE = "MISSING must be compared using IS operator"
MSG_RETURNING_INSERT = "RETURNING is not supported in INSERT"
MSG_LIST_INDEX_FIRST = "A path cannot start with a list index"
#: paritysuite dynamodb-conformance tier3/error-messages/partiqlMultiAttributeIndex (eu-west-2 and
#: us-east-1, 2026-10): PartiQL reads no index with more than one HASH or RANGE attribute
MSG_MULTI_ATTRIBUTE_INDEX = (
    "PartiQL statements cannot be executed on tables with multi-attribute HASH keys or "
    "multi-attribute RANGE keys."
)


MSG_KEY_MISMATCH = "The provided key element does not match the schema"


class KeyFault(ValidationException):
    """A statement that does not name one item by its key. ExecuteStatement answers its message;
    a transaction cancels with ``in_transaction`` as that statement's reason (Floci's
    cancelsATransactionWhoseWriteDoesNotNameOneItem, captured from DynamoDB, eu-west-2,
    2026-09-17)."""

    code = "ValidationException"

    def __init__(self, message: str, in_transaction: str = MSG_KEY_MISMATCH) -> None:
        super().__init__(message)
        self.in_transaction = in_transaction


def not_well_formed(detail: str) -> ValidationException:
    return ValidationException(NOT_WELL_FORMED + detail)


def validation(message: str) -> ValidationException:
    return ValidationException(message)


class DuplicateItemException(AwsError):
    code = "DuplicateItemException"
    status = 400
