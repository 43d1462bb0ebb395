"""Server settings, from the command line (see :mod:`tidestream.cli`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 4566
    data_dir: str = "./tidestream-data"
    in_memory: bool = False
    #: ``postgresql://...``: keep the data in PostgreSQL instead of the embedded RocksDB store
    #: under ``data_dir`` (docs/cluster.md); None: the embedded store
    store: str | None = None
    #: with ``store``: several nodes may serve the database at once (docs/cluster.md says what
    #: is correct across nodes so far); False: the node refuses to share it
    cluster: bool = False
    region: str = "us-east-1"
    account_id: str = "000000000000"
    durability: str = "strict"
    reset_endpoint: bool = True
    status_delay: float = 0.0
    ttl_interval: float = 1.0
    #: seconds between polls of a caught-up shard by Lambda event source mappings
    lambda_poll_interval: float = 1.0
    kinesis_limits: bool = True
    log_level: str = "INFO"
    #: "text" (default) or "json": one JSON object per log line
    log_format: str = "text"
    #: the web console at /_tidestream/console (docs/console.md)
    console: bool = True
    #: "off": any well-formed credentials; "enforce": verify SigV4 against ``credentials``
    auth: str = "off"
    credentials: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    #: change-capture fault injection, e.g. "duplicate=0.05,reorder=0.05,delay-ms=200"
    cdc_chaos: str | None = None
    #: key for Kinesis encryption at rest (default: <data dir>/kinesis-kms.key, made on first use)
    kms_key_file: str | None = None
    #: SubscribeToShard session length (AWS: 300 s) and idle heartbeat interval (AWS: ~5 s)
    efo_session_seconds: float = 300.0
    efo_heartbeat_seconds: float = 5.0
    #: RocksDB block cache (data blocks and index/filter partitions), MiB
    block_cache_mb: int = 16
