"""CreateTable, DescribeTable, ListTables, UpdateTable, DeleteTable."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, timedelta
from typing import TYPE_CHECKING, Any

from ...context import RequestContext
from ...errors import (
    LimitExceededException,
    ResourceInUseException,
    ResourceNotFoundException,
    ValidationException,
)
from ..describe import describe_table
from ..state import DynamoState, forget_schema
from ..tables import Index, Table, new_table_id
from . import operation
from .policies import attach_at_creation
from .tags import check_new_tags

if TYPE_CHECKING:
    from ...protocol.shapes.dynamodb import (
        CreateTableInput,
        DeleteTableInput,
        DescribeTableInput,
        ListTablesInput,
        UpdateTableInput,
    )


_INVALID = "One or more parameter values were invalid: "
MAX_GSIS = 20
MAX_LSIS = 5


def _key_schema(elements: list[dict], what: str = "KeySchema") -> list[tuple[str, str]]:
    return [(e["AttributeName"], e["KeyType"]) for e in elements]


def _check_table_key_schema(ks: list[tuple[str, str]]) -> None:
    if len(ks) > 2:
        raise ValidationException(
            "1 validation error detected: Value at 'keySchema' failed to "
            "satisfy constraint: Member must have length less than or equal to 2"
        )
    if len(ks) == 2 and ks[0][0] == ks[1][0]:
        raise ValidationException(
            "Both the Hash Key and the Range Key element in the KeySchema have the same name"
        )
    if ks[0][1] != "HASH":
        raise ValidationException("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
    if len(ks) == 2 and ks[1][1] != "RANGE":
        raise ValidationException("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type")


#: HASH (and RANGE) attributes a GSI's multi-attribute key may have
MAX_KEY_PARTS = 4


def _check_index_key_schema(ks: list[tuple[str, str]], name: str, gsi: bool) -> None:
    """DynamoDB's order: same names, first HASH, then RANGE; a GSI may use multi-attribute keys
    (up to 4 HASH attributes followed by up to 4 RANGE attributes). The multi-attribute texts
    are AWS's (ack-api-quirks' ValidationException catalogue, DDB-TABLE-442, 2026-10-09)."""
    names = [n for n, _ in ks]
    if len(set(names)) != len(names):
        if not gsi or (len(ks) == 2 and ks[1][1] == "RANGE"):
            raise ValidationException(
                "Both the Hash Key and the Range Key element in the KeySchema have the same name"
            )
        raise ValidationException("The KeySchema contains multiple key attributes with the same name")
    if ks[0][1] != "HASH":
        raise ValidationException("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
    if not gsi:
        if len(ks) > 1 and ks[1][1] != "RANGE":
            raise ValidationException(
                "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type"
            )
        return
    _check_multi_attribute_key(ks)


def _check_multi_attribute_key(ks: list[tuple[str, str]]) -> None:
    """A GSI's HASH attributes come first, at most MAX_KEY_PARTS of each kind."""
    hashes = sum(1 for _, t in ks if t == "HASH")
    if any(t == "HASH" for _, t in ks[hashes:]):
        raise ValidationException(
            f"{_INVALID}All HASH key attributes must precede RANGE key attributes in the KeySchema"
        )
    for kind, count in (("HASH", hashes), ("RANGE", len(ks) - hashes)):
        if count > MAX_KEY_PARTS:
            raise ValidationException(
                f"{_INVALID}The KeySchema exceeds the maximum allowed number of {kind} key attributes"
            )


def _check_index_shape(
    spec: dict, attr_types: dict[str, str], *, local: bool, table_hash: str | None, seen: set[str]
) -> None:
    """The per-index checks of CreateTable, in the order DynamoDB reports them."""
    name = spec["IndexName"]
    ks = _key_schema(spec["KeySchema"])
    if any(n not in attr_types for n, _ in ks):
        raise ValidationException(
            f"{_INVALID}Some index key attributes are not defined in AttributeDefinitions. "
            f"Keys: [{', '.join(x for x, _ in ks)}], AttributeDefinitions: [{', '.join(attr_types)}]"
        )
    _check_index_key_schema(ks, name, gsi=not local)
    if local:
        if len(ks) != 2:
            raise ValidationException(
                f"{_INVALID}Index KeySchema does not have a range key for index: {name}"
            )
        if ks[0][0] != table_hash:
            raise ValidationException(
                f"{_INVALID}Index KeySchema does not have the same leading hash key as table "
                f"KeySchema for index: {name}. index hash key: {ks[0][0]}, table hash key: {table_hash}"
            )
    _projection(spec.get("Projection"), name)
    if name in seen:
        raise ValidationException(f"{_INVALID}Duplicate index name: {name}")
    seen.add(name)


def _projection(p: dict | None, name: str) -> tuple[str, list[str]]:
    p = p or {}
    ptype = p.get("ProjectionType")
    nka = p.get("NonKeyAttributes")
    if ptype is None:
        raise ValidationException(f"{_INVALID}Unknown ProjectionType: null")
    if ptype == "INCLUDE":
        if not nka:
            raise ValidationException(
                f"{_INVALID}ProjectionType is INCLUDE, but NonKeyAttributes is not specified"
            )
    elif nka:
        raise ValidationException(f"{_INVALID}ProjectionType is {ptype}, but NonKeyAttributes is specified")
    seen: set[str] = set()
    for attribute in nka or []:  # the catalogue's text (DDB-TABLE-442)
        if attribute in seen:
            raise ValidationException(f"{_INVALID}Duplicate element in NonKeyAttributes: {attribute}")
        seen.add(attribute)
    return ptype, list(nka or [])


def _throughput(pt: dict | None) -> tuple[int, int]:
    if not pt:
        return 0, 0
    return int(pt.get("ReadCapacityUnits", 0)), int(pt.get("WriteCapacityUnits", 0))


def _check_capacity(read: int, write: int) -> None:
    for label, v in (("ReadCapacityUnits", read), ("WriteCapacityUnits", write)):
        if v > 40000:
            raise LimitExceededException(
                f"Subscriber limit exceeded: Provisioned throughput for {label} cannot exceed 40000"
            )


def build_index(
    state: DynamoState,
    spec: dict,
    attr_types: dict[str, str],
    billing: str,
    *,
    local: bool,
    table_hash: str | None = None,
    creating: bool = True,
) -> Index:
    name = spec["IndexName"]
    ks = _key_schema(spec["KeySchema"])
    _check_index_shape(spec, attr_types, local=local, table_hash=table_hash, seen=set())
    ptype, nka = _projection(spec.get("Projection"), name)
    read, write = 0, 0
    if not local:
        pt = spec.get("ProvisionedThroughput")
        if billing == "PROVISIONED":
            if not pt:  # CreateTable's and UpdateTable's texts (the catalogue, DDB-TABLE-442)
                verb = "is not specified" if creating else "must be specified"
                raise ValidationException(f"{_INVALID}ProvisionedThroughput {verb} for index: {name}")
            read, write = _throughput(pt)
            _check_capacity(read, write)
        elif pt:
            raise ValidationException(
                f"{_INVALID}ProvisionedThroughput should not be specified for index: {name} "
                "when BillingMode is PAY_PER_REQUEST"
            )
    return Index(
        name=name,
        uid=state.catalog.new_uid(),
        key_schema=ks,
        projection_type=ptype,
        non_key_attributes=nka,
        read_capacity=read,
        write_capacity=write,
        local=local,
    )


@dataclass
class TableSpec:
    """A CreateTable request, checked in DynamoDB's order without looking at any state."""

    name: str
    key_schema: list[tuple[str, str]]
    attribute_types: dict[str, str]
    attribute_order: list[str]
    billing: str
    read: int
    write: int
    lsi_specs: list[dict]
    gsi_specs: list[dict]


def _required_create_members(p: Mapping[str, Any]) -> None:
    missing = [m for m in ("attributeDefinitions", "keySchema") if p.get(m[0].upper() + m[1:]) is None]
    if missing:  # the public model no longer marks them required; the service still does
        n = len(missing)
        raise ValidationException(
            f"{n} validation error{'s' if n > 1 else ''} detected: "
            + "; ".join(
                f"Value null at '{m}' failed to satisfy constraint: Member must not be null" for m in missing
            )
        )


def _attribute_types(attr_defs: list[dict]) -> dict[str, str]:
    types: dict[str, str] = {}
    for a in attr_defs:
        if a["AttributeName"] in types:
            # AWS's text today (ack-api-quirks' catalogue DDB-TABLE-442, 2026-10-09); dynalite
            # and DynamoDB Local answer the older "Cannot have two attributes with the same name"
            raise ValidationException(f"Attribute Name is duplicated: {a['AttributeName']}")
        types[a["AttributeName"]] = a["AttributeType"]
    return types


def _table_throughput(p: Mapping[str, Any], billing: str) -> tuple[int, int]:
    pt = p.get("ProvisionedThroughput")
    if billing != "PROVISIONED":
        if pt:
            raise ValidationException(
                f"{_INVALID}Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"
            )
        return 0, 0
    if not pt:
        raise ValidationException(
            f"{_INVALID}ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"
        )
    read, write = _throughput(pt)
    for label, v in (("ReadCapacityUnits", read), ("WriteCapacityUnits", write)):
        if v > 1000000000000:
            raise ValidationException(f"Given value {v} for {label} is out of bounds")
    return read, write


def _check_key_attributes(ks: list[tuple[str, str]], attr_types: dict[str, str]) -> None:
    keys = [n for n, _ in ks]
    if len(ks) == 2:
        if any(n not in attr_types for n in keys) or (keys[0] == keys[1] and len(attr_types) == 1):
            raise ValidationException("Invalid KeySchema: Some index key attribute have no definition")
    elif any(n not in attr_types for n in keys):
        raise ValidationException(
            f"{_INVALID}Some index key attributes are not defined in AttributeDefinitions. "
            f"Keys: [{', '.join(keys)}], AttributeDefinitions: [{', '.join(attr_types)}]"
        )
    _check_table_key_schema(ks)


def _check_lsis(
    specs: list[dict], ks: list[tuple[str, str]], attr_types: dict[str, str], seen: set[str]
) -> None:
    if not specs:
        raise ValidationException(f"{_INVALID}List of LocalSecondaryIndexes is empty")
    if len(ks) != 2:
        raise ValidationException(
            f"{_INVALID}Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex"
        )
    for s in specs:
        _check_index_shape(s, attr_types, local=True, table_hash=ks[0][0], seen=seen)
    if len(specs) > MAX_LSIS:
        raise ValidationException(
            f"{_INVALID}Number of LocalSecondaryIndexes exceeds per-table limit of {MAX_LSIS}"
        )


def _check_gsis(specs: list[dict], attr_types: dict[str, str], seen: set[str]) -> None:
    if not specs:
        raise ValidationException(f"{_INVALID}List of GlobalSecondaryIndexes is empty")
    for s in specs:
        _check_index_shape(s, attr_types, local=False, table_hash=None, seen=seen)
    if len(specs) > MAX_GSIS:
        raise ValidationException(
            f"{_INVALID}GlobalSecondaryIndex count exceeds the per-table limit of {MAX_GSIS}"
        )


def java_hash_set_order(names: list[str]) -> list[str]:
    """The iteration order of a java.util.HashSet holding ``names`` (AWS prints some sets so)."""
    capacity = 16
    while len(names) > capacity * 3 // 4:
        capacity *= 2

    def bucket(name: str) -> int:
        h = 0
        for c in name:
            h = (31 * h + ord(c)) & 0xFFFFFFFF
        return (h ^ (h >> 16)) & (capacity - 1)

    return sorted(dict.fromkeys(names), key=bucket)  # sorted() is stable: insertion order in a bucket


def _check_all_attributes_used(
    ks: list[tuple[str, str]], specs: list[dict], attr_types: dict[str, str]
) -> None:
    """With indexes, AWS names the definitions and the keys that use them. Its words, from a
    CloudFormation stack event quoting AWS (cfn-lint issue 1037, and moto's test of the same):
    "Some AttributeDefinitions are not used. AttributeDefinitions: [my-string, my-int,
    my-hash], keys used: [my-hash, my-string]" - definitions in request order, keys as a set."""
    used = [n for n, _ in ks]
    for s in specs:
        used.extend(e["AttributeName"] for e in s["KeySchema"])
    if set(attr_types) - set(used):
        raise ValidationException(
            f"{_INVALID}Some AttributeDefinitions are not used. AttributeDefinitions: "
            f"[{', '.join(attr_types)}], keys used: [{', '.join(java_hash_set_order(used))}]"
        )


def check_create_table(p: Mapping[str, Any]) -> TableSpec:
    """Every CreateTable check that needs no state, in the order DynamoDB reports them."""
    _required_create_members(p)
    attr_defs = p.get("AttributeDefinitions") or []
    attr_types = _attribute_types(attr_defs)
    ks = _key_schema(p["KeySchema"])
    billing = p.get("BillingMode") or "PROVISIONED"
    read, write = _table_throughput(p, billing)
    _check_on_demand(p.get("OnDemandThroughput"), billing, creating=True)
    _check_key_attributes(ks, attr_types)
    lsi_specs, gsi_specs = p.get("LocalSecondaryIndexes"), p.get("GlobalSecondaryIndexes")
    if lsi_specs is None and gsi_specs is None and len(ks) != len(attr_types):
        raise ValidationException(
            f"{_INVALID}Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions"
        )
    seen: set[str] = set()
    if lsi_specs is not None:
        _check_lsis(lsi_specs, ks, attr_types, seen)
    if gsi_specs is not None:
        _check_gsis(gsi_specs, attr_types, seen)
    if billing == "PROVISIONED":
        _check_capacity(read, write)
    _check_all_attributes_used(ks, (lsi_specs or []) + (gsi_specs or []), attr_types)
    _check_stream_spec(p.get("StreamSpecification"), creating=True)
    _check_sse_spec(p.get("SSESpecification"))
    _check_table_class(p)
    check_new_tags(p.get("Tags") or [])
    return TableSpec(
        p["TableName"],
        ks,
        attr_types,
        [a["AttributeName"] for a in attr_defs],
        billing,
        read,
        write,
        lsi_specs or [],
        gsi_specs or [],
    )


#: (enabled without a view type, disabled with one) for CreateTable and UpdateTable: AWS's texts
#: (ack-api-quirks DDB-TABLE-050 and its ValidationException catalogue, 2026-10-09; the
#: CreateTable pair also paritysuite tier3/error-messages/createTable)
_STREAM_VIEW_TEXTS = {
    True: (
        "Table is being created with a stream enabled, UpdateViewType is required",
        "Table is being created with a stream disabled, UpdateViewType should not be specified",
    ),
    False: (
        "If stream is being enabled then UpdateViewType is required",
        "If stream is being disabled, then UpdateViewType must not be specified",
    ),
}


def _check_stream_spec(spec: Mapping[str, Any] | None, creating: bool) -> None:
    """A StreamViewType goes with an enabled stream and only with one."""
    if not spec:
        return
    enabled, view = bool(spec.get("StreamEnabled")), spec.get("StreamViewType")
    if enabled == bool(view):
        return
    missing_view, unwanted_view = _STREAM_VIEW_TEXTS[creating]
    raise ValidationException(_INVALID + (missing_view if enabled else unwanted_view))


TABLE_CLASSES = ("STANDARD", "STANDARD_INFREQUENT_ACCESS")


def _check_table_class(p: Mapping[str, Any]) -> None:
    """AWS's own sentence for an unknown TableClass (the catalogue, DDB-TABLE-442); no table needed."""
    table_class = p.get("TableClass")
    if table_class is not None and table_class not in TABLE_CLASSES:
        raise ValidationException(
            "Invalid table-class parameter provided. Please try again with a valid table-class value: "
            f"[{', '.join(TABLE_CLASSES)}]."
        )


def _check_sse_spec(sse: Mapping[str, Any] | None) -> None:
    """An SSESpecification's members must agree (AWS's texts: ack-api-quirks DDB-TABLE-036 and
    its ValidationException catalogue, 2026-10-09); needs no table."""
    if not sse:
        return
    if sse.get("Enabled") is False:
        for member in ("SSEType", "KMSMasterKeyId"):
            if member in sse:
                raise ValidationException(f"{_INVALID}{member} can not be specified if Enabled is false")
    if sse.get("SSEType") == "AES256":
        raise ValidationException(f"{_INVALID}SSEType AES256 is not supported")
    if sse.get("KMSMasterKeyId") and sse.get("SSEType") != "KMS":
        raise ValidationException(f"{_INVALID}SSEType KMS is required if KMSMasterKeyId is specified")


def _check_sse_resend(t: Table, sse: Mapping[str, Any] | None) -> None:
    """An UpdateTable SSESpecification that changes nothing is refused (the catalogue,
    DDB-TABLE-442: no-op re-sends on the AWS-owned key and of the current KMS key ARN)."""
    if sse is None:
        return
    if not t.sse and (not sse or sse.get("Enabled") is False):
        raise ValidationException(f"{_INVALID}Table is already encrypted by default")
    if t.sse and sse.get("KMSMasterKeyId") and sse["KMSMasterKeyId"] == t.sse.get("KMSMasterKeyArn"):
        raise ValidationException(
            f"{_INVALID}Table is already encrypted with given KMSMasterKeyId. "
            "Use KMSMasterKeyId parameter if you want to change Master Key"
        )


#: UpdateTable members that must come alone, in the order AWS names them when several are given
#: (ack-api-quirks DDB-TABLE-382/433 and the catalogue, live 2026-10-09: SSE > TableClass > DP > Warm)
_ALONE = (
    ("SSESpecification", "Server-Side Encryption modification must be the only operation in the request"),
    ("TableClass", "TableClass modification must be the only operation in the request"),
    (
        "DeletionProtectionEnabled",
        "DeletionProtection modification must be the only operation in the request",
    ),
    ("WarmThroughput", "WarmThroughput must be the only operation in the request"),
)
#: the request members that change a table (AttributeDefinitions only describes new keys)
_CHANGES = frozenset(
    (
        "ProvisionedThroughput",
        "BillingMode",
        "StreamSpecification",
        "GlobalSecondaryIndexUpdates",
        "SSESpecification",
        "ReplicaUpdates",
        "MultiRegionConsistency",
        "DeletionProtectionEnabled",
        "OnDemandThroughput",
        "WarmThroughput",
        "TableClass",
        "GlobalTableWitnessUpdates",
    )
)


_INDEX_ACTIONS = ("Update", "Create", "Delete")


def _check_index_updates(updates: Sequence[Mapping[str, Any]] | None) -> None:
    """Each GlobalSecondaryIndexUpdates entry holds exactly one action, and names an index no
    other entry names; AWS's texts (ack-api-quirks' catalogue DDB-TABLE-442, 2026-10-09).
    Needs no table, so it comes before the lookup."""
    seen: set[str] = set()
    for update in updates or []:
        actions = [a for a in _INDEX_ACTIONS if update.get(a) is not None]
        if not actions:
            raise ValidationException(
                f"{_INVALID}One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, "
                "GlobalSecondaryIndexUpdate.Delete must not be null"
            )
        if len(actions) > 1:
            raise ValidationException(
                f"{_INVALID}Only one global secondary index action is allowed per GlobalSecondaryIndexUpdate object"
            )
        name = update[actions[0]].get("IndexName")
        if name in seen:
            raise ValidationException(
                f"{_INVALID}Only one global secondary index update per index is allowed simultaneously. Index: {name}"
            )
        seen.add(name)


def _check_update_combination(p: Mapping[str, Any]) -> None:
    """UpdateTable makes one kind of change per call; AWS's texts for the combinations it
    refuses (the catalogue above). Needs no table."""
    given = _CHANGES.intersection(p)
    if len(given) < 2:
        return
    for member, text in _ALONE:
        if member in given:
            raise ValidationException(_INVALID + text)
    if "OnDemandThroughput" in given and given - {"OnDemandThroughput", "BillingMode"}:
        raise ValidationException(
            f"{_INVALID}OnDemandThroughput can only be combined with BillingMode in an UpdateTable request"
        )
    _check_iops_stream_index(p, given)


def _check_iops_stream_index(p: Mapping[str, Any], given: frozenset[str]) -> None:
    """Throughput, stream and index creation/deletion exclude one another, pairwise."""
    iops = "ProvisionedThroughput" in given or p.get("BillingMode") == "PROVISIONED"
    index_change = any("Create" in u or "Delete" in u for u in p.get("GlobalSecondaryIndexUpdates") or [])
    if iops and "StreamSpecification" in given:
        raise ValidationException(f"{_INVALID}You cannot modify stream status while updating table IOPS")
    if iops and index_change:
        raise ValidationException(f"{_INVALID}You cannot create or delete index while updating table IOPS")
    if index_change and "StreamSpecification" in given:
        raise ValidationException(f"{_INVALID}You cannot create or delete index while changing stream status")


def _check_on_demand(od: Mapping[str, Any] | None, billing: str, *, creating: bool) -> None:
    """A table's OnDemandThroughput limits need on-demand billing and a positive value (-1
    clears a limit, on UpdateTable only); AWS's texts (the catalogue, DDB-TABLE-442, 2026-10-09)."""
    for member in ("MaxReadRequestUnits", "MaxWriteRequestUnits"):
        value = (od or {}).get(member)
        if value is None:
            continue
        if billing == "PROVISIONED":
            raise ValidationException(
                f"{_INVALID}{member} for OnDemandThroughput cannot be specified when the table BillingMode is PROVISIONED"
            )
        if value < 1 and (creating or value != -1):
            raise ValidationException(
                f"{_INVALID}Requested {member} for OnDemandThroughput for table is outside of valid range"
            )


def _apply_table_options(
    t: Table, p: Mapping[str, Any], ctx: RequestContext, *, sse_by_default: bool
) -> bool:
    """The options CreateTable and UpdateTable share: deletion protection, class, encryption,
    on-demand limits, warm throughput (validated by the model). Returns whether any was given.

    ``sse_by_default``: an SSESpecification without ``Enabled`` turns encryption on (UpdateTable)
    or leaves it off (CreateTable)."""
    given = False
    if "DeletionProtectionEnabled" in p:
        t.deletion_protection = bool(p["DeletionProtectionEnabled"])
        given = True
    if p.get("TableClass"):
        t.table_class = p["TableClass"]
        given = True
    sse = p.get("SSESpecification")
    if sse:
        given = True
        t.sse = (
            {}
            if not sse.get("Enabled", sse_by_default)
            else {
                "Status": "ENABLED",
                "SSEType": sse.get("SSEType", "KMS"),
                "KMSMasterKeyArn": sse.get("KMSMasterKeyId")
                or f"arn:aws:kms:{ctx.region}:{ctx.account_id}:key/{t.table_id}",
            }
        )
    od = p.get("OnDemandThroughput")
    if od:
        t.on_demand_read = int(od.get("MaxReadRequestUnits", 0) or 0)
        t.on_demand_write = int(od.get("MaxWriteRequestUnits", 0) or 0)
        given = True
    warm = p.get("WarmThroughput")
    if warm:
        t.warm_read = int(warm.get("ReadUnitsPerSecond") or t.warm_read)
        t.warm_write = int(warm.get("WriteUnitsPerSecond") or t.warm_write)
        given = True
    return given


@operation("CreateTable")
def create_table(state: DynamoState, ctx: RequestContext, p: CreateTableInput) -> dict:
    spec = check_create_table(p)
    if state.lookup(ctx.account_id, ctx.region, spec.name, control=True) is not None:
        raise ResourceInUseException(f"Table already exists: {spec.name}")
    table_hash = spec.key_schema[0][0]
    lsis = [
        build_index(state, s, spec.attribute_types, spec.billing, local=True, table_hash=table_hash)
        for s in spec.lsi_specs
    ]
    gsis = [build_index(state, s, spec.attribute_types, spec.billing, local=False) for s in spec.gsi_specs]
    now = time.time()
    delay = state.settings.status_delay
    t = Table(
        account=ctx.account_id,
        region=ctx.region,
        name=spec.name,
        uid=state.catalog.new_uid(),
        table_id=new_table_id(),
        key_schema=spec.key_schema,
        attribute_types=spec.attribute_types,
        attribute_order=spec.attribute_order,
        created=now,
        billing_mode=spec.billing,
        read_capacity=spec.read,
        write_capacity=spec.write,
        status="CREATING",
        active_at=now + delay,
        gsis=gsis,
        lsis=lsis,
    )
    for ix in gsis:
        ix.status, ix.active_at = "CREATING", now + delay
    if spec.billing == "PAY_PER_REQUEST":
        t.billing_mode_updated = now
    if p.get("StreamSpecification"):
        _apply_stream_spec(t, p["StreamSpecification"], now)
    for tag in p.get("Tags") or []:
        t.tags[tag["Key"]] = tag["Value"]
    _apply_table_options(t, p, ctx, sse_by_default=False)
    if p.get("ResourcePolicy"):
        attach_at_creation(t, p["ResourcePolicy"])
    state.catalog.put(t)
    desc = describe_table(t)
    if delay <= 0:
        t.status = "ACTIVE"
        for ix in gsis:
            ix.status = "ACTIVE"
        state.catalog.put(t)
    return {"TableDescription": desc}


def _apply_stream_spec(t: Table, spec: Mapping[str, Any], now: float) -> None:
    from datetime import datetime

    if spec.get("StreamEnabled"):
        t.stream_enabled = True
        t.stream_view_type = spec["StreamViewType"]
        label = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        if t.stream_label and label <= t.stream_label:
            # re-enabled within the same millisecond: a new stream needs a new label (and ARN),
            # or it would be taken for the one just disabled
            later = datetime.strptime(t.stream_label, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)
            label = (later + timedelta(milliseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        t.stream_label = label
    else:
        t.stream_enabled = False


@operation("DescribeTable")
def describe(state: DynamoState, ctx: RequestContext, p: DescribeTableInput) -> dict:
    t = state.table(ctx, p["TableName"], control=True)
    if state.items.write_checked is not None:  # cluster mode: each node counts its own writes
        state.items.load_stats(t)
    return {"Table": describe_table(t)}


@operation("ListTables")
def list_tables(state: DynamoState, ctx: RequestContext, p: ListTablesInput) -> dict:
    names = state.table_names(ctx.account_id, ctx.region)
    start = p.get("ExclusiveStartTableName")
    if start is not None:
        names = [n for n in names if n > start]
    limit = p.get("Limit") or 100
    out: dict[str, Any] = {"TableNames": names[:limit]}
    if len(names) > limit:
        out["LastEvaluatedTableName"] = names[limit - 1]
    return out


def _check_not_in_transition(state: DynamoState, t: Table) -> None:
    """Control-plane changes are refused while the table is CREATING or UPDATING."""
    if t.status in ("CREATING", "UPDATING") and state.settings.status_delay > 0:
        what = "created" if t.status == "CREATING" else "updated"
        raise ResourceInUseException(
            f"Attempt to change a resource which is still in use: Table is being {what}: {t.name}"
        )


@operation("DeleteTable")
def delete_table(state: DynamoState, ctx: RequestContext, p: DeleteTableInput) -> dict:
    t = state.table(ctx, p["TableName"], control=True)
    _check_not_in_transition(state, t)
    if any(ix.status != "ACTIVE" for ix in t.gsis) and state.settings.status_delay > 0:
        raise ResourceInUseException(
            "Attempt to change a resource which is still in use: Cannot delete table while indexes "
            "are being created, updated, or deleted."
        )
    if t.deletion_protection:
        raise ValidationException(
            "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first."
        )
    desc = describe_table(t, deleting=True)
    if t.stream_enabled:
        state.stream_closing(t)
    state.catalog.remove(t)
    state.items.drop(t)
    return {"TableDescription": desc}


#: work an UpdateTable leaves for after every check passed (index backfill and drops)
Effect = Callable[[], None]


def _update_billing(t: Table, p: Mapping[str, Any], now: float) -> bool:
    billing = p.get("BillingMode")
    if not billing:
        return False
    if billing == t.billing_mode:  # a re-send is accepted as an update (Alternator's
        return True  # test_streams.py test_latest_stream_arn, run against AWS; DDB-TABLE-177)
    t.billing_mode = billing
    t.billing_mode_updated = now
    if billing == "PAY_PER_REQUEST":
        t.read_capacity = t.write_capacity = 0
        for ix in t.gsis:
            ix.read_capacity = ix.write_capacity = 0
    return True


def _update_throughput(t: Table, p: Mapping[str, Any], now: float) -> bool:
    pt = p.get("ProvisionedThroughput")
    if not pt:
        if p.get("BillingMode") == "PROVISIONED" and not t.read_capacity:
            raise ValidationException(  # UpdateTable's own text (the catalogue, DDB-TABLE-442)
                f"{_INVALID}ProvisionedThroughput must be specified when BillingMode is PROVISIONED"
            )
        return False
    if t.billing_mode == "PAY_PER_REQUEST":
        raise ValidationException(
            f"{_INVALID}Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"
        )
    read, write = _throughput(pt)
    _check_capacity(read, write)
    if read == t.read_capacity and write == t.write_capacity and not p.get("BillingMode"):
        raise ValidationException(
            f"The provisioned throughput for the table will not change. The requested value equals the current value. "
            f"Current ReadCapacityUnits provisioned for the table: {t.read_capacity}. Requested ReadCapacityUnits: {read}. "
            f"Current WriteCapacityUnits provisioned for the table: {t.write_capacity}. Requested WriteCapacityUnits: {write}. "
            "Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits."
        )
    if read > t.read_capacity or write > t.write_capacity:
        t.last_increase = now
    if read < t.read_capacity or write < t.write_capacity:
        t.last_decrease = now
        t.decreases_today += 1
    t.read_capacity, t.write_capacity = read, write
    return True


def _existing_gsi(t: Table, name: str, action: str) -> Index:
    """The GSI a Delete or Update names; naming an LSI is AWS's ValidationException (its
    message catalogue, DDB-TABLE-442, 2026-10-09)."""
    ix = t.index(name)
    if ix is None:
        raise ResourceNotFoundException("Requested resource not found")
    if ix.local:
        raise ValidationException(f"Cannot {action} an index that is not a GlobalSecondaryIndex: {name}")
    return ix


def _check_create_definitions(t: Table, p: Mapping[str, Any]) -> None:
    """An index created by UpdateTable whose keys the table does not define, in a request without
    AttributeDefinitions: AWS's UpdateTable text (the catalogue, DDB-TABLE-442, 2026-10-09)."""
    if p.get("AttributeDefinitions"):
        return
    for upd in p.get("GlobalSecondaryIndexUpdates") or []:
        spec = upd.get("Create")
        if spec and any(k["AttributeName"] not in t.attribute_types for k in spec["KeySchema"]):
            raise ValidationException(
                f"{_INVALID}AttributeDefinitions is not specified for index: {spec['IndexName']}"
            )


def _update_gsi(state: DynamoState, t: Table, upd: dict, now: float, effects: list[Effect]) -> None:
    """One GlobalSecondaryIndexUpdates entry, applied to the draft ``t``; storage work goes to
    ``effects``."""
    if "Create" in upd:
        spec = upd["Create"]
        if t.index(spec["IndexName"]) is not None:
            raise ValidationException("Attempting to create an index which already exists")
        if len(t.gsis) >= MAX_GSIS:
            raise LimitExceededException(
                f"Subscriber limit exceeded: The number of global secondary indexes exceeds the limit of {MAX_GSIS}"
            )
        ix = build_index(state, spec, t.attribute_types, t.billing_mode, local=False, creating=False)
        delay = state.settings.status_delay
        ix.status = "CREATING" if delay > 0 else "ACTIVE"
        ix.backfilling = delay > 0
        ix.active_at = now + delay
        t.gsis.append(ix)
        effects.append(lambda: state.items.backfill(t, ix))
    elif "Delete" in upd:
        ix = _existing_gsi(t, upd["Delete"]["IndexName"], "delete")
        t.gsis.remove(ix)
        effects.append(lambda: state.items.drop_index(ix))
    elif "Update" in upd:
        spec = upd["Update"]
        ix = _existing_gsi(t, spec["IndexName"], "update")
        if spec.get("ProvisionedThroughput") and t.billing_mode == "PAY_PER_REQUEST":
            raise ValidationException(  # the catalogue's UpdateTable text (DDB-TABLE-442)
                f"{_INVALID}Neither ReadCapacityUnits nor WriteCapacityUnits can be specified for index: "
                f"{spec['IndexName']} when BillingMode is PAY_PER_REQUEST"
            )
        ix.read_capacity, ix.write_capacity = _throughput(spec.get("ProvisionedThroughput"))


def _update_stream(t: Table, p: Mapping[str, Any], now: float) -> bool:
    stream = p.get("StreamSpecification")
    if stream is None:
        return False
    if stream.get("StreamEnabled") and t.stream_enabled:
        raise ValidationException(f"Table already has an enabled stream: TableName: {t.name}")
    if not stream.get("StreamEnabled") and not t.stream_enabled:
        # ack-api-quirks DDB-TABLE-050 (verified against AWS 2026-10-09)
        raise ValidationException(f"Table has no stream to disable: TableName: {t.name}")
    _apply_stream_spec(t, stream, now)
    return True


def _draft_update(
    state: DynamoState, ctx: RequestContext, t: Table, p: Mapping[str, Any], now: float
) -> tuple[Table, list[Effect]]:
    """The table as UpdateTable would leave it, built on a copy: a request refused halfway
    leaves the real table untouched."""
    draft = copy.deepcopy(t)
    for a in p.get("AttributeDefinitions") or []:
        draft.attribute_types.setdefault(a["AttributeName"], a["AttributeType"])
        if a["AttributeName"] not in draft.attribute_order:
            draft.attribute_order.append(a["AttributeName"])
    changed = _update_billing(draft, p, now)
    _check_on_demand(p.get("OnDemandThroughput"), draft.billing_mode, creating=False)
    changed |= _update_throughput(draft, p, now)
    effects: list[Effect] = []
    _check_create_definitions(draft, p)
    for upd in p.get("GlobalSecondaryIndexUpdates") or []:
        _update_gsi(state, draft, upd, now, effects)
        changed = True
    changed |= _update_stream(draft, p, now)
    changed |= _apply_table_options(draft, p, ctx, sse_by_default=True)
    if p.get("TableClass") == "STANDARD" and not t.table_class:
        draft.table_class = ""  # AWS never shows a summary for this no-op (DDB-TABLE-177)
    if not changed and not (p.get("ReplicaUpdates") or p.get("GlobalTableWitnessUpdates")):
        raise _nothing_to_update(p)
    return draft, effects


#: what UpdateTable can change, as AWS lists it (ack-api-quirks' ValidationException catalogue,
#: DDB-TABLE-442, live in us-east-1 and us-west-2 2026-10-09); members the request already has
#: are left out of the sentence
_UPDATABLE = (
    "ProvisionedThroughput",
    "BillingMode",
    "UpdateStreamEnabled",
    "GlobalSecondaryIndexUpdates",
    "SSESpecification",
    "ReplicaUpdates",
    "MultiAccountReplicaReady",
    "ReplicaTransitRoleArn",
    "MultiRegionConsistency",
    "DeletionProtectionEnabled",
    "OnDemandThroughput",
    "WarmThroughput",
    "TableClass",
)


def _nothing_to_update(p: Mapping[str, Any]) -> ValidationException:
    named = [m for m in _UPDATABLE if m not in p]
    return ValidationException(f"At least one of {', '.join(named[:-1])} or {named[-1]} is required")


@operation("UpdateTable")
def update_table(state: DynamoState, ctx: RequestContext, p: UpdateTableInput) -> dict:
    # what needs no table is answered before the lookup, as AWS orders its checks
    if p.keys() <= {"TableName", "AttributeDefinitions"}:
        raise _nothing_to_update(p)
    _check_index_updates(p.get("GlobalSecondaryIndexUpdates"))
    _check_update_combination(p)
    _check_stream_spec(p.get("StreamSpecification"), creating=False)
    _check_sse_spec(p.get("SSESpecification"))
    _check_table_class(p)
    t = state.table(ctx, p["TableName"], control=True)
    _check_not_in_transition(state, t)
    _check_sse_resend(t, p.get("SSESpecification"))
    now = time.time()
    draft, effects = _draft_update(state, ctx, t, p, now)
    created = [ix for ix in draft.gsis if t.index(ix.name) is None]
    if t.stream_enabled and not draft.stream_enabled:
        state.stream_closing(t)
    for f in fields(Table):  # the table object stays the one every other part holds
        setattr(t, f.name, getattr(draft, f.name))
    forget_schema(t)
    delay = state.settings.status_delay
    if delay > 0:
        t.status, t.active_at = "UPDATING", now + delay
    if effects and state.cluster:  # stored first: writes through other nodes then know of it
        _store_before_backfill(state, t, created)
    for effect in effects:  # bound to the draft's indexes, which are now the table's
        effect()
    state.catalog.put(t)
    return {"TableDescription": _as_updating(describe_table(t), p)}


def _store_before_backfill(state: DynamoState, t: Table, created: list[Index]) -> None:
    """Cluster mode: the table's new definition is stored before the new indexes' backfill
    (Catalog._write_definition: every write from then on maintains them), with them CREATING
    and backfilling, as the other nodes describe them until the backfill stores them as they
    end (ItemStore._recount_index). A node killed meanwhile leaves them so: the sign to delete
    and add the index again."""
    final = [(ix.status, ix.backfilling, ix.active_at) for ix in created]
    for ix in created:
        ix.status, ix.backfilling, ix.active_at = "CREATING", True, math.inf
    try:
        state.catalog.put(t)
    finally:
        for ix, (status, backfilling, active_at) in zip(created, final):
            ix.status, ix.backfilling, ix.active_at = status, backfilling, active_at


def _as_updating(desc: dict[str, Any], p: Mapping[str, Any]) -> dict[str, Any]:
    """UpdateTable's answer: the table UPDATING and each index this call creates CREATING with
    ``Backfilling: false``, even when the change is done at once (AWS answers UPDATING even for a
    no-op and DescribeTable reads ACTIVE right after: ack-api-quirks DDB-TABLE-177, 2026-10-08;
    the developer guide's "Adding a global secondary index" answer)."""
    desc["TableStatus"] = "UPDATING"
    created = {
        u["Create"]["IndexName"] for u in p.get("GlobalSecondaryIndexUpdates") or [] if u.get("Create")
    }
    for index in desc.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] in created:
            index["IndexStatus"] = "CREATING"
            index["Backfilling"] = False
            if "WarmThroughput" in index:
                index["WarmThroughput"]["Status"] = "CREATING"
    return desc
