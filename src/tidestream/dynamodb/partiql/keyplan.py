"""How DynamoDB decomposes a SELECT's WHERE into key reads, and the refusals that follow.

DynamoDB spreads the WHERE into branches: each top-level AND conjunct that is a key condition
(an equality or one-value-per-branch IN on the partition key; ``=``, ``<``, ``<=``, ``>``,
``>=``, BETWEEN, begins_with or IN on the sort key) narrows every branch, an OR that names a key
attribute splits them, and anything else is a filter. From the branches it refuses:

* a key condition whose value is not of the key's type ("Key attribute's data type should
  match its data type in table's schema: Key <name>");
* more than 50 reads when every branch names its partition ("Too many decomposed read
  operations for a given query.");
* two branches reading overlapping sort-key ranges of one partition ("Overlapping conditions
  with range keys are not supported in where clause") - unless a branch filters on the sort
  key in a way no range expresses (NOT, ``<>``), which DynamoDB runs as it stands;
* on an index, filters on attributes the index does not project, when every branch filters on
  one ("... does not project one or more filter attributes: [...]").

Sources: Floci's ``DynamoDbPartiQLEdgeCaseIntegrationTest`` (readsSortKeyConditionsThatAQueryKey
CannotHold, refusesOverlappingKeyConditionsAndMismatchedKeyTypes, refusesTooManyInOperandsAnd
TooManyDecomposedReads, checksProjectionOnEachKeyedBranchOfAnIndexRead, refusesUnprojected
AttributesInsideGroupedConditionsOnAKeyedIndexRead; captured from DynamoDB, eu-west-2,
2026-09-17); paritysuite dynamodb-conformance ``tier2/partiql/whereOverlap.test.ts`` and
``tier3/error-messages/partiqlGrammar.test.ts`` (eu-west-2 and us-east-1, October 2026).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..expressions import ast as A
from ..expressions.values import type_of
from .errors import KeyFault, validation

MAX_DECOMPOSED_READS = 50
MAX_BRANCHES = 1000  # past this the WHERE is not spread further (a hostile IN x IN product)
MSG_TOO_MANY_READS = "Too many decomposed read operations for a given query."
MSG_OVERLAP = "Overlapping conditions with range keys are not supported in where clause"
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}


@dataclass
class Branch:
    """One read: its key conditions as (name, op, values) and the conditions it filters with."""

    keys: list[tuple[str, str, list[dict]]] = field(default_factory=list)
    filters: list = field(default_factory=list)

    def both(self, other: Branch) -> Branch:
        return Branch(self.keys + other.keys, self.filters + other.filters)


@dataclass
class KeyPlan:
    hash_key: str
    range_key: str | None
    values: dict[str, dict]
    branches: list[Branch] = field(default_factory=list)
    too_many: bool = False

    # spreading -------------------------------------------------------------------------
    def spread(self, node) -> list[Branch]:
        leaf = self.key_leaf(node)
        if leaf is not None:
            return leaf
        t = type(node)
        if t is A.And:
            return self.product(self.spread(node.left), self.spread(node.right))
        if t is A.Or and self.names_key(node):
            out = self.spread(node.left) + self.spread(node.right)
            if len(out) > MAX_BRANCHES:
                self.too_many = True
                return [Branch(filters=[node])]
            return out
        return [Branch(filters=[node])]

    def product(self, left: list[Branch], right: list[Branch]) -> list[Branch]:
        if len(left) * len(right) > MAX_BRANCHES:
            self.too_many = True
            return left
        return [a.both(b) for a in left for b in right]

    def key_leaf(self, node) -> list[Branch] | None:
        """The branches a key condition reads (one per IN value), or None for anything else."""
        t = type(node)
        if t is A.In:
            name = _name(node.operand)
            if (
                name is not None
                and name in (self.hash_key, self.range_key)
                and all(type(o) is A.ValueRef for o in node.options)
            ):
                return [Branch(keys=[(name, "=", [self.values[o.name]])]) for o in node.options]
            return None
        found = self.condition(node)
        return [Branch(keys=[found])] if found is not None else None

    def condition(self, node) -> tuple[str, str, list[dict]] | None:
        """(name, op, values) for one key condition: = on either key, a range on the sort key."""
        t = type(node)
        if t is A.Compare and node.op in _FLIP:
            return self.comparison(node)
        sort_key = self.range_key
        if sort_key is None:
            return None
        if t is A.Between and _name(node.operand) == sort_key:
            bounds = (node.low, node.high)
            if all(type(b) is A.ValueRef for b in bounds):
                return sort_key, "BETWEEN", [self.values[b.name] for b in bounds]
        if t is A.Call and node.name == "begins_with" and _name(node.args[0]) == sort_key:
            prefix = node.args[1]
            if type(prefix) is A.ValueRef:
                return sort_key, "begins_with", [self.values[prefix.name]]
        return None

    def comparison(self, node: A.Compare) -> tuple[str, str, list[dict]] | None:
        """``key op value`` either way round (flipped so the key is on the left)."""
        for a, b, op in ((node.left, node.right, node.op), (node.right, node.left, _FLIP[node.op])):
            name = _name(a)
            if name is None or type(b) is not A.ValueRef:
                continue
            if name == self.range_key or (name == self.hash_key and op == "="):
                return name, op, [self.values[b.name]]
        return None

    def names_key(self, node) -> bool:
        t = type(node)
        if t is A.And or t is A.Or:
            return self.names_key(node.left) or self.names_key(node.right)
        return self.key_leaf(node) is not None

    def pins_partition(self, node) -> bool:
        """Every OR branch has an equality (or IN) on the partition key."""
        t = type(node)
        if t is A.And:
            return self.pins_partition(node.left) or self.pins_partition(node.right)
        if t is A.Or:
            return self.pins_partition(node.left) and self.pins_partition(node.right)
        leaf = self.key_leaf(node)
        return leaf is not None and leaf[0].keys[0][0] == self.hash_key

    # what the branches read -----------------------------------------------------------------
    def partition(self, branch: Branch) -> Any:
        """The one partition a branch reads (hashable), or None: none named, or two different."""
        found = {_hashable(vals[0]) for name, _, vals in branch.keys if name == self.hash_key}
        return found.pop() if len(found) == 1 else None

    def sort_range(self, branch: Branch) -> _Range:
        r = _Range()
        for name, op, vals in branch.keys:
            if name == self.range_key:
                r = r.intersect(_Range.of(op, vals))
        return r

    def filters_on_range_key(self) -> bool:
        """A branch filters on the sort key (NOT, <>): DynamoDB then runs the reads as written."""
        return self.range_key is not None and any(
            self.range_key in _roots(f) for b in self.branches for f in b.filters
        )


def check_select_keys(
    where, values: dict, key_schema: list[tuple[str, str]], attribute_types: dict[str, str]
) -> KeyPlan:
    """The WHERE's key reads, refused as DynamoDB refuses them (see the module's docstring)."""
    hash_key = next(n for n, kind in key_schema if kind == "HASH")
    range_key = next((n for n, kind in key_schema if kind == "RANGE"), None)
    plan = KeyPlan(hash_key, range_key, values)
    plan.branches = plan.spread(where)
    for branch in plan.branches:
        for name, _, vals in branch.keys:
            for v in vals:
                _check_key_type(name, v, attribute_types)
    many = plan.too_many or len(plan.branches) > MAX_DECOMPOSED_READS
    if many and plan.pins_partition(where):
        raise validation(MSG_TOO_MANY_READS)
    keyed = len(plan.branches) > 1 and all(plan.partition(b) is not None for b in plan.branches)
    if keyed and not plan.filters_on_range_key():  # one branch cannot overlap: the usual case
        _refuse_overlaps(plan)
    return plan


def _check_key_type(name: str, value: dict, attribute_types: dict[str, str]) -> None:
    kind = type_of(value)
    if kind not in ("S", "N", "B"):
        raise KeyFault(f"Key value must be of type S, N, or B. Key name: {name}, Key type: {kind}")
    if attribute_types.get(name) != kind:
        raise KeyFault(f"Key attribute's data type should match its data type in table's schema: Key {name}")


def _refuse_overlaps(plan: KeyPlan) -> None:
    by_partition: dict[Any, list[_Range]] = {}
    for branch in plan.branches:
        by_partition.setdefault(plan.partition(branch), []).append(plan.sort_range(branch))
    for ranges in by_partition.values():
        reach: _Range | None = None
        for r in sorted((r for r in ranges if not r.empty()), key=_Range.lower_order):
            if reach is not None and r.starts_before_end_of(reach):
                raise validation(MSG_OVERLAP)
            if reach is None or r.ends_after(reach):
                reach = r


def unprojected_filter_attributes(plan: KeyPlan, projected: set[str]) -> list[str]:
    """The last branch's (by partition) filter attributes outside the projection, when every
    branch of a keyed read has one; else nothing (Floci's captures, see the module)."""
    if not plan.branches or any(plan.partition(b) is None for b in plan.branches):
        return []
    last: list[str] = []
    for branch in sorted(plan.branches, key=lambda b: _sortable(plan.partition(b))):
        names = [n for f in branch.filters for n in _roots(f) if n not in projected]
        if not names:
            return []
        last = list(dict.fromkeys(names))
    return last


# ---------------------------------------------------------------------------- values and ranges
def _name(node) -> str | None:
    if type(node) is A.Path and len(node.elements) == 1 and type(node.elements[0]) is str:
        return node.elements[0]
    return None


def _roots(node) -> list[str]:
    """The first names of every path a condition reads, in the order written."""
    t = type(node)
    if t is A.Path:
        return [str(node.elements[0])]
    out: list[str] = []
    for child in _children(node):
        out += _roots(child)
    return out


def _children(node) -> tuple:
    t = type(node)
    if t is A.And or t is A.Or or t is A.Compare:
        return (node.left, node.right)
    if t is A.Not:
        return (node.operand,)
    if t is A.Between:
        return (node.operand, node.low, node.high)
    if t is A.In:
        return (node.operand, *node.options)
    if t is A.Call:
        return node.args
    return ()


def _hashable(value: dict) -> Any:
    kind = type_of(value)
    return (kind, value[kind] if kind != "N" else Decimal(value[kind]))


def _sortable(partition: Any) -> tuple:
    kind, v = partition
    return (kind, v.encode("utf-8") if kind == "S" else v)


def _bound(value: dict) -> Any:
    """A sort key value in an order-preserving form: Decimal, or bytes (S as UTF-8)."""
    kind = type_of(value)
    v = value[kind]
    if kind == "N":
        return Decimal(v)
    return v.encode("utf-8") if kind == "S" else bytes(v)


def _prefix_end(prefix: bytes) -> bytes | None:
    """The smallest bytes above every string that starts with ``prefix`` (None: unbounded)."""
    for i in range(len(prefix) - 1, -1, -1):
        if prefix[i] != 0xFF:
            return prefix[:i] + bytes([prefix[i] + 1])
    return None


@dataclass(frozen=True)
class _Range:
    """A sort-key interval; a None bound is unbounded."""

    lower: Any = None
    lower_inclusive: bool = False
    upper: Any = None
    upper_inclusive: bool = False

    @staticmethod
    def of(op: str, vals: list[dict]) -> _Range:
        v = _bound(vals[0])
        if op == "=":
            return _Range(v, True, v, True)
        if op == "BETWEEN":
            return _Range(v, True, _bound(vals[1]), True)
        if op == "begins_with":
            return _Range(v, True, _prefix_end(v) if isinstance(v, bytes) else None, False)
        return {
            "<": _Range(None, False, v, False),
            "<=": _Range(None, False, v, True),
            ">": _Range(v, False, None, False),
        }.get(op, _Range(v, True, None, False))

    def intersect(self, other: _Range) -> _Range:
        lower, lower_inclusive = self.lower, self.lower_inclusive
        if other.lower is not None and (
            lower is None or other.lower > lower or (other.lower == lower and not other.lower_inclusive)
        ):
            lower, lower_inclusive = other.lower, other.lower_inclusive
        upper, upper_inclusive = self.upper, self.upper_inclusive
        if other.upper is not None and (
            upper is None or other.upper < upper or (other.upper == upper and not other.upper_inclusive)
        ):
            upper, upper_inclusive = other.upper, other.upper_inclusive
        return _Range(lower, lower_inclusive, upper, upper_inclusive)

    def empty(self) -> bool:
        if self.lower is None or self.upper is None:
            return False
        return self.lower > self.upper or (
            self.lower == self.upper and not (self.lower_inclusive and self.upper_inclusive)
        )

    def lower_order(self) -> tuple:
        return (self.lower is not None, self.lower if self.lower is not None else 0, not self.lower_inclusive)

    def starts_before_end_of(self, reach: _Range) -> bool:
        if reach.upper is None or self.lower is None:
            return True
        return self.lower < reach.upper or (
            self.lower == reach.upper and self.lower_inclusive and reach.upper_inclusive
        )

    def ends_after(self, reach: _Range) -> bool:
        if reach.upper is None:
            return False
        if self.upper is None:
            return True
        return self.upper > reach.upper or (
            self.upper == reach.upper and self.upper_inclusive and not reach.upper_inclusive
        )
