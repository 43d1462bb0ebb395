"""CreateFunction, GetFunction, GetFunctionConfiguration, ListFunctions, UpdateFunctionCode,
UpdateFunctionConfiguration, DeleteFunction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from ...context import RequestContext
from ...errors import AwsError, ValidationException
from ...ids import uuid4_text
from ...protocol import load_model
from ..functions import Function, check_package, configuration, parse_name, requested_qualifier
from ..messages import InvalidParameterValueException, already_exists, pending, update_in_progress
from ..state import LambdaState
from . import REGISTRY

if TYPE_CHECKING:
    from ...protocol.shapes.lambda_ import (
        CreateFunctionRequest,
        DeleteFunctionRequest,
        GetFunctionConfigurationRequest,
        GetFunctionRequest,
        ListFunctionsRequest,
        UpdateFunctionCodeRequest,
        UpdateFunctionConfigurationRequest,
    )


operation = REGISTRY.operation

#: runtimes AWS no longer lets anyone create or update functions with, and what it recommends
DEPRECATED_RUNTIMES = {
    "nodejs": "nodejs22.x",
    "nodejs4.3": "nodejs22.x",
    "nodejs4.3-edge": "nodejs22.x",
    "nodejs6.10": "nodejs22.x",
    "nodejs8.10": "nodejs22.x",
    "nodejs10.x": "nodejs22.x",
    "nodejs12.x": "nodejs22.x",
    "nodejs14.x": "nodejs22.x",
    "nodejs16.x": "nodejs22.x",
    "java8": "java21",
    "python2.7": "python3.13",
    "python3.6": "python3.13",
    "python3.7": "python3.13",
    "python3.8": "python3.13",
    "dotnetcore1.0": "dotnet8",
    "dotnetcore2.0": "dotnet8",
    "dotnetcore2.1": "dotnet8",
    "dotnetcore3.1": "dotnet8",
    "dotnet6": "dotnet8",
    "go1.x": "provided.al2023",
    "ruby2.5": "ruby3.3",
    "ruby2.7": "ruby3.3",
    "provided": "provided.al2023",
}
#: environment variables Lambda sets itself and refuses in a function's Environment
RESERVED_VARIABLES = (
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
)
#: AWS's limit on a function's environment variables (keys and values, as JSON)
MAX_ENVIRONMENT_BYTES = 4096
#: ListFunctions answers at most this many, whatever MaxItems says
MAX_LIST_ITEMS = 50
#: a function's name (the model's 140 leaves room for an ARN around it)
MAX_NAME_LENGTH = 64
#: AWS's quotas that the model no longer carries (it allows more for Lambda Managed Instances)
MAX_MEMORY_MB = 10240
MAX_TIMEOUT_SECONDS = 900
MAX_EPHEMERAL_STORAGE_MB = 10240


def check_runtime(runtime: str) -> None:
    """AWS's InvalidParameterValueException for a runtime it does not (or no longer) accept."""
    if runtime in DEPRECATED_RUNTIMES:
        raise InvalidParameterValueException(
            f"The runtime parameter of {runtime} is no longer supported for creating or updating "
            f"AWS Lambda functions. We recommend you use the new runtime "
            f"({DEPRECATED_RUNTIMES[runtime]}) while creating or updating functions."
        )
    known = load_model("lambda")["shapes"]["Runtime"]["enum"]
    if runtime not in known:
        supported = ", ".join(r for r in known if r not in DEPRECATED_RUNTIMES)
        raise InvalidParameterValueException(
            f"Value {runtime} at 'runtime' failed to satisfy constraint: Member must satisfy "
            f"enum value set: [{supported}] or be a valid ARN"
        )


def check_environment(params: Mapping[str, Any]) -> dict[str, str] | None:
    environment = params.get("Environment")
    if environment is None:
        return None
    variables = dict(environment.get("Variables") or {})
    reserved = [k for k in variables if k in RESERVED_VARIABLES]
    if reserved:
        raise InvalidParameterValueException(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided contains reserved keys that are currently not supported "
            f"for modification. Reserved keys used in this request: {', '.join(reserved)}"
        )
    measured = orjson.dumps(variables)
    if len(measured) > MAX_ENVIRONMENT_BYTES:
        raise InvalidParameterValueException(
            "Lambda was unable to configure your environment variables because the environment "
            f"variables you have provided exceeded the 4KB limit. String measured: {measured.decode()}"
        )
    return variables


def check_quotas(params: Mapping[str, Any]) -> None:
    """AWS's limits on MemorySize, Timeout and EphemeralStorage, tighter than the model's.

    Timeout may reach the model's 5400 s only with a CapacityProviderConfig (Managed Instances)."""
    memory = params.get("MemorySize")
    if memory is not None and memory > MAX_MEMORY_MB:
        raise InvalidParameterValueException(
            f"'MemorySize' value failed to satisfy constraint: Member must have value less than or "
            f"equal to {MAX_MEMORY_MB}"
        )
    timeout = params.get("Timeout")
    if timeout is not None and timeout > MAX_TIMEOUT_SECONDS and not params.get("CapacityProviderConfig"):
        raise ValidationException(
            f"1 validation error detected: Value '{timeout}' at 'timeout' failed to satisfy "
            f"constraint: Member must have value less than or equal to {MAX_TIMEOUT_SECONDS}"
        )
    storage = (params.get("EphemeralStorage") or {}).get("Size")
    if storage is not None and storage > MAX_EPHEMERAL_STORAGE_MB:
        raise ValidationException(
            f"1 validation error detected: Value '{storage}' at 'ephemeralStorage.size' failed to "
            f"satisfy constraint: Member must have value less than or equal to {MAX_EPHEMERAL_STORAGE_MB}"
        )


def check_layers(params: Mapping[str, Any]) -> None:
    """tidestream serves no layers, so every layer version a request names does not exist."""
    layers = params.get("Layers") or []
    if layers:
        raise InvalidParameterValueException(f"Layer version {layers[0]} does not exist.")


#: FunctionCode members that name a package somewhere else than the request's ZipFile
_OTHER_CODE_SOURCES = ("S3Bucket", "S3Key", "S3ObjectVersion", "ImageUri")


def package_from(code: Mapping[str, Any]) -> bytes:
    """The zip of a Code / UpdateFunctionCode request; only ZipFile can be run here."""
    if code.get("ZipFile") is not None:
        if any(code.get(member) for member in _OTHER_CODE_SOURCES):
            raise InvalidParameterValueException(
                "Please do not provide other FunctionCode parameters when providing a ZipFile."
            )
        return code["ZipFile"]
    if code.get("S3Bucket") or code.get("S3Key"):  # tidestream has no S3: no bucket exists
        raise InvalidParameterValueException(
            "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The "
            "specified bucket does not exist"
        )
    if code.get("ImageUri"):
        raise InvalidParameterValueException(
            "tidestream runs .zip deployment packages only; container images (ImageUri) are not supported"
        )
    raise InvalidParameterValueException("Please provide a source for function code.")


@operation("CreateFunction")
def create_function(state: LambdaState, ctx: RequestContext, params: CreateFunctionRequest) -> dict:
    name, _ = parse_name(params["FunctionName"], ctx.account_id, ctx.region)
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy "
            f"constraint: Member must have length less than or equal to {MAX_NAME_LENGTH}"
        )
    if params.get("PackageType", "Zip") != "Zip":
        raise InvalidParameterValueException(
            "tidestream runs .zip deployment packages only (PackageType Zip)"
        )
    runtime, handler = params.get("Runtime"), params.get("Handler")
    if not runtime or not handler:
        raise InvalidParameterValueException(
            "Runtime and Handler are mandatory parameters for functions created with deployment packages."
        )
    check_runtime(runtime)
    check_quotas(params)
    check_layers(params)
    environment = check_environment(params)
    package = package_from(params["Code"])
    sha, size = check_package(package)
    if state.store.get(ctx.account_id, ctx.region, name) is not None:
        raise already_exists(name)
    now = state.clock()
    fn = Function(
        account=ctx.account_id,
        region=ctx.region,
        name=name,
        runtime=runtime,
        handler=handler,
        role=params["Role"],
        code_sha256=sha,
        code_size=size,
        revision_id=uuid4_text(),
        created=now,
        last_modified=now,
        timeout=params.get("Timeout", 3),
        memory_size=params.get("MemorySize", 128),
        description=params.get("Description", ""),
        environment=environment,
        tags=dict(params.get("Tags") or {}),
        architectures=list(params.get("Architectures") or ["x86_64"]),
        ephemeral_storage=storage.get("Size", 512) if (storage := params.get("EphemeralStorage")) else 512,
    )
    state.store.put(fn, package)
    return configuration(fn, state.status(fn, "create"))


def _require_qualified(state: LambdaState, ctx: RequestContext, params: Mapping[str, Any]) -> Function:
    """The function of a request that may name a qualifier (in FunctionName or Qualifier)."""
    qualifier = requested_qualifier(
        params["FunctionName"], params.get("Qualifier"), ctx.account_id, ctx.region
    )
    return state.require(ctx, params["FunctionName"], qualifier)


@operation("GetFunction")
def get_function(state: LambdaState, ctx: RequestContext, params: GetFunctionRequest) -> dict:
    fn = _require_qualified(state, ctx, params)
    out = {
        "Configuration": configuration(fn, state.status(fn)),
        "Code": {"RepositoryType": "S3", "Location": state.code_url(fn)},
    }
    if fn.tags:
        out["Tags"] = dict(fn.tags)
    if fn.reserved_concurrency is not None:
        out["Concurrency"] = {"ReservedConcurrentExecutions": fn.reserved_concurrency}
    return out


@operation("GetFunctionConfiguration")
def get_function_configuration(
    state: LambdaState, ctx: RequestContext, params: GetFunctionConfigurationRequest
) -> dict:
    fn = _require_qualified(state, ctx, params)
    return configuration(fn, state.status(fn))


@operation("ListFunctions")
def list_functions(state: LambdaState, ctx: RequestContext, params: ListFunctionsRequest) -> dict:
    functions = state.store.listing(ctx.account_id, ctx.region)
    marker = params.get("Marker")
    if marker:
        functions = [fn for fn in functions if fn.name >= marker]
    limit = min(params.get("MaxItems") or MAX_LIST_ITEMS, MAX_LIST_ITEMS)
    out: dict = {"Functions": [configuration(fn, state.status(fn)) for fn in functions[:limit]]}
    if len(functions) > limit:
        out["NextMarker"] = functions[limit].name
    return out


def _check_changeable(state: LambdaState, fn: Function, params: Mapping[str, Any]) -> None:
    """AWS's refusals of an update: while Pending or InProgress, or for a stale RevisionId."""
    status = state.status(fn)
    if status["State"] == "Pending":
        raise pending("Pending")
    if status.get("LastUpdateStatus") == "InProgress":
        raise update_in_progress(fn.arn)
    revision = params.get("RevisionId")
    if revision is not None and revision != fn.revision_id:
        raise AwsError(
            "The Revision Id provided does not match the latest Revision Id. Call the "
            "GetFunction/GetAlias API to retrieve the latest Revision Id",
            code="PreconditionFailedException",
            status=412,
        )


@operation("UpdateFunctionCode")
def update_function_code(state: LambdaState, ctx: RequestContext, params: UpdateFunctionCodeRequest) -> dict:
    fn = state.require(ctx, params["FunctionName"])
    _check_changeable(state, fn, params)
    package = package_from(params)
    sha, size = check_package(package)
    if params.get("DryRun"):
        return configuration(fn, state.status(fn))
    old = fn
    fn = Function(
        **{
            **old.__dict__,
            "code_sha256": sha,
            "code_size": size,
            "revision_id": uuid4_text(),
            "last_modified": state.clock(),
        }
    )
    if params.get("Architectures"):
        fn.architectures = list(params["Architectures"])
    state.store.put(fn, package, previous=old)
    state.retire(old)
    return configuration(fn, state.status(fn, "update"))


#: UpdateFunctionConfiguration members -> Function fields they replace
_CONFIG_FIELDS = {
    "Role": "role",
    "Handler": "handler",
    "Description": "description",
    "Timeout": "timeout",
    "MemorySize": "memory_size",
    "Runtime": "runtime",
}


@operation("UpdateFunctionConfiguration")
def update_function_configuration(
    state: LambdaState, ctx: RequestContext, params: UpdateFunctionConfigurationRequest
) -> dict:
    fn = state.require(ctx, params["FunctionName"])
    _check_changeable(state, fn, params)
    if params.get("Runtime") is not None:
        check_runtime(params["Runtime"])
    check_quotas(params)
    check_layers(params)
    changes: dict[str, Any] = {
        field: value for member, field in _CONFIG_FIELDS.items() if (value := params.get(member)) is not None
    }
    if "Environment" in params:
        changes["environment"] = check_environment(params)
    if params.get("EphemeralStorage"):
        changes["ephemeral_storage"] = params["EphemeralStorage"].get("Size", fn.ephemeral_storage)
    updated = Function(
        **{**fn.__dict__, **changes, "revision_id": uuid4_text(), "last_modified": state.clock()}
    )
    state.store.put(updated, previous=fn)
    state.retire(fn)
    return configuration(updated, state.status(updated, "update"))


@operation("DeleteFunction")
def delete_function(state: LambdaState, ctx: RequestContext, params: DeleteFunctionRequest) -> dict:
    qualifier = requested_qualifier(
        params["FunctionName"], params.get("Qualifier"), ctx.account_id, ctx.region
    )
    if qualifier == "$LATEST":  # a version may be deleted alone, $LATEST only with the function
        raise InvalidParameterValueException(
            "$LATEST version cannot be deleted without deleting the function."
        )
    fn = state.require(ctx, params["FunctionName"], qualifier)
    state.store.delete(fn)
    state.retire(fn)
    return {"StatusCode": 204}
