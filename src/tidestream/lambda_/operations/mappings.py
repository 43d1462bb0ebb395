"""CreateEventSourceMapping, GetEventSourceMapping, ListEventSourceMappings,
UpdateEventSourceMapping, DeleteEventSourceMapping (Kinesis and DynamoDB Streams sources).

Ranges and enums are checked by the model validator before these run; what the model cannot
say (combinations, the stream and function existing, one mapping per function and stream) is
checked here, all before anything is written, so a refusal creates nothing.
"""

from __future__ import annotations

from typing import Any

from ...context import RequestContext
from ...errors import AwsError, ResourceInUseException
from ...ids import uuid4_text
from ..deadletters import DESTINATION_SERVICES
from ..filtering import FilterCriteriaError, compile_filters, validate_filter_criteria
from ..functions import Function
from ..mappings import TRANSITIONAL, EventSourceMapping, configuration
from ..messages import InvalidParameterValueException, ResourceConflictException, ResourceNotFoundException
from ..sources import DYNAMODB, source_kind
from ..state import LambdaState
from . import REGISTRY

operation = REGISTRY.operation

#: ListEventSourceMappings answers at most this many per page when MaxItems is not given
DEFAULT_LIST_ITEMS = 100


def _view(state: LambdaState, mapping: EventSourceMapping) -> dict[str, Any]:
    return configuration(mapping, state.pollers.dead_letters.path)


def mapping_not_found() -> AwsError:
    return ResourceNotFoundException("The resource you requested does not exist.")


def _check_starting_position(params: dict, kind: str, arn: str) -> None:
    position = params.get("StartingPosition")
    if position is None:
        raise InvalidParameterValueException(
            "1 validation error detected: Value null at 'startingPosition' failed to satisfy "
            "constraint: Member must not be null."
        )
    if kind == DYNAMODB and position == "AT_TIMESTAMP":
        raise InvalidParameterValueException(f"Unsupported starting position for arn type: {arn}")
    stamp = params.get("StartingPositionTimestamp")
    if position == "AT_TIMESTAMP" and stamp is None:
        raise InvalidParameterValueException(
            "StartingPositionTimestamp must be provided when StartingPosition is AT_TIMESTAMP."
        )
    if position != "AT_TIMESTAMP" and stamp is not None:
        raise InvalidParameterValueException(
            "StartingPositionTimestamp is only allowed when StartingPosition is AT_TIMESTAMP."
        )


def _check_common(params: dict) -> None:
    """The members Create and Update share."""
    age = params.get("MaximumRecordAgeInSeconds")
    if age is not None and age != -1 and not 60 <= age <= 604800:
        raise InvalidParameterValueException(
            "MaximumRecordAgeInSeconds must be either -1 (forever) or between 60 and 604800 (inclusive)"
        )
    destination = params.get("DestinationConfig")
    if destination:
        if destination.get("OnSuccess"):
            raise InvalidParameterValueException(
                "Unsupported DestinationConfig parameter for given event source mapping type."
            )
        target = (destination.get("OnFailure") or {}).get("Destination")
        parts = (target or "").split(":")
        if target and (len(parts) < 6 or parts[2] not in DESTINATION_SERVICES):
            raise InvalidParameterValueException(
                f"The provided destination config DestinationConfig(onSuccess=null, "
                f"onFailure=OnFailure(destination={target})) is invalid."
            )
    if params.get("FilterCriteria") is not None:
        try:
            validate_filter_criteria(params["FilterCriteria"])
            compile_filters(params["FilterCriteria"])  # what the pollers will run: refused now, not later
        except FilterCriteriaError as err:
            raise InvalidParameterValueException(err.message) from None


def _source(params: dict) -> tuple[str, str]:
    arn = params.get("EventSourceArn")
    if not arn:
        raise InvalidParameterValueException("Unrecognized event source.")
    kind = source_kind(arn)
    if kind is None:
        raise InvalidParameterValueException(
            f"Unsupported event source {arn}: tidestream reads Kinesis streams (or their "
            "consumers) and DynamoDB Streams; see docs/lambda.md"
        )
    return arn, kind


def _function(state: LambdaState, ctx: RequestContext, name: str) -> Function:
    """The mapping's function; AWS words an unknown one differently here than elsewhere."""
    try:
        return state.require(ctx, name)
    except ResourceNotFoundException:
        raise InvalidParameterValueException("Function does not exist") from None


def _duplicate(state: LambdaState, fn: Function, arn: str, skip: str | None = None) -> None:
    for m in state.mappings.all():
        if m.uuid != skip and m.function_arn == fn.arn and m.event_source_arn == arn:
            raise ResourceConflictException(
                f'The event source arn (" {arn} ") and function (" {fn.name} ") provided mapping '
                f"already exists. Please update or delete the existing mapping with UUID {m.uuid}"
            )


@operation("CreateEventSourceMapping")
async def create_event_source_mapping(state: LambdaState, ctx: RequestContext, params: dict) -> dict:
    arn, kind = _source(params)
    _check_starting_position(params, kind, arn)
    _check_common(params)
    fn = _function(state, ctx, params["FunctionName"])
    await state.sources.stream_arn(ctx.account_id, ctx.region, arn)
    _duplicate(state, fn, arn)
    now = state.clock()
    enabled = params.get("Enabled", True)
    mapping = EventSourceMapping(
        uuid=uuid4_text(),
        account=ctx.account_id,
        region=ctx.region,
        function_name=fn.name,
        event_source_arn=arn,
        source_kind=kind,
        starting_position=params["StartingPosition"],
        starting_position_timestamp=params.get("StartingPositionTimestamp"),
        batch_size=params.get("BatchSize", 100),
        batching_window=params.get("MaximumBatchingWindowInSeconds", 0),
        parallelization_factor=params.get("ParallelizationFactor", 1),
        bisect_on_error=params.get("BisectBatchOnFunctionError", False),
        maximum_retry_attempts=params.get("MaximumRetryAttempts", -1),
        maximum_record_age=params.get("MaximumRecordAgeInSeconds", -1),
        tumbling_window=params.get("TumblingWindowInSeconds", 0),
        function_response_types=list(params.get("FunctionResponseTypes") or []),
        filter_criteria=params.get("FilterCriteria"),
        destination_config=params.get("DestinationConfig") or {"OnFailure": {}},
        enabled=bool(enabled),
        state="Creating",
        created=now,
        last_modified=now,
        tags=dict(params.get("Tags") or {}),
    )
    state.mappings.put(mapping)
    answer = _view(state, mapping)
    state.pollers.sync(mapping)
    return answer


def _require(state: LambdaState, ctx: RequestContext, uuid: str) -> EventSourceMapping:
    mapping = state.mappings.get(uuid)
    if mapping is None or mapping.account != ctx.account_id or mapping.region != ctx.region:
        raise mapping_not_found()
    return mapping


@operation("GetEventSourceMapping")
def get_event_source_mapping(state: LambdaState, ctx: RequestContext, params: dict) -> dict:
    return _view(state, _require(state, ctx, params["UUID"]))


@operation("ListEventSourceMappings")
def list_event_source_mappings(state: LambdaState, ctx: RequestContext, params: dict) -> dict:
    mappings = state.mappings.listing(ctx.account_id, ctx.region)
    if params.get("EventSourceArn"):
        mappings = [m for m in mappings if m.event_source_arn == params["EventSourceArn"]]
    if params.get("FunctionName"):
        fn = _function(state, ctx, params["FunctionName"])
        mappings = [m for m in mappings if m.function_arn == fn.arn]
    marker = params.get("Marker")
    if marker:
        uuids = [m.uuid for m in mappings]
        if marker not in uuids:
            raise InvalidParameterValueException("Invalid marker value.")
        mappings = mappings[uuids.index(marker) :]
    limit = params.get("MaxItems") or DEFAULT_LIST_ITEMS
    out: dict[str, Any] = {"EventSourceMappings": [_view(state, m) for m in mappings[:limit]]}
    if len(mappings) > limit:
        out["NextMarker"] = mappings[limit].uuid
    return out


#: UpdateEventSourceMapping members -> EventSourceMapping fields they replace
_UPDATE_FIELDS = {
    "BatchSize": "batch_size",
    "MaximumBatchingWindowInSeconds": "batching_window",
    "ParallelizationFactor": "parallelization_factor",
    "BisectBatchOnFunctionError": "bisect_on_error",
    "MaximumRetryAttempts": "maximum_retry_attempts",
    "MaximumRecordAgeInSeconds": "maximum_record_age",
    "TumblingWindowInSeconds": "tumbling_window",
    "FilterCriteria": "filter_criteria",
    "DestinationConfig": "destination_config",
}


def _check_changeable(mapping: EventSourceMapping) -> None:
    if mapping.state in TRANSITIONAL:
        raise ResourceInUseException(
            f"Cannot update the event source mapping because it is in use. State: {mapping.state}"
        )


@operation("UpdateEventSourceMapping")
def update_event_source_mapping(state: LambdaState, ctx: RequestContext, params: dict) -> dict:
    mapping = _require(state, ctx, params["UUID"])
    _check_changeable(mapping)
    _check_common(params)
    changes = {field: params[member] for member, field in _UPDATE_FIELDS.items() if member in params}
    if "FunctionResponseTypes" in params:
        changes["function_response_types"] = list(params["FunctionResponseTypes"] or [])
    if params.get("FunctionName"):
        fn = _function(state, ctx, params["FunctionName"])
        _duplicate(state, fn, mapping.event_source_arn, skip=mapping.uuid)
        changes["function_name"] = fn.name
    enabled = params.get("Enabled", mapping.enabled)
    if enabled != mapping.enabled:
        changes["state"] = "Enabling" if enabled else "Disabling"
    elif changes:
        changes["state"] = "Updating"
    if not changes and enabled == mapping.enabled:
        return _view(state, mapping)  # nothing to change: the pollers keep going
    if changes.get("filter_criteria") == {}:
        changes["filter_criteria"] = None  # an empty FilterCriteria removes the filters, as on AWS
    updated = EventSourceMapping(
        **{**mapping.__dict__, **changes, "enabled": bool(enabled), "last_modified": state.clock()}
    )
    state.mappings.put(updated)
    state.pollers.sync(updated)
    return _view(state, updated)


@operation("DeleteEventSourceMapping")
def delete_event_source_mapping(state: LambdaState, ctx: RequestContext, params: dict) -> dict:
    mapping = _require(state, ctx, params["UUID"])
    if mapping.state in ("Creating", "Deleting"):
        _check_changeable(mapping)
    state.pollers.remove(mapping.uuid)
    state.mappings.delete(mapping)
    mapping.state = "Deleting"
    return _view(state, mapping)
