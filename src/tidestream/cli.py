"""``tidestream serve ...``: the command line."""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .config import Config


def parse(argv: list[str]) -> Config | argparse.Namespace:
    """A :class:`Config` for ``serve``; the parsed arguments for ``repair``."""
    p = argparse.ArgumentParser(
        prog="tidestream", description="Local, durable DynamoDB + Kinesis with change data capture"
    )
    p.add_argument("--version", action="version", version=f"tidestream {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the server")
    sub.add_parser(
        "consume", add_help=False, help="tail a Kinesis stream or a table's changes (consume --help)"
    )
    sub.add_parser("kcl", add_help=False, help="KCL's MultiLangDaemon without Java (kcl --help)")
    sub.add_parser("logs", add_help=False, help="print a Lambda function's log (logs --help)")
    d = Config()
    r = sub.add_parser(
        "repair",
        help="open a data dir whose write-ahead log lost acknowledged writes, "
        "accept the loss and report it (stop the server first)",
    )
    r.add_argument("--data-dir", default=d.data_dir)
    s.add_argument("--host", default=d.host)
    s.add_argument("--port", type=int, default=d.port)
    s.add_argument("--data-dir", default=d.data_dir)
    s.add_argument("--in-memory", action="store_true", help="keep nothing on disk")
    s.add_argument(
        "--store",
        default=None,
        metavar="postgresql://USER@HOST:PORT/DB",
        help="keep the data in PostgreSQL instead of the embedded store (docs/cluster.md)",
    )
    s.add_argument(
        "--cluster",
        action="store_true",
        help="with --store: let several nodes serve one database (DynamoDB items and Kinesis, docs/cluster.md)",
    )
    s.add_argument("--region", default=d.region, help="region for unsigned requests")
    s.add_argument("--account-id", default=d.account_id)
    s.add_argument(
        "--durability",
        choices=["strict", "relaxed"],
        default=d.durability,
        help="strict: fsync before acknowledging (default); relaxed: fsync on an interval",
    )
    s.add_argument("--no-reset-endpoint", dest="reset_endpoint", action="store_false")
    s.add_argument(
        "--status-delay",
        type=float,
        default=d.status_delay,
        help="seconds tables/streams stay CREATING/UPDATING/DELETING (default 0)",
    )
    s.add_argument(
        "--ttl-interval",
        type=float,
        default=d.ttl_interval,
        help="seconds between TTL expiry sweeps (default 1)",
    )
    s.add_argument(
        "--lambda-poll-interval",
        type=float,
        default=d.lambda_poll_interval,
        help="seconds between polls of a caught-up shard by Lambda event source mappings (default 1)",
    )
    s.add_argument("--kinesis-limits", choices=["on", "off"], default="on")
    s.add_argument("--log-level", default=d.log_level)
    s.add_argument(
        "--log-format",
        choices=["text", "json"],
        default=d.log_format,
        help="json: one JSON object per log line",
    )
    s.add_argument(
        "--no-console",
        dest="console",
        action="store_false",
        help="do not serve the web console at /_tidestream/console",
    )
    s.add_argument(
        "--auth",
        choices=["off", "enforce"],
        default=d.auth,
        help="enforce: verify SigV4 signatures against --credentials",
    )
    s.add_argument(
        "--credentials",
        default=None,
        help="file of 'ACCESS_KEY_ID SECRET ACCOUNT_ID' lines (for --auth enforce)",
    )
    s.add_argument(
        "--cdc-chaos",
        default=None,
        metavar="duplicate=P,reorder=P,delay-ms=N",
        help="re-publish and reorder change records on purpose (consumer testing)",
    )
    s.add_argument("--tls-cert", default=None, help="PEM certificate: serve HTTPS (and HTTP/2 via ALPN)")
    s.add_argument("--tls-key", default=None, help="PEM private key for --tls-cert")
    s.add_argument(
        "--kms-key-file",
        default=None,
        help="key for Kinesis encryption at rest (32 bytes raw/hex/base64; created if "
        "missing; default: <data-dir>/kinesis-kms.key)",
    )
    s.add_argument(
        "--efo-session-seconds",
        type=float,
        default=d.efo_session_seconds,
        help="SubscribeToShard session length (default 300, as AWS)",
    )
    s.add_argument(
        "--efo-heartbeat-seconds",
        type=float,
        default=d.efo_heartbeat_seconds,
        help="SubscribeToShard idle event interval (default 5)",
    )
    s.add_argument(
        "--block-cache-mb",
        type=int,
        default=d.block_cache_mb,
        help="storage block cache in MiB (default 16; see docs/performance.md)",
    )
    a = p.parse_args(argv)
    if a.command == "repair":
        return a
    return Config(
        host=a.host,
        port=a.port,
        data_dir=a.data_dir,
        in_memory=a.in_memory,
        store=a.store,
        cluster=a.cluster,
        region=a.region,
        account_id=a.account_id,
        durability=a.durability,
        reset_endpoint=a.reset_endpoint,
        status_delay=a.status_delay,
        ttl_interval=a.ttl_interval,
        lambda_poll_interval=a.lambda_poll_interval,
        kinesis_limits=a.kinesis_limits == "on",
        log_level=a.log_level,
        log_format=a.log_format,
        console=a.console,
        auth=a.auth,
        credentials=a.credentials,
        tls_cert=a.tls_cert,
        tls_key=a.tls_key,
        cdc_chaos=a.cdc_chaos,
        kms_key_file=a.kms_key_file,
        efo_session_seconds=a.efo_session_seconds,
        efo_heartbeat_seconds=a.efo_heartbeat_seconds,
        block_cache_mb=a.block_cache_mb,
    )


def repair(data_dir: str) -> None:
    """``tidestream repair``: the report on stdout; a refusal as one line on stderr, exit code 2."""
    from .storage.datadir import DataDirError
    from .storage.recovery import repair as repair_data_dir

    try:
        report = repair_data_dir(data_dir)
    except DataDirError as err:
        print(f"tidestream repair: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    print("\n".join(report))


#: subcommands other than ``serve``, each imported only when asked for
_SUBCOMMANDS = {
    "consume": ("tidestream.consumer.tail", "main"),
    "kcl": ("tidestream.consumer.multilang", "main"),
    "logs": ("tidestream.lambda_.logs_cli", "main"),
}


def _config_problem(config: Config) -> str | None:
    """What is wrong with a combination of serve options (checked before anything starts)."""
    if config.cdc_chaos:
        from .cdc.publisher import Chaos

        try:
            Chaos.parse(config.cdc_chaos)
        except ValueError as err:
            return f"--cdc-chaos: {err}"
    if config.store is not None and not config.store.startswith(("postgresql://", "postgres://")):
        return "--store must be a postgresql:// URL"
    if config.store is not None and config.in_memory:
        return "--store and --in-memory exclude each other"
    if config.cluster and config.store is None:
        return "--cluster needs --store postgresql://..."
    if config.block_cache_mb < 1:
        return "--block-cache-mb must be at least 1"
    if config.auth == "enforce" and not config.credentials:
        return "--auth enforce needs --credentials FILE"
    return None


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    sub = _SUBCOMMANDS.get(argv[0]) if argv else None
    if sub is not None:
        import importlib

        module, function = sub
        sys.exit(getattr(importlib.import_module(module), function)(argv[1:]))
    config = parse(argv)
    if not isinstance(config, Config):
        return repair(config.data_dir)
    problem = _config_problem(config)
    if problem is not None:
        sys.exit(f"tidestream: {problem}")
    from .runtime import run

    run(config)


if __name__ == "__main__":
    main()
