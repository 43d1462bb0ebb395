"""The DynamoDB service's state: catalog, item store, settings, and lookups every operation uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..arns import parse_arn
from ..context import RequestContext
from ..errors import ResourceNotFoundException, ValidationException
from ..storage.engine import Engine
from .backups import Backups
from .idempotency import Tokens
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
        #: ClientRequestToken -> (request hash, response, expiry) for TransactWriteItems
        self.transaction_tokens = Tokens()
        if self.catalog.announce is not None:  # cluster mode: other nodes change tables too
            engine.listen(self._catalog_changed)  # type: ignore[attr-defined]

    def _catalog_changed(self, key: bytes | None) -> None:
        """Another node changed a table (``key``: its entry; None: maybe several, reload all)."""
        if key is None:
            self.reload()
            return
        table = self.catalog.reload_entry(key)
        if table is not None:
            self.items.load_stats(table)

    def reload(self) -> None:
        self.catalog.load()
        for t in self.catalog.all():
            self.items.load_stats(t)
        self.backups.load()
        self.transaction_tokens.clear()

    def table(self, ctx: RequestContext, name: str, *, control: bool = False) -> Table:
        """The table named by a TableName (or table ARN) parameter, or AWS's not-found error."""
        if name.startswith("arn:"):
            # arn:aws:dynamodb:region:account:table/name
            arn = parse_arn(name)
            _check_table_arn(name, ctx.region)
            if arn is not None and arn.resource_type == "table":
                t = self.catalog.get(arn.account, arn.region, arn.resource.split("/", 1)[0])
                if t is not None:
                    return t
            name_for_msg = name
        else:
            t = self.catalog.get(ctx.account_id, ctx.region, name)
            if t is None and self.items.write_checked is not None:  # cluster mode: another node's?
                t = self.catalog.load_one(ctx.account_id, ctx.region, name)
                if t is not None:
                    self.items.load_stats(t)
            # item operations cannot see a table until it is ACTIVE (dynalite found the same)
            if t is not None and (control or t.status != "CREATING"):
                return t
            name_for_msg = name
        if control:
            raise ResourceNotFoundException(f"Requested resource not found: Table: {name_for_msg} not found")
        raise ResourceNotFoundException("Requested resource not found")


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
