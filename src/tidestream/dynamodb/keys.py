"""Primary keys and secondary-index keys: schema objects, validation, extraction, projection.

A table's schema is built once (:func:`table_schema`) and then used on every request, so the
hot checks are attribute lookups on small frozen objects.

Validation follows DynamoDB's answers:

* ``Key`` arguments (GetItem, DeleteItem, UpdateItem, BatchGet, DeleteRequest, transactions):
  empty S/B key values are reported up front, then anything but exactly the key attributes with
  the defined types is "The provided key element does not match the schema", then key sizes.
* Items (PutItem and friends): empty key values up front (table keys, then index keys), then
  "Missing the key ..." / "Type mismatch for key ..." (BatchWriteItem reports both as the schema
  mismatch instead), key sizes, then index-key types (GSIs, then LSIs, each last-declared first,
  as dynalite found DynamoDB does).
* Partition keys may hold 2048 bytes and sort keys 1024 (UTF-8 / raw bytes; numbers unchecked),
  in the table and in its indexes ("Size limit exceeded for Index Key ...").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ValidationException

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]

HASH = "HASH"
RANGE = "RANGE"
MAX_HASH_KEY_BYTES = 2048
MAX_RANGE_KEY_BYTES = 1024

MSG_SCHEMA_MISMATCH = "The provided key element does not match the schema"
MSG_HASH_TOO_BIG = (
    "One or more parameter values were invalid: "
    "Size of hashkey has exceeded the maximum size limit of2048 bytes"
)
MSG_RANGE_TOO_BIG = (
    "One or more parameter values were invalid: "
    "Aggregated size of all range keys has exceeded the size limit of 1024 bytes"
)
_EMPTY_WORD = {"S": "string", "B": "binary"}


# --------------------------------------------------------------------------- schema objects


@dataclass(frozen=True, slots=True)
class KeyAttribute:
    """One key attribute: its name, scalar type and whether it is the partition key."""

    name: str
    type: str  # "S" | "N" | "B"
    is_hash: bool


@dataclass(frozen=True, slots=True)
class KeySchema:
    """A partition key and optional sort key (table or index)."""

    hash: KeyAttribute
    range: KeyAttribute | None = None
    #: every key attribute in key-schema order, for multi-attribute GSI keys (up to 4 HASH and
    #: 4 RANGE); empty means just ``hash`` and ``range``
    all_parts: tuple[KeyAttribute, ...] = ()
    parts: tuple[KeyAttribute, ...] = field(init=False)
    names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        if self.all_parts:
            parts = self.all_parts
        else:
            parts = (self.hash,) if self.range is None else (self.hash, self.range)
        object.__setattr__(self, "parts", parts)
        object.__setattr__(self, "names", frozenset(p.name for p in parts))


@dataclass(frozen=True, slots=True)
class IndexSchema:
    """A GSI or LSI: its key, and which attributes it stores (``projected`` None means ALL)."""

    name: str
    is_global: bool
    key: KeySchema
    projection_type: str = "ALL"
    projected: frozenset[str] | None = None

    @property
    def kind(self) -> str:
        return "GlobalSecondaryIndexes" if self.is_global else "LocalSecondaryIndexes"


@dataclass(frozen=True, slots=True)
class TableSchema:
    """Everything about a table that item and key checks need."""

    key: KeySchema
    gsis: tuple[IndexSchema, ...] = ()
    lsis: tuple[IndexSchema, ...] = ()
    #: index key attributes in DynamoDB's checking order: (attribute, index) pairs
    index_checks: tuple[tuple[KeyAttribute, IndexSchema], ...] = field(init=False)

    def __post_init__(self) -> None:
        checks: list[tuple[KeyAttribute, IndexSchema]] = []
        for index in reversed(self.gsis):
            checks.extend((part, index) for part in index.key.parts)
        for index in reversed(self.lsis):
            if index.key.range is not None:  # an LSI shares the table's partition key
                checks.append((index.key.range, index))
        object.__setattr__(self, "index_checks", tuple(checks))

    @property
    def indexes(self) -> tuple[IndexSchema, ...]:
        return self.gsis + self.lsis

    def index(self, name: str) -> IndexSchema | None:
        for index in self.gsis + self.lsis:
            if index.name == name:
                return index
        return None


def _pairs(key_schema: Iterable[Any]) -> list[tuple[str, str]]:
    """Accept ``[(name, "HASH")]`` or AWS's ``[{"AttributeName":..., "KeyType":...}]``."""
    out = []
    for entry in key_schema:
        if isinstance(entry, Mapping):
            out.append((entry["AttributeName"], entry["KeyType"]))
        else:
            name, kind = entry
            out.append((name, kind))
    return out


def _types(attribute_definitions: Any) -> dict[str, str]:
    """Accept ``{name: type}`` or AWS's ``[{"AttributeName":..., "AttributeType":...}]``."""
    if isinstance(attribute_definitions, Mapping):
        return dict(attribute_definitions)
    return {d["AttributeName"]: d["AttributeType"] for d in attribute_definitions}


def key_schema(key_schema: Iterable[Any], attribute_types: Any) -> KeySchema:
    """Build a KeySchema from a KeySchema list and the attribute definitions."""
    types = _types(attribute_types)
    hash_attr = range_attr = None
    parts = []
    for name, kind in _pairs(key_schema):
        part = KeyAttribute(name, types[name], kind == HASH)
        parts.append(part)
        if kind == HASH:
            hash_attr = hash_attr or part
        else:
            range_attr = range_attr or part
    if hash_attr is None:
        raise ValueError("key schema has no HASH attribute")
    return KeySchema(hash_attr, range_attr, tuple(parts))


def index_schema(
    index: Mapping[str, Any], attribute_types: Any, table_key: KeySchema, is_global: bool
) -> IndexSchema:
    """Build an IndexSchema from an AWS index description (IndexName, KeySchema, Projection)."""
    key = key_schema(index["KeySchema"], attribute_types)
    projection = index.get("Projection") or {}
    ptype = projection.get("ProjectionType", "ALL")
    projected = None
    if ptype != "ALL":
        projected = frozenset(
            table_key.names | key.names | frozenset(projection.get("NonKeyAttributes") or ())
        )
    return IndexSchema(index["IndexName"], is_global, key, ptype, projected)


def table_schema(
    key: Iterable[Any],
    attribute_types: Any,
    global_indexes: Iterable[Mapping[str, Any]] = (),
    local_indexes: Iterable[Mapping[str, Any]] = (),
) -> TableSchema:
    """Build a TableSchema from CreateTable-shaped pieces."""
    types = _types(attribute_types)
    table_key = key_schema(key, types)
    gsis = tuple(index_schema(i, types, table_key, True) for i in global_indexes or ())
    lsis = tuple(index_schema(i, types, table_key, False) for i in local_indexes or ())
    return TableSchema(table_key, gsis, lsis)


def _key_of(schema: TableSchema | KeySchema) -> KeySchema:
    return schema.key if isinstance(schema, TableSchema) else schema


# --------------------------------------------------------------------------- checks


def _is_empty(av: AttributeValue) -> str | None:
    """ "string"/"binary" when ``av`` is an empty S/B (key values may not be), else None."""
    v = av.get("S")
    if v is not None:
        return "string" if v == "" else None
    v = av.get("B")
    if v is not None and len(v) == 0:
        return "binary"
    return None


def _empty_key_error(word: str, name: str) -> ValidationException:
    return ValidationException(
        "One or more parameter values are not valid. The AttributeValue for a key attribute "
        f"cannot contain an empty {word} value. Key: {name}"
    )


def _key_bytes(kind: str, av: AttributeValue) -> int:
    """A string or binary key value's size as DynamoDB counts it (UTF-8 bytes, raw bytes)."""
    v = av[kind]
    if kind == "S":
        return len(v) if v.isascii() else len(v.encode("utf-8", "surrogatepass"))
    return len(v)


def _check_key_size(part: KeyAttribute, av: AttributeValue) -> None:
    t = part.type
    if t == "N":
        return
    size = _key_bytes(t, av)
    if part.is_hash:
        if size > MAX_HASH_KEY_BYTES:
            raise ValidationException(MSG_HASH_TOO_BIG)
    elif size > MAX_RANGE_KEY_BYTES:
        raise ValidationException(MSG_RANGE_TOO_BIG)


def check_empty_key_values(item: Item, schema: TableSchema | KeySchema) -> None:
    """Up-front check: no table key value may be an empty string or binary."""
    for part in _key_of(schema).parts:
        av = item.get(part.name)
        if av is not None:
            word = _is_empty(av)
            if word:
                raise _empty_key_error(word, part.name)


def check_empty_index_values(item: Item, schema: TableSchema, *, update: bool = False) -> None:
    """Up-front check: no index key value may be an empty string or binary.

    ``update`` gives UpdateItem's wording (the update expression produced the value).
    """
    for part, index in schema.index_checks:
        av = item.get(part.name)
        if av is not None:
            word = _is_empty(av)
            if word:
                if update:
                    raise ValidationException(
                        "One or more parameter values are not valid. The update expression "
                        "attempted to update a secondary index key to a value that is not "
                        "supported. The AttributeValue for a key attribute cannot contain an "
                        f"empty {word} value."
                    )
                raise ValidationException(
                    "One or more parameter values are not valid. A value specified for a "
                    "secondary index key is not supported. The AttributeValue for a key "
                    f"attribute cannot contain an empty {word} value. "
                    f"IndexName: {index.name}, IndexKey: {part.name}"
                )


def check_index_key_types(item: Item, schema: TableSchema) -> None:
    """Index key attributes an item carries must have the types the table defines, and fit
    the index's key limits (2048 bytes for a partition key, 1024 for a sort key)."""
    for part, index in schema.index_checks:
        av = item.get(part.name)
        if av is None:
            continue
        if part.type not in av:
            actual = next(iter(av))
            raise ValidationException(
                "One or more parameter values were invalid: Type mismatch for Index Key "
                f"{part.name} Expected: {part.type} Actual: {actual} IndexName: {index.name}"
            )
        if part.type != "N":
            size, limit = _key_bytes(part.type, av), index_key_limit(part)
            if size > limit:
                raise ValidationException(
                    "One or more parameter values were invalid: Size limit exceeded for Index Key "
                    f"{part.name} Actual Size: {size} bytes Max Size: {limit} bytes "
                    f"IndexName: {index.name}"
                )


def index_key_limit(part: KeyAttribute) -> int:
    return MAX_HASH_KEY_BYTES if part.is_hash else MAX_RANGE_KEY_BYTES


def fits_index_key_limits(item: Item, key_schema: list[tuple[str, str]], types: dict[str, str]) -> bool:
    """Whether an item's values for an index's key stay within the key size limits (a GSI
    backfill leaves out the items that do not, as DynamoDB does)."""
    for name, kind in key_schema:
        t = types.get(name, "N")
        av = item.get(name)
        if t != "N" and av is not None and t in av:
            limit = MAX_HASH_KEY_BYTES if kind == HASH else MAX_RANGE_KEY_BYTES
            if _key_bytes(t, av) > limit:
                return False
    return True


def validate_key(key: Item, schema: TableSchema | KeySchema) -> Item:
    """Check a ``Key`` argument against the table's key schema; returns ``key``."""
    ks = _key_of(schema)
    check_empty_key_values(key, ks)
    if len(key) != len(ks.parts):
        raise ValidationException(MSG_SCHEMA_MISMATCH)
    for part in ks.parts:
        av = key.get(part.name)
        if av is None or part.type not in av:
            raise ValidationException(MSG_SCHEMA_MISMATCH)
        _check_key_size(part, av)
    return key


def validate_item_keys(
    item: Item, schema: TableSchema | KeySchema, *, schema_mismatch: bool = False, update: bool = False
) -> None:
    """Check the table- and index-key attributes of an item about to be written.

    ``schema_mismatch``: report a missing or mistyped table key as "The provided key element does
    not match the schema" (BatchWriteItem's PutRequest does). ``update``: the item is the result
    of an UpdateItem, whose empty index key wording differs.
    """
    ks = _key_of(schema)
    table = schema if isinstance(schema, TableSchema) else None
    check_empty_key_values(item, ks)
    if table is not None and table.index_checks:
        check_empty_index_values(item, table, update=update)
    for part in ks.parts:
        av = item.get(part.name)
        if av is None:
            if schema_mismatch:
                raise ValidationException(MSG_SCHEMA_MISMATCH)
            raise ValidationException(
                f"One or more parameter values were invalid: Missing the key {part.name} in the item"
            )
        if part.type not in av:
            if schema_mismatch:
                raise ValidationException(MSG_SCHEMA_MISMATCH)
            raise ValidationException(
                "One or more parameter values were invalid: Type mismatch for key "
                f"{part.name} expected: {part.type} actual: {next(iter(av))}"
            )
        _check_key_size(part, av)
    if table is not None and table.index_checks:
        check_index_key_types(item, table)


# --------------------------------------------------------------------------- extraction


def extract_key(item: Item, schema: TableSchema | KeySchema) -> Item:
    """The primary-key attributes of a (validated) item, as a Key map."""
    ks = _key_of(schema)
    h = ks.hash.name
    if ks.range is None:
        return {h: item[h]}
    r = ks.range.name
    return {h: item[h], r: item[r]}


def key_values(item: Item, schema: TableSchema | KeySchema) -> tuple[Any, ...]:
    """The raw key values in schema order (str / canonical number str / bytes)."""
    return tuple(item[p.name][p.type] for p in _key_of(schema).parts)


def index_key(item: Item, index: IndexSchema) -> Item | None:
    """The item's key in ``index``, or None when the item is not in that (sparse) index."""
    out: Item = {}
    for part in index.key.parts:
        av = item.get(part.name)
        if av is None or part.type not in av:
            return None
        out[part.name] = av
    return out


def project(item: Item, index: IndexSchema) -> Item:
    """The attributes of ``item`` that ``index`` stores."""
    if index.projected is None:
        return item
    keep = index.projected
    return {k: v for k, v in item.items() if k in keep}


def index_entry(item: Item | None, index: IndexSchema) -> Item | None:
    """What ``index`` stores for ``item``: its projection, or None if the item isn't indexed."""
    if item is None or index_key(item, index) is None:
        return None
    return project(item, index)
