"""Run parsed PartiQL statements on the item store, by translation to the existing internals.

* SELECT with an equality (or IN / OR of equalities) on the partition key of the table or index
  is a Query of each named partition (narrowed by a sort key condition when the WHERE has one at
  the top level); anything else is a Scan. The whole WHERE is then applied as a filter. ``Limit``
  counts items read, pages stop at 1 MB, and ``NextToken`` resumes after the last key read.
* INSERT is a put that fails with DuplicateItem when the key exists; UPDATE is an update that
  needs the item to exist and the WHERE to hold; DELETE deletes if the WHERE holds (a missing
  item is not an error); EXISTS (transactions only) is a condition check. Each write is a
  :class:`WritePlan`; callers read the old item, :meth:`WritePlan.run` it, and commit the
  resulting :class:`~tidestream.dynamodb.itemstore.Change` through ``ItemStore.commit`` (so
  change data capture sees PartiQL writes like any other).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import orjson

from ... import nexttokens
from ...context import RequestContext
from ...errors import ValidationException
from ..capacity import Consumed, query_read_units
from ..expressions import ast as A
from ..expressions import compile_condition, compile_update
from ..expressions.projection import project
from ..expressions.values import compare, equal, get_path, type_of
from ..itemstore import Change
from ..keys import validate_item_keys, validate_key
from ..operations.tables import java_hash_set_order
from ..ranges import KeyRange, bounds
from ..sizes import MSG_ITEM_TOO_BIG, MSG_NESTING, check_item_size, item_size
from ..state import DynamoState, schema_of
from ..tables import Index, Table
from .errors import (
    MSG_BAD_START,
    MSG_CONSISTENT_GSI,
    MSG_DUPLICATE_ITEM,
    MSG_INCOMPLETE_KEY,
    MSG_INVALID_NEXT_TOKEN,
    MSG_MULTI_ATTRIBUTE_INDEX,
    MSG_TX_EXISTS,
    KeyFault,
    validation,
)
from .keyplan import KeyPlan, check_select_keys, unprojected_filter_attributes
from .parser import Delete, Exists, Insert, Select, Statement, Update

Item = dict[str, dict[str, Any]]
PAGE_BYTES = 1024 * 1024
MSG_CONDITIONAL = "The conditional request failed"
#: Floci's refusesTwoValuesForOneKeyOnAWriteAndReadsTheFirstInExists (DynamoDB, 2026-09-17)
MSG_MULTIPLE_KEY = (
    "Multiple conditions on same key {name}. Only single item Update/Insert/Delete are supported"
)
#: an UPDATE whose result breaks an item limit is told in PartiQL's own words (the nesting text:
#: Floci's refusesAWriteThatLeavesTheItemTooDeep, captured from DynamoDB in eu-west-2, 2026-09-17)
_UPDATE_RESULT_FAULTS = {
    MSG_ITEM_TOO_BIG: "Item size to update has exceeded the maximum allowed size",
    MSG_NESTING: "Nesting Levels have exceeded supported limits",
}


class StatementFailure(Exception):
    """A write whose condition failed: ``code`` is the batch/transaction code (ConditionalCheckFailed,
    DuplicateItem), ``item`` the old item (for ReturnValuesOnConditionCheckFailure=ALL_OLD)."""

    def __init__(self, code: str, message: str, item: Item | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.item = item


# ---------------------------------------------------------------------------- conditions
def conjuncts(node) -> list:
    """The top-level AND operands of a condition."""
    if node is None:
        return []
    if type(node) is A.And:
        return conjuncts(node.left) + conjuncts(node.right)
    return [node]


def _path_name(node) -> str | None:
    if type(node) is A.Path and len(node.elements) == 1:
        return cast(str, node.elements[0])  # a PartiQL path starts with a name (no #aliases)
    return None


def _equality(node, values: dict, with_in: bool = True) -> tuple[str, dict] | None:
    """``name = value`` (either way round), or ``name IN [one value]``, as (name, value)."""
    if type(node) is A.Compare and node.op == "=":
        for a, b in ((node.left, node.right), (node.right, node.left)):
            name = _path_name(a)
            if name is not None and type(b) is A.ValueRef:
                return name, values[b.name]
    if with_in and type(node) is A.In and len(node.options) == 1 and type(node.options[0]) is A.ValueRef:
        name = _path_name(node.operand)
        if name is not None:
            return name, values[node.options[0].name]
    return None


def key_values(
    where, values: dict, names: tuple[str, ...], with_in: bool = True
) -> tuple[dict[str, list[dict]], list]:
    """The WHERE's top-level conjuncts split into equalities on the named key attributes (every
    value each is given, in order) and the other conjuncts."""
    found: dict[str, list[dict]] = {}
    rest = []
    for c in conjuncts(where):
        eq = _equality(c, values, with_in)
        if eq is not None and eq[0] in names:
            found.setdefault(eq[0], []).append(eq[1])
        else:
            rest.append(c)
    return found, rest


def _conflicting(found: dict[str, list[dict]]) -> str | None:
    """A key attribute the WHERE gives two different values (the same one twice is fine)."""
    for name, given in found.items():
        if any(not equal(given[0], other) for other in given[1:]):
            return name
    return None


def _strip_label(err: ValidationException, label: str) -> ValidationException:
    prefix = f"Invalid {label}: "
    if err.message.startswith(prefix):
        return ValidationException(err.message[len(prefix) :])
    return err


def compile_where(where, values: dict) -> Callable[[Item], bool] | None:
    if where is None:
        return None
    parsed = A.Parsed("ConditionExpression", "", where, (), ())
    try:
        return compile_condition(parsed, None, values)
    except ValidationException as err:
        raise _strip_label(err, "ConditionExpression") from None


def _partitions(node, hash_key: str, values: dict) -> list[dict] | None:
    """Partition key values a condition restricts reads to, or None if it reads any partition."""
    t = type(node)
    eq = _equality(node, values)
    if eq is not None:
        return [eq[1]] if eq[0] == hash_key else None
    if t is A.In:
        return _in_partitions(node, hash_key, values)
    if t is A.And or t is A.Or:
        left = _partitions(node.left, hash_key, values)
        right = _partitions(node.right, hash_key, values)
        return _combine_partitions(t is A.And, left, right)
    return None


def _in_partitions(node: A.In, hash_key: str, values: dict) -> list[dict] | None:
    """``pk IN [?, ?]`` reads those partitions; an IN over other operands reads any."""
    refs = [o for o in node.options if type(o) is A.ValueRef]
    if _path_name(node.operand) == hash_key and len(refs) == len(node.options):
        return _dedupe([values[o.name] for o in refs])
    return None


def _combine_partitions(
    conjunction: bool, left: list[dict] | None, right: list[dict] | None
) -> list[dict] | None:
    """AND narrows to the common partitions (or either side's); OR needs both sides bounded."""
    if left is not None and right is not None:
        if conjunction:
            return [v for v in left if any(equal(v, w) for w in right)]
        return _dedupe(left + right)
    if conjunction:
        return left if left is not None else right
    return None


def _dedupe(vals: list[dict]) -> list[dict]:
    out: list[dict] = []
    for v in vals:
        if not any(equal(v, w) for w in out):
            out.append(v)
    return out


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}


def _sort_condition(where, sort_key: str, sort_type: str, values: dict):
    """A top-level condition on the sort key usable as a key range: (op, [values]) or None."""
    for c in conjuncts(where):
        recognise = _SORT_RANGE_OF.get(type(c))
        found = recognise(c, sort_key, sort_type, values) if recognise is not None else None
        if found is not None:
            return found
    return None


def _compare_range(c, sort_key: str, sort_type: str, values: dict):
    """``sk < ?`` or ``? > sk`` (flipped so the sort key is on the left)."""
    if c.op not in _FLIP:
        return None
    for a, b, op in ((c.left, c.right, c.op), (c.right, c.left, _FLIP[c.op])):
        if _path_name(a) == sort_key and type(b) is A.ValueRef and sort_type in values[b.name]:
            return op, [values[b.name]]
    return None


def _between_range(c, sort_key: str, sort_type: str, values: dict):
    if _path_name(c.operand) != sort_key or type(c.low) is not A.ValueRef or type(c.high) is not A.ValueRef:
        return None
    lo, hi = values[c.low.name], values[c.high.name]
    if sort_type in lo and sort_type in hi:
        return "BETWEEN", [lo, hi]
    return None


def _begins_with_range(c, sort_key: str, sort_type: str, values: dict):
    """begins_with on a string or binary sort key is a prefix range."""
    if c.name != "begins_with" or _path_name(c.args[0]) != sort_key or type(c.args[1]) is not A.ValueRef:
        return None
    if sort_type in ("S", "B") and sort_type in values[c.args[1].name]:
        return "begins_with", [values[c.args[1].name]]
    return None


_SORT_RANGE_OF = {A.Compare: _compare_range, A.Between: _between_range, A.Call: _begins_with_range}


# ---------------------------------------------------------------------------- SELECT
@dataclass
class SelectPlan:
    stmt: Select
    table: Table
    index: Index | None
    filter: Callable[[Item], bool] | None
    #: (start, end) key ranges read in order, and whether each is read backwards
    ranges: list[tuple[bytes, bytes]]
    reverse: bool
    consistent: bool
    #: partition values, when the read is a Query of named partitions (None for a Scan)
    partitions: list[dict] | None

    @property
    def key_names(self) -> list[str]:
        names = list(self.table.key_names)
        if self.index is not None:
            names += [n for n, _ in self.index.key_schema if n not in names]
        return names

    def project(self, item: Item) -> Item:
        proj = self.stmt.projection
        if proj is None:
            return item
        out: Item = {}
        for path, name in proj:
            v = get_path(item, path)
            if v is not None:
                out[name] = v
        return out

    def full_key(self) -> dict | None:
        """The table key when the WHERE is nothing but equalities naming one item by its full
        primary key (a batch or transaction read allows no other condition: Floci's
        readsOnlyByTheKeyInATransaction, captured from DynamoDB, eu-west-2, 2026-09-17)."""
        if self.index is not None:
            return None
        names = self.table.key_names
        found, rest = key_values(self.stmt.where, self.stmt.values, names)
        if rest or len(found) != len(names) or _conflicting(found) is not None:
            return None
        return {n: found[n][0] for n in names}


def plan_select(
    state: DynamoState, ctx: RequestContext, stmt: Select, consistent: bool = False
) -> SelectPlan:
    table = state.table(ctx, stmt.table, index=stmt.index)
    index = _select_index(table, stmt, consistent)
    key_schema = index.key_schema if index is not None else table.key_schema
    hash_names = [n for n, t in key_schema if t == "HASH"]
    values = stmt.values
    filt = compile_where(stmt.where, values)
    _check_reads(table, index, stmt, key_schema)
    partitions = None
    if stmt.where is not None and len(hash_names) == 1:
        partitions = _partitions(stmt.where, hash_names[0], values)
    reverse = False
    if stmt.order_by:
        partitions, reverse = _apply_order(stmt, partitions, key_schema)
    if partitions is None:
        ranges = [state.items.index_bounds(index) if index is not None else state.items.table_bounds(table)]
    else:
        ranges = _partition_ranges(table, index, stmt, partitions, key_schema)
    return SelectPlan(stmt, table, index, filt, ranges, reverse, consistent, partitions)


def _select_index(table, stmt: Select, consistent: bool):
    """The index named in FROM (None for the table), refusing a consistent read of a GSI."""
    if stmt.index is None:
        return None
    index = table.index(stmt.index)
    if index is None:
        raise validation(f"The table does not have the specified index: {stmt.index}")
    kinds = [kind for _, kind in index.key_schema]
    if kinds.count("HASH") > 1 or kinds.count("RANGE") > 1:  # ahead of every WHERE/key rule
        raise validation(MSG_MULTI_ATTRIBUTE_INDEX)
    if consistent and not index.local:
        raise validation(MSG_CONSISTENT_GSI)
    return index


def _check_reads(table: Table, index: Index | None, stmt: Select, key_schema: list) -> None:
    """What DynamoDB refuses once it knows the table: a GSI asked for what it does not project,
    and the key reads the WHERE decomposes into (:mod:`.keyplan`)."""
    partial_gsi = index is not None and not index.local and index.projection_type != "ALL"
    if partial_gsi:
        _check_gsi_projection(table, cast(Index, index), stmt)
    if stmt.where is None or [kind for _, kind in key_schema].count("HASH") != 1:
        return
    plan = check_select_keys(stmt.where, stmt.values, key_schema, table.attribute_types)
    if partial_gsi:
        _check_gsi_filters(table, cast(Index, index), plan)


def _projected(table: Table, index: Index) -> set[str]:
    keys = {n for n, _ in table.key_schema} | {n for n, _ in index.key_schema}
    return keys | set(index.non_key_attributes if index.projection_type == "INCLUDE" else ())


def _check_gsi_projection(table: Table, index: Index, stmt: Select) -> None:
    """A GSI cannot reach outside its projection: every SELECTed attribute it does not project,
    in statement order (paritysuite tier2/partiql/executeStatementIndex.test.ts, 2026-09)."""
    if stmt.projection is None:
        return
    projected = _projected(table, index)
    missing = list(dict.fromkeys(str(path[0]) for path, _ in stmt.projection if path[0] not in projected))
    if missing:
        raise validation(
            "One or more parameter values were invalid: Global secondary index "
            f"{index.name} does not project [{', '.join(missing)}]"
        )


def _check_gsi_filters(table: Table, index: Index, plan: KeyPlan) -> None:
    """Filters a keyed GSI read cannot evaluate (see :mod:`.keyplan`), named as AWS's
    java.util.HashSet lists them."""
    missing = unprojected_filter_attributes(plan, _projected(table, index))
    if missing:
        raise validation(
            f"One or more parameter values were invalid: Secondary index {index.name} does not project "
            f"one or more filter attributes: [{', '.join(java_hash_set_order(missing))}]"
        )


def _apply_order(stmt: Select, partitions: list | None, key_schema) -> tuple[list, bool]:
    """Check ORDER BY (a WHERE naming partitions, key attributes only) and apply it: partitions
    sorted by the hash key, and whether each partition is read backwards."""
    order = stmt.order_by
    if stmt.where is None:
        raise validation("Must have WHERE clause in the statement when using ORDER BY clause.")
    if partitions is None:
        raise validation(
            "Must have at least one non-optional hash key condition in WHERE "
            "clause when using ORDER BY clause."
        )
    names = {n for n, _ in key_schema}
    for name, _ in order:
        if name not in names:
            raise validation(f"Variable reference {name} in ORDER BY clause must be part of the primary key")
    hk = next(n for n, t in key_schema if t == "HASH")
    if len(partitions) > 1 and not any(n == hk for n, _ in order):
        raise validation(
            "Must have hash key in ORDER BY clause when more than one hash key "
            "condition specified in WHERE clause."
        )
    reverse = False
    for name, desc in order:
        if name == hk:
            partitions = sorted(partitions, key=_SortKey)
            if desc:
                partitions.reverse()
        elif desc:
            reverse = True
    return partitions, reverse


def _partition_ranges(table, index, stmt: Select, partitions: list, key_schema) -> list[tuple[bytes, bytes]]:
    """One key range per partition value of the hash key's type, narrowed by the sort condition."""
    hash_name = next(n for n, t in key_schema if t == "HASH")
    range_names = [n for n, t in key_schema if t == "RANGE"]
    types = table.attribute_types
    sort_cond = None
    if len(range_names) == 1:
        sort_cond = _sort_condition(stmt.where, range_names[0], types.get(range_names[0], ""), stmt.values)
    ranges: list[tuple[bytes, bytes]] = []
    for pv in partitions:
        if types.get(hash_name, "") not in pv:
            continue  # a value of another type names no partition
        kr = KeyRange(partition=[pv], sort_condition=sort_cond)
        ranges.append(bounds(table, index, kr))
    return ranges


class _SortKey:
    """Orders key values (one type) the way DynamoDB sorts them."""

    __slots__ = ("v",)

    def __init__(self, v: dict) -> None:
        self.v = v

    def __lt__(self, other: _SortKey) -> bool:
        c = compare(self.v, other.v)
        if c is None:
            return type_of(self.v) < type_of(other.v)
        return c < 0


def _fingerprint(statement: str, parameters: Any) -> str:
    raw = orjson.dumps([statement, parameters], option=orjson.OPT_SORT_KEYS, default=repr)
    return hashlib.sha256(raw).hexdigest()[:24]


def encode_token(fingerprint: str, range_index: int, key: bytes) -> str:
    fields = {"f": fingerprint, "r": range_index, "k": base64.b64encode(key).decode("ascii")}
    return nexttokens.encode(fields, urlsafe=False)


def decode_token(token: str, fingerprint: str) -> tuple[int, bytes]:
    try:
        body = nexttokens.decode(token, urlsafe=False)
        range_index, key, f = int(body["r"]), base64.b64decode(body["k"]), body["f"]
    except Exception:
        raise validation(MSG_INVALID_NEXT_TOKEN) from None
    if f != fingerprint:
        raise validation(MSG_BAD_START)
    return range_index, key


def run_select(
    state: DynamoState,
    plan: SelectPlan,
    statement: str,
    parameters: Any,
    limit: int | None,
    next_token: str | None,
    mode: str | None,
) -> dict:
    """One page of a SELECT: Items, and NextToken/LastEvaluatedKey when more may follow."""
    fingerprint = _fingerprint(statement, parameters)
    start_range, after = 0, None
    if next_token:
        start_range, after = decode_token(next_token, fingerprint)
    entries = _entries(state, plan, start_range, after)
    items: list[Item] = []
    size = 0
    last: tuple[int, bytes, Item] | None = None
    more = False
    for scanned, (ri, k, item) in enumerate(entries):
        if (limit is not None and scanned >= limit) or size >= PAGE_BYTES:
            more = True
            break
        size += item_size(item)
        last = (ri, k, item)
        if plan.filter is None or plan.filter(item):
            items.append(plan.project(item))
    out: dict[str, Any] = {"Items": items}
    if more and last is not None:
        out["NextToken"] = encode_token(fingerprint, last[0], last[1])
        out["LastEvaluatedKey"] = {n: last[2][n] for n in plan.key_names if n in last[2]}
    c = read_capacity(plan, size, mode)
    if c is not None:
        out["ConsumedCapacity"] = c
    return out


def read_capacity(plan: SelectPlan, size: int, mode: str | None) -> dict | None:
    if mode not in ("TOTAL", "INDEXES"):
        return None
    c = Consumed(plan.table.name)
    units = query_read_units(size, plan.consistent)
    if plan.index is None:
        c.add_table(units)
    else:
        c.add_index(plan.index.name, units, not plan.index.local)
    return c.render(mode)


def _entries(
    state: DynamoState, plan: SelectPlan, start_range: int, after: bytes | None
) -> Iterator[tuple[int, bytes, Item]]:
    for ri in range(start_range, len(plan.ranges)):
        start, end = plan.ranges[ri]
        if ri == start_range and after is not None:
            if plan.reverse:
                end = min(end, after)
            else:
                start = max(start, after + b"\x00")
        for k, item in state.items.scan_range(start, end, plan.reverse):
            yield ri, k, item


def get_one(state: DynamoState, plan: SelectPlan) -> tuple[Item | None, int]:
    """A single-item read (batch and transaction SELECTs): the projected item if it exists and
    the WHERE holds, and the size read."""
    key = plan.full_key()
    assert key is not None
    table = plan.table
    if any(table.attribute_types.get(n, "") not in v for n, v in key.items()):
        return None, 0
    item = state.items.get(state.items.item_key(table, key))
    if item is None:
        return None, 0
    if plan.filter is not None and not plan.filter(item):
        return None, item_size(item)
    return plan.project(item), item_size(item)


# ---------------------------------------------------------------------------- writes
@dataclass
class WritePlan:
    stmt: Statement
    kind: str
    table: Table
    key: bytes
    key_item: Item
    item: Item | None = None
    condition: Callable[[Item], bool] | None = None
    update: Any = None
    returning: str | None = None

    def run(self, old: Item | None) -> tuple[bool, Item | None]:
        """(writes?, new item) for the old item; raises StatementFailure or ValidationException."""
        kind = self.kind
        if kind == "INSERT":
            if old is not None:
                raise StatementFailure("DuplicateItem", MSG_DUPLICATE_ITEM)
            return True, self.item
        if kind == "DELETE":
            if old is None:
                return False, None
            self._check(old)
            return True, None
        if old is None:
            raise StatementFailure("ConditionalCheckFailed", MSG_CONDITIONAL)
        self._check(old)
        if kind == "EXISTS":
            return False, old
        new = self.update.apply(old)
        validate_item_keys(new, schema_of(self.table), update=True)
        try:
            check_item_size(new)
        except ValidationException as err:
            raise ValidationException(_UPDATE_RESULT_FAULTS.get(err.message, err.message)) from None
        return new != old, new

    def _check(self, old: Item) -> None:
        if self.condition is not None and not self.condition(old):
            raise StatementFailure("ConditionalCheckFailed", MSG_CONDITIONAL, old)

    def returned(self, old: Item | None, new: Item | None) -> list[Item]:
        rv = self.returning
        if rv is None:
            return []
        if rv == "ALL_OLD":
            return [old] if old else []
        if rv == "ALL_NEW":
            return [new] if new else []
        src = old if rv == "UPDATED_OLD" else new
        parts = project(src or {}, self.update.paths) if self.update is not None else {}
        return [parts] if parts else []


def _key_from_where(table: Table, stmt, with_in: bool = True) -> Item:
    """The item an UPDATE or DELETE names: an equality on every key attribute (a key given two
    different values is refused); ``with_in``: a one-value IN counts as an equality."""
    names = table.key_names
    found, _ = key_values(stmt.where, stmt.values, names, with_in)
    if len(found) != len(names):
        raise KeyFault(MSG_INCOMPLETE_KEY)
    conflict = _conflicting(found)
    if conflict is not None:
        raise KeyFault(MSG_MULTIPLE_KEY.format(name=conflict))
    key = {n: found[n][0] for n in names}
    _check_key_types(table, key)
    return key


def _check_key_types(table: Table, key: Item) -> None:
    for name, av in key.items():
        if type_of(av) not in ("S", "N", "B"):
            raise KeyFault(f"Key value must be of type S, N, or B. Key name: {name}, Key type: {type_of(av)}")
        if table.attribute_types.get(name) not in av:
            raise KeyFault(
                f"Key attribute's data type should match its data type in table's schema: Key {name}"
            )
    validate_key(key, schema_of(table))


def _exists_key(table: Table, sel: Select) -> Item:
    """The item an EXISTS reads: equalities (no IN) on the whole key, the first value of a key
    given twice, and at least one further condition."""
    names = table.key_names
    found, rest = key_values(sel.where, sel.values, names, with_in=False)
    if len(found) != len(names) or not rest:
        raise validation(MSG_TX_EXISTS)
    key = {n: found[n][0] for n in names}
    _check_key_types(table, key)
    return key


def _insert_key(table: Table, item: Item) -> Item:
    for name in table.key_names:
        av = item.get(name)
        if av is None:
            raise KeyFault(
                f"Key attribute should be present in the item: Key {name}",
                f"One or more parameter values were invalid: Missing the key {name} in the item",
            )
        expected = table.attribute_types.get(name, "")
        if expected not in av:
            raise KeyFault(
                f"Key attribute's data type should match its data type in table's schema: Key {name}",
                "One or more parameter values were invalid: Type mismatch for key "
                f"{name} expected: {expected} actual: {type_of(av)}",
            )
    return {n: item[n] for n in table.key_names}


def plan_write(
    state: DynamoState, ctx: RequestContext, stmt: Statement, in_transaction: bool = False
) -> WritePlan:
    """A write's plan; in a transaction a one-value IN does not name a key attribute."""
    table = state.table(ctx, stmt.table)
    if isinstance(stmt, Insert):
        item = stmt.item
        key_item = _insert_key(table, item)
        validate_item_keys(item, schema_of(table))
        check_item_size(item)
        return WritePlan(stmt, "INSERT", table, state.items.item_key(table, item), key_item, item=item)
    if isinstance(stmt, Exists):
        sel = stmt.select
        if sel.index is not None:
            raise validation("Operations on indices are not supported in transactions")
        key = _exists_key(table, sel)
        return WritePlan(
            stmt,
            "EXISTS",
            table,
            state.items.item_key(table, key),
            key,
            condition=compile_where(sel.where, sel.values),
        )
    assert isinstance(stmt, (Update, Delete))
    key = _key_from_where(table, stmt, with_in=not in_transaction)
    cond = compile_where(stmt.where, stmt.values)
    upd = None
    if isinstance(stmt, Update):
        parsed = A.Parsed("UpdateExpression", "", stmt.update, (), ())
        try:
            upd = compile_update(parsed, None, stmt.values, table.key_names)
        except ValidationException as err:
            raise _strip_label(err, "UpdateExpression") from None
    return WritePlan(
        stmt,
        stmt.kind,
        table,
        state.items.item_key(table, key),
        key,
        condition=cond,
        update=upd,
        returning=stmt.returning,
    )


def write_capacity(
    per: dict[str, Consumed],
    plan: WritePlan,
    old: Item | None,
    new: Item | None,
    transactional: bool = False,
) -> None:
    c = per.get(plan.table.name)
    if c is None:
        c = per[plan.table.name] = Consumed(
            plan.table.name, split="WriteCapacityUnits" if transactional else None
        )
    if plan.kind == "EXISTS":
        c.add_table(2.0 if transactional else 1.0)  # a condition check costs like a read
        return
    c.add_write(old, new, schema_of(plan.table), transactional=transactional)


def change_for(plan: WritePlan, old: Item | None, new: Item | None) -> Change:
    return Change(plan.table, plan.key, old, new)
