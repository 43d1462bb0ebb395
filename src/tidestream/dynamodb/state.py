"""The DynamoDB service's state: catalog, item store, settings, and lookups every operation uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..arns import parse_arn
from ..context import RequestContext
from ..errors import ResourceNotFoundException, ValidationException
from ..storage.engine import Engine
from .access import authorize_cross_account
from .backups import Backups
from .idempotency import SharedTokens, Tokens
from .itemstore import CaptureHook, ItemStore
from .keys import IndexSchema, TableSchema, key_schema
from .tables import Catalog, Table


@dataclass
class Settings:
    #: seconds a table/index stays CREATING/UPDATING/DELETING before it becomes ACTIVE/gone
    status_delay: float = 0.0
    #: seconds between TTL sweeps
    ttl_interval: float = 1.0


class DynamoState:
    def __init__(
        self,
        engine: Engine,
        settings: Settings | None = None,
        size_of: Callable[[dict], int] | None = None,
        *,
        catalog: Catalog | None = None,
        capture: CaptureHook | None = None,
        stream_check: Callable[[str], str | None] | None = None,
        stream_closing: Callable[[Any], object] | None = None,
    ) -> None:
        """``catalog``: shared with DynamoDB Streams (built before this); ``capture``: change
        capture, written in each commit's batch; ``stream_check``: see :attr:`stream_check`."""
        from .sizes import item_size

        self.engine = engine
        self.settings = settings or Settings()
        self.catalog = catalog if catalog is not None else Catalog(engine)
        self.items = ItemStore(engine, size_of or item_size, capture)
        for t in self.catalog.all():
            self.items.load_stats(t)
        #: on-demand backups (CreateBackup, RestoreTableFromBackup)
        self.backups = Backups(engine, self.catalog, self.items)
        #: stream ARN -> None if the stream exists, else why not (given by the runtime, which knows
        #: the Kinesis service; without it every stream counts as present)
        self.stream_check: Callable[[str], str | None] = stream_check or (lambda arn: None)
        #: called with a table before its stream is switched off or the table dropped, so the
        #: DynamoDB Streams side knows the outgoing stream even if nothing read or wrote it yet
        #: (given by the runtime: DynamoDB Streams' ``sync_table``; AWS lists such a stream as DISABLED)
        self.stream_closing: Callable[[Any], object] = stream_closing or (lambda table: None)
        #: several nodes share the store: another node may have changed a table this node caches
        self.cluster = self.catalog.announce is not None
        #: ClientRequestToken -> (request hash, response, expiry) for TransactWriteItems and
        #: ExecuteTransaction: in memory, or in the store when several nodes share it
        self.transaction_tokens: Tokens | SharedTokens = (
            Tokens() if self.items.write_checked is None else SharedTokens(engine)
        )
        if self.cluster:  # other nodes change tables too
            engine.listen(self._catalog_changed)  # type: ignore[attr-defined]
            self.items.refresh_table = self._refresh_in_place

    def _refresh_in_place(self, table: Table) -> bool:
        """A write found ``table``'s definition changed by another node: read it again, with
        its statistics (False: it is gone)."""
        if not self.catalog.refresh_in_place(table):
            return False
        self.items.load_stats(table)
        return True

    def _catalog_changed(self, key: bytes | None) -> None:
        """Another node changed a table (``key``: its entry; None or empty: maybe several, or
        everything was reset: reload all)."""
        if not key:
            self.reload()
            return
        table = self.catalog.reload_entry(key)
        if table is not None:
            self.items.load_stats(table)

    def reload(self) -> None:
        self.catalog.load()
        self.items.forget_stats()
        for t in self.catalog.all():
            self.items.load_stats(t)
        self.backups.load()
        self.transaction_tokens.clear()

    def table(
        self, ctx: RequestContext, name: str, *, control: bool = False, index: str | None = None
    ) -> Table:
        """The table named by a TableName (or table ARN) parameter, or AWS's not-found error.
        ``control``: a control-plane call (sees CREATING tables); ``index``: the IndexName the
        call names (in cluster mode, a table without it is read again: another node may just
        have added it)."""
        if name.startswith("arn:"):
            t = self._table_by_arn(ctx, name, control)
            if t is not None:
                return t
        else:
            t = self.catalog.get(ctx.account_id, ctx.region, name)
            if self.cluster and (t is None or control or (index is not None and t.index(index) is None)):
                t = self._current(ctx.account_id, ctx.region, name)
            # item operations cannot see a table until it is ACTIVE (dynalite found the same)
            if t is not None and (control or t.status != "CREATING"):
                return t
        if control:
            raise ResourceNotFoundException(f"Requested resource not found: Table: {name} not found")
        raise ResourceNotFoundException("Requested resource not found")

    def _table_by_arn(self, ctx: RequestContext, name: str, control: bool) -> Table | None:
        """The table a table ARN names (arn:aws:dynamodb:region:account:table/name), after its
        resource policy allowed another account's caller (read as stored in cluster mode:
        another node may have just put or deleted it; cross-account calls are rare)."""
        arn = parse_arn(name)
        _check_table_arn(name, ctx.region)
        if arn is None or arn.resource_type != "table":
            return None
        other = arn.account != ctx.account_id
        t = self.lookup(arn.account, arn.region, arn.resource.split("/", 1)[0], control=control or other)
        if other:
            authorize_cross_account(ctx.account_id, ctx.operation, name, t)
        return t

    def lookup(self, account: str, region: str, name: str, *, control: bool = False) -> Table | None:
        """A table from this node's cache; in cluster mode, a table the cache lacks (created on
        another node) is read from the store, and so is every table a control-plane call names
        (so it answers what another node has just changed, see :meth:`Catalog.current`)."""
        t = self.catalog.get(account, region, name)
        if self.cluster and (t is None or control):
            t = self._current(account, region, name)
        return t

    def _current(self, account: str, region: str, name: str) -> Table | None:
        t, fresh = self.catalog.current(account, region, name)
        if fresh:
            self.items.load_stats(t)  # type: ignore[arg-type]
        return t

    def table_names(self, account: str, region: str) -> list[str]:
        """ListTables' names: in cluster mode from the store (this node's cache may not have
        heard of a table created or deleted on another node yet)."""
        if self.cluster:
            return self.catalog.stored_names(account, region)
        return self.catalog.names(account, region)


#: the AWS partitions a table ARN may name
PARTITIONS = frozenset(
    ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc")
)


def _region_shaped(region: str) -> bool:
    """``us-east-1``, ``ap-southeast-2``, ``us-gov-west-1``: letters and dashes, a number last."""
    head, _, number = region.rpartition("-")
    return number.isdigit() and "-" in head and head.replace("-", "").isalpha() and head.islower()


def _check_table_arn(name: str, own_region: str) -> None:
    """A TableName given as an ARN must be a DynamoDB table ARN of a real partition and a
    region-shaped region; AWS's texts (ack-api-quirks' catalogue DDB-TABLE-442, 2026-10-09:
    "1 validation error detected: Invalid AWS region in '<arn>'", "... partition in ...",
    "Invalid resource type in ..."). Without it an S3 ARN ending in ``table/<name>`` named the
    table. The caller's own region always passes (a client may sign for a region named
    ``local``, and DescribeTable's TableArn then carries it)."""
    arn = parse_arn(name)
    if arn is None:
        return  # not an ARN at all: looked up as a name, and not found
    if arn.partition not in PARTITIONS:
        raise ValidationException(f"1 validation error detected: Invalid AWS partition in '{name}'")
    if arn.region != own_region and not _region_shaped(arn.region):
        raise ValidationException(f"1 validation error detected: Invalid AWS region in '{name}'")
    if arn.service != "dynamodb" or arn.resource_type != "table":
        raise ValidationException(f"1 validation error detected: Invalid resource type in '{name}'")


def schema_of(table: Table):
    """The key/index schema object the item checks use, cached on the table until it changes."""
    cached = getattr(table, "_schema", None)
    if (
        cached is not None
        and cached[0] is table.gsis
        and cached[1] is table.lsis
        and cached[2] == (len(table.gsis), len(table.lsis))
    ):
        return cached[3]
    sig = (len(table.gsis), len(table.lsis))
    types = table.attribute_types
    tkey = key_schema(table.key_schema, types)

    def index(ix, is_global: bool) -> IndexSchema:
        k = key_schema(ix.key_schema, types)
        projected = None
        if ix.projection_type != "ALL":
            projected = frozenset(tkey.names | k.names | frozenset(ix.non_key_attributes))
        return IndexSchema(ix.name, is_global, k, ix.projection_type, projected)

    schema = TableSchema(
        tkey, tuple(index(ix, True) for ix in table.gsis), tuple(index(ix, False) for ix in table.lsis)
    )
    object.__setattr__(table, "_schema", (table.gsis, table.lsis, sig, schema))
    return schema


def forget_schema(table: Table) -> None:
    """Drop the cached schema after a table's indexes or key types change."""
    table.__dict__.pop("_schema", None)
