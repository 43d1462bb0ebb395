"""``tidestream logs FUNCTION``: print a Lambda function's log from a data directory or a server.

Apart from :mod:`.logs` (which the server imports for its route) so that the server never loads
this client's ``urllib.request``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

import orjson

from .logs import LOGS_PATH, LogNotFound, find_log, read_chunk

#: seconds between looks at a growing log under --follow
POLL_SECONDS = 0.5


def _file_chunks(path: str, follow: bool) -> Iterator[bytes]:
    """The rotated part (when there is one) and the log; under *follow*, what is added later,
    across rotations (a new file, or one shorter than what was read, starts over)."""
    if os.path.exists(path + ".1"):
        with open(path + ".1", "rb") as fh:
            yield fh.read()
    offset, inode = 0, None
    while True:
        try:
            stat = os.stat(path)
            if inode is not None and stat.st_ino != inode:
                offset = 0
            inode = stat.st_ino
            data, offset = read_chunk(path, offset)
        except FileNotFoundError:
            data = b""
        if data:
            yield data
        elif not follow:
            return
        else:
            time.sleep(POLL_SECONDS)


def _http_chunks(args: argparse.Namespace) -> Iterator[bytes]:
    signer = _signer()
    offset = 0
    while True:
        data, offset = _fetch(args, offset, signer)
        if data:
            yield data
        elif not args.follow:
            return
        else:
            time.sleep(POLL_SECONDS)


def _fetch(
    args: argparse.Namespace, offset: int, signer: Callable[[str], dict[str, str]]
) -> tuple[bytes, int]:
    query = {"function": args.function, "offset": str(offset)}
    if args.account_id:
        query["account"] = args.account_id
    if args.region:
        query["region"] = args.region
    url = args.endpoint.rstrip("/") + LOGS_PATH + "?" + urlencode(query)
    req = urllib.request.Request(url, headers=signer(url))
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.read(), int(r.headers.get("X-Tidestream-Next-Offset", offset))
    except urllib.error.HTTPError as err:
        body = err.read()
        try:
            message = orjson.loads(body).get("message", body.decode())
        except orjson.JSONDecodeError:
            message = body.decode("utf-8", "replace")
        raise LogNotFound(f"{err.code}: {message}") from None


def _signer() -> Callable[[str], dict[str, str]]:
    """SigV4 headers made with the caller's AWS credentials, when it has any (``--auth enforce``
    servers demand them; others ignore them)."""
    import botocore.session
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")  # no second-long IMDS probe
    session = botocore.session.get_session()
    credentials = session.get_credentials()
    region = session.get_config_variable("region") or "us-east-1"

    def sign(url: str) -> dict[str, str]:
        if credentials is None:
            return {}
        req = AWSRequest(method="GET", url=url, data=b"")
        SigV4Auth(credentials, "lambda", region).add_auth(req)
        return dict(req.headers.items())

    return sign


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tidestream logs",
        description="Print a Lambda function's log (its output and AWS's START / END / REPORT lines)",
    )
    p.add_argument("function", help="function name")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing what is added")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--data-dir", help="read the log from this data directory (server running or not)")
    where.add_argument(
        "--endpoint",
        default="http://127.0.0.1:4566",
        help="ask this running server (default http://127.0.0.1:4566; signed with your AWS credentials)",
    )
    p.add_argument("--region", default=None, help="the function's region (needed only when ambiguous)")
    p.add_argument("--account-id", default=None, help="the function's account (needed only when ambiguous)")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        if args.data_dir:
            path = find_log(
                os.path.join(args.data_dir, "lambda"), args.function, args.account_id, args.region
            )
            chunks = _file_chunks(path, args.follow)
        else:
            chunks = _http_chunks(args)
        for chunk in chunks:
            sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
    except LogNotFound as err:
        print(f"tidestream logs: {err}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as err:
        print(f"tidestream logs: cannot reach {args.endpoint}: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
