"""Turning key conditions into engine key ranges, and keys into resume points.

A Query names one partition (all partition key values, by equality) and optionally conditions on
the sort key attributes: equality on a leading run of them and one final comparison. Because key
components are order-preserving and self-delimiting, each condition is a byte range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..storage.keys import encode_component, prefix_end
from .itemstore import ItemStore
from .tables import INDEX, ITEMS, Index, Table

AttributeValue = dict[str, Any]


@dataclass
class KeyRange:
    """What a Query asks for, independent of how the condition was written."""

    #: partition key values in key-schema order
    partition: list[AttributeValue]
    #: equality conditions on leading sort key attributes, in order
    sort_equal: list[AttributeValue] = field(default_factory=list)
    #: optional final condition: (op, [values]); op in = < <= > >= BETWEEN begins_with
    sort_condition: tuple[str, list[AttributeValue]] | None = None


def _enc(av: AttributeValue) -> bytes:
    for kind, value in av.items():
        return encode_component(kind, value)
    raise ValueError("empty attribute value")


def _prefix_of(av: AttributeValue) -> bytes:
    """Encoded begins_with prefix: the component without its terminator."""
    for kind, value in av.items():
        raw = value.encode("utf-8") if kind == "S" else value
        return (b"\x20" if kind == "S" else b"\x30") + raw.replace(b"\x00", b"\x00\xff")
    raise ValueError("empty attribute value")


def bounds(table: Table, index: Index | None, kr: KeyRange) -> tuple[bytes, bytes]:
    """[start, end) of the keys a Query reads."""
    space = INDEX if index is not None else ITEMS
    uid = index.uid if index is not None else table.uid
    p = space + ItemStore.partition_prefix(uid, kr.partition)
    for av in kr.sort_equal:
        p += _enc(av)
    if kr.sort_condition is None:
        return p, prefix_end(p)
    op, vals = kr.sort_condition
    if op == "=":
        k = p + _enc(vals[0])
        return k, prefix_end(k)
    if op == "<":
        return p, p + _enc(vals[0])
    if op == "<=":
        return p, prefix_end(p + _enc(vals[0]))
    if op == ">":
        return prefix_end(p + _enc(vals[0])), prefix_end(p)
    if op == ">=":
        return p + _enc(vals[0]), prefix_end(p)
    if op == "BETWEEN":
        lo, hi = p + _enc(vals[0]), prefix_end(p + _enc(vals[1]))
        return (lo, hi) if lo < hi else (lo, lo)
    if op == "begins_with":
        k = p + _prefix_of(vals[0])
        return k, prefix_end(k)
    raise ValueError(op)


def segment_bounds(table: Table, index: Index | None, segment: int, total: int) -> tuple[bytes, bytes]:
    """Keys of one parallel-scan segment: a range of partition buckets."""
    space = INDEX if index is not None else ITEMS
    uid = index.uid if index is not None else table.uid
    base = space + uid.to_bytes(4, "big")
    lo = segment * 65536 // total
    hi = (segment + 1) * 65536 // total
    start = base + lo.to_bytes(2, "big")
    end = base + hi.to_bytes(2, "big") if hi < 65536 else prefix_end(base)
    return start, end


def resume_key(store: ItemStore, table: Table, index: Index | None, key: dict) -> bytes:
    """Engine key of an ExclusiveStartKey (a table key, plus index keys for index reads)."""
    if index is None:
        return store.item_key(table, key)
    k = store.index_key(table, index, key)
    if k is None:
        raise KeyError("index key attributes missing")
    return k
