"""Lambda's errors and the texts AWS answers with (service code raises these; HTTP renders them)."""

from __future__ import annotations

from ..errors import AwsError


class InvalidParameterValueException(AwsError):
    pass


class ResourceNotFoundException(AwsError, status=404):
    pass


class ResourceConflictException(AwsError, status=409):
    pass


class TooManyRequestsException(AwsError, status=429):
    pass


#: what AWS answers an oversized Invoke payload with (not the model's RequestTooLargeException)
class RequestEntityTooLargeException(AwsError, status=413):
    pass


class InvalidRequestContentException(AwsError):
    pass


class InvalidRuntimeException(AwsError, status=502):
    pass


class ServiceException(AwsError, status=500):
    pass


def function_not_found(arn: str) -> AwsError:
    return ResourceNotFoundException(f"Function not found: {arn}")


def unreachable_region(arn_region: str, region: str) -> AwsError:
    """A function ARN of another region (AWS does not reach across regions)."""
    return ResourceNotFoundException(
        f"Functions from '{arn_region}' are not reachable in this region ('{region}')"
    )


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
