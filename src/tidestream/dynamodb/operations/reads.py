"""Query and Scan: key ranges, paging (Limit, 1 MB, ExclusiveStartKey), filters, Select."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ...context import RequestContext
from ...errors import ValidationException
from ..attributes import current_value_layer, from_wire_item
from ..capacity import Consumed, query_read_units, wants_capacity
from ..keys import MSG_SCHEMA_MISMATCH, validate_key
from ..ranges import bounds, resume_key, segment_bounds
from ..request import ReadExpressions
from ..sizes import item_size
from ..state import DynamoState, schema_of
from ..tables import Index, Table
from . import operation

if TYPE_CHECKING:
    from ...protocol.shapes.dynamodb import QueryInput, ScanInput


PAGE_BYTES = 1024 * 1024
_INVALID = "One or more parameter values were invalid: "


def _index(table: Table, p: Mapping[str, Any]) -> Index | None:
    name = p.get("IndexName")
    if name is None:
        return None
    ix = table.index(name)
    if ix is None:
        raise ValidationException(f"The table does not have the specified index: {name}")
    return ix


def _check_select(p: Mapping[str, Any], ex: ReadExpressions) -> None:
    """Select's combinations that need no table (AWS answers them before the table lookup)."""
    select = p.get("Select")
    if select is None:
        return
    has_proj = ex.has_projection
    if select == "SPECIFIC_ATTRIBUTES" and not has_proj:
        raise ValidationException(
            f"{_INVALID}Select type SPECIFIC_ATTRIBUTES requires a ProjectionExpression or AttributesToGet"
        )
    if select != "SPECIFIC_ATTRIBUTES" and has_proj:
        which = "ProjectionExpression" if p.get("ProjectionExpression") else "AttributesToGet"
        raise ValidationException(f"Cannot specify the {which} when choosing to get {select}")
    if select == "ALL_PROJECTED_ATTRIBUTES" and p.get("IndexName") is None:
        raise ValidationException(
            f"{_INVALID}Select type ALL_PROJECTED_ATTRIBUTES is not supported for tables; use ALL_ATTRIBUTES"
        )


def _select(p: Mapping[str, Any], ix: Index | None, ex: ReadExpressions) -> str:
    """The effective Select, once the index read is known (a GSI must project ALL for ALL_ATTRIBUTES)."""
    select = p.get("Select")
    if select is None:
        return (
            "SPECIFIC_ATTRIBUTES"
            if ex.has_projection
            else ("ALL_PROJECTED_ATTRIBUTES" if ix is not None else "ALL_ATTRIBUTES")
        )
    if select == "ALL_ATTRIBUTES" and ix is not None and not ix.local and ix.projection_type != "ALL":
        raise ValidationException(
            f"{_INVALID}Select type ALL_ATTRIBUTES is not supported for global secondary index "
            f"{ix.name} because its projection type is not ALL"
        )
    return select


def _page(
    state: DynamoState,
    table: Table,
    ix: Index | None,
    entries: Iterator[tuple[bytes, dict]],
    p: Mapping[str, Any],
    ex: ReadExpressions,
    select: str,
    key_of_entry,
) -> dict:
    limit = p.get("Limit")
    out_items: list[dict] = []
    matched = 0
    scanned = 0
    size = 0
    last: dict | None = None
    fetch_table = _reads_table_items(ix, select)
    stopped_early = False
    for _, item in entries:
        if (limit is not None and scanned >= limit) or size >= PAGE_BYTES:
            stopped_early = True
            break
        if fetch_table:
            full = state.items.get(state.items.item_key(table, item))
            item = full if full is not None else item
        scanned += 1
        size += item_size(item)
        last = item
        if ex.filter_holds(item):
            matched += 1
            if select != "COUNT":
                out_items.append(ex.project(item))
    result: dict[str, Any] = {}
    if select != "COUNT":
        result["Items"] = out_items
    result["Count"] = matched
    result["ScannedCount"] = scanned
    # AWS returns a LastEvaluatedKey when the Limit is reached, even if nothing follows
    if last is not None and (stopped_early or scanned == limit):
        result["LastEvaluatedKey"] = key_of_entry(last)
    mode = p.get("ReturnConsumedCapacity")
    if wants_capacity(mode):
        result["ConsumedCapacity"] = _read_capacity(table, ix, size, p).render(mode)
    return result


def _reads_table_items(ix: Index | None, select: str) -> bool:
    """ALL_ATTRIBUTES from a local index that projects less fetches each item from the table."""
    return ix is not None and ix.local and ix.projection_type != "ALL" and select == "ALL_ATTRIBUTES"


def _read_capacity(table: Table, ix: Index | None, size: int, p: Mapping[str, Any]) -> Consumed:
    """A page's read units are charged to the table or to the index it read."""
    c = Consumed(table.name)
    units = query_read_units(size, bool(p.get("ConsistentRead")))
    if ix is None:
        c.add_table(units)
    else:
        c.add_index(ix.name, units, not ix.local)
    return c


def _key_extractor(table: Table, ix: Index | None):
    names = list(table.key_names)
    if ix is not None:
        names += [n for n, _ in ix.key_schema if n not in names]

    def key_of(item: dict) -> dict:
        return {n: item[n] for n in names if n in item}

    return key_of


_BAD_START = "The provided starting key is invalid"


def _start_after(
    state: DynamoState,
    table: Table,
    ix: Index | None,
    p: Mapping[str, Any],
    ex: ReadExpressions | None = None,
    segment: tuple[int, int] | None = None,
) -> bytes | None:
    """Validate ExclusiveStartKey (DynamoDB's checks and messages, Query and Scan differ) and
    return the engine key to resume after. ``ex`` is the Query's expressions (None for Scan)."""
    esk = p.get("ExclusiveStartKey")
    if not esk:
        return None
    key = from_wire_item(esk)
    _check_start_key_shape(table, ix, key, query=ex is not None)
    if ex is not None:  # a Query
        _check_start_in_query(ex, key)
    try:
        after = resume_key(state.items, table, ix, key)
    except (KeyError, ValueError, TypeError):
        raise ValidationException(f"{_BAD_START}: {MSG_SCHEMA_MISMATCH}") from None
    if segment is not None:
        _check_start_in_segment(table, ix, segment, after)
    return after


def _check_start_key_shape(table: Table, ix: Index | None, key: dict, *, query: bool) -> None:
    """The start key names exactly the table's (and index's) key attributes, with their types.
    A table Scan's messages name the schema mismatch; Query and index reads' do not."""
    needed = list(table.key_names) + ([n for n, _ in ix.key_schema if n not in table.key_names] if ix else [])
    if len(key) != len(needed):
        raise ValidationException(
            _BAD_START if query or ix is not None else f"{_BAD_START}: {MSG_SCHEMA_MISMATCH}"
        )
    if query or ix is not None:
        _check_start_key_types(table, ix, key)
    try:
        validate_key({n: key[n] for n in table.key_names if n in key}, schema_of(table))
    except ValidationException as err:
        raise ValidationException(f"{_BAD_START}: {err.message}") from None


def _check_start_key_types(table: Table, ix: Index | None, key: dict) -> None:
    types = table.attribute_types
    for name, _ in ix.key_schema if ix is not None else table.key_schema:
        av = key.get(name)
        if av is None or types.get(name) not in av:
            raise ValidationException(_BAD_START)


def _check_start_in_query(ex: ReadExpressions, key: dict) -> None:
    """A Query's start key must satisfy its own key condition."""
    kc = ex.key_condition
    if any(key.get(n) != v for n, v in kc.partition.items()):
        raise ValidationException(
            "The provided starting key is outside query boundaries based on provided conditions"
        )
    if not all(c.matches(key.get(c.attribute)) for c in kc.sort):
        raise ValidationException("The provided starting key does not match the range key predicate")


def _check_start_in_segment(table: Table, ix: Index | None, segment: tuple[int, int], after: bytes) -> None:
    lo, hi = segment_bounds(table, ix, *segment)
    if not lo <= after < hi:
        raise ValidationException(
            f"{_BAD_START}: Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct "
            f"Segment. TotalSegments: {segment[1]} Segment: {segment[0]}"
        )


def _iterate(state: DynamoState, start: bytes, end: bytes, reverse: bool, after: bytes | None):
    if after is not None:
        if reverse:
            end = min(end, after)
        else:
            start = max(start, after + b"\x00")
    return state.items.scan_range(start, end, reverse)


def _check_segments(p: Mapping[str, Any]) -> tuple[int, int] | None:
    """Scan's Segment/TotalSegments pair (no table needed), or None for a whole-table scan."""
    seg, total = p.get("Segment"), p.get("TotalSegments")
    # AWS words the two cases differently ("when Segment parameter is present" but "when parameter
    # TotalSegments is present"): dynalite's scan validation and a conformance suite's exact-message
    # Scan tests run against AWS agree on both texts.
    if seg is None:
        if total is not None:
            raise ValidationException(
                "The Segment parameter is required but was not present in the "
                "request when parameter TotalSegments is present"
            )
        return None
    if total is None:
        raise ValidationException(
            "The TotalSegments parameter is required but was not present in the "
            "request when Segment parameter is present"
        )
    if seg >= total:
        raise ValidationException(
            f"The Segment parameter is zero-based and must be less than parameter TotalSegments: "
            f"Segment: {seg} is not less than TotalSegments: {total}"
        )
    return seg, total


def _check_consistent_read(p: Mapping[str, Any], ix: Index | None) -> None:
    if ix is not None and not ix.local and p.get("ConsistentRead"):
        raise ValidationException("Consistent reads are not supported on global secondary indexes")


@operation("Query")
@current_value_layer(envelope=False)
def query(state: DynamoState, ctx: RequestContext, p: QueryInput) -> dict:
    ex = ReadExpressions.from_request(p, "Query")
    _check_select(p, ex)
    table = state.table(ctx, p["TableName"], index=p.get("IndexName"))
    ix = _index(table, p)
    ex.bind_key(table, ix)
    select = _select(p, ix, ex)
    _check_consistent_read(p, ix)
    kr = ex.key_range()
    start, end = bounds(table, ix, kr)
    reverse = p.get("ScanIndexForward") is False
    after = _start_after(state, table, ix, p, ex)
    ex.check_filter_keys(ix.key_schema if ix is not None else table.key_schema)
    entries = _iterate(state, start, end, reverse, after)
    return _page(state, table, ix, entries, p, ex, select, _key_extractor(table, ix))


@operation("Scan")
def scan(state: DynamoState, ctx: RequestContext, p: ScanInput) -> dict:
    ex = ReadExpressions.from_request(p, "Scan")
    _check_select(p, ex)
    segment = _check_segments(p)
    table = state.table(ctx, p["TableName"], index=p.get("IndexName"))
    ix = _index(table, p)
    select = _select(p, ix, ex)
    _check_consistent_read(p, ix)
    if segment is not None:
        start, end = segment_bounds(table, ix, *segment)
    else:
        start, end = state.items.index_bounds(ix) if ix is not None else state.items.table_bounds(table)
    after = _start_after(state, table, ix, p, None, segment)
    entries = _iterate(state, start, end, False, after)
    return _page(state, table, ix, entries, p, ex, select, _key_extractor(table, ix))
