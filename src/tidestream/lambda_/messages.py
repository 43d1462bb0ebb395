"""Lambda's errors and the texts AWS answers with (service code raises these; HTTP renders them)."""

from __future__ import annotations

from ..errors import AwsError


def _error(name: str, status: int) -> type[AwsError]:
    return type(name, (AwsError,), {"code": name, "status": status})


InvalidParameterValueException = _error("InvalidParameterValueException", 400)
ResourceNotFoundException = _error("ResourceNotFoundException", 404)
ResourceConflictException = _error("ResourceConflictException", 409)
TooManyRequestsException = _error("TooManyRequestsException", 429)
#: what AWS answers an oversized Invoke payload with (not the model's RequestTooLargeException)
RequestEntityTooLargeException = _error("RequestEntityTooLargeException", 413)
InvalidRequestContentException = _error("InvalidRequestContentException", 400)
InvalidRuntimeException = _error("InvalidRuntimeException", 502)
ServiceException = _error("ServiceException", 500)


def function_not_found(arn: str) -> AwsError:
    return ResourceNotFoundException(f"Function not found: {arn}")


def already_exists(name: str) -> AwsError:
    return ResourceConflictException(f"Function already exist: {name}")  # sic, as AWS says it


def pending(state: str) -> AwsError:
    return ResourceConflictException(
        "The operation cannot be performed at this time. The "
        f"function is currently in the following state: {state}"
    )


def update_in_progress(arn: str) -> AwsError:
    return ResourceConflictException(
        f"The operation cannot be performed at this time. An update is in progress for resource: {arn}"
    )
