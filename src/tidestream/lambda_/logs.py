"""Function logs: where they are, the operator route that serves them, and ``tidestream logs``.

Every sandbox's stdout and stderr, with AWS's START / END / REPORT lines, go to
``<data-dir>/lambda/logs/<account>/<region>/<function>.log`` (rotated to ``.log.1`` at 10 MB,
see :class:`.sandboxes.FunctionLog`). ``tidestream logs FUNCTION`` prints that file, from the
data directory when it is given, else through ``GET /_tidestream/lambda/logs`` of a running
server (an operator route: signed under ``--auth enforce``, like ``/metrics``).
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlencode

import orjson

from ..http.messages import Request, Response

LOGS_PATH = "/_tidestream/lambda/logs"
#: bytes the route answers at most per request (the client asks again from the next offset)
MAX_CHUNK = 1024 * 1024
#: seconds between looks at a growing log under --follow
POLL_SECONDS = 0.5


class LogNotFound(LookupError):
    pass


def find_log(root: str, name: str, account: str | None = None, region: str | None = None) -> str:
    """The log file of function *name* under *root* (``<data-dir>/lambda``); account and region
    may be left out while only one account and region has a function of that name."""
    if not name or "/" in name or name.startswith("."):
        raise LogNotFound(f"{name!r} is not a function name")
    pattern = os.path.join(root, "logs", glob.escape(account or "") or "*", glob.escape(region or "") or "*")
    found = sorted(glob.glob(os.path.join(pattern, glob.escape(name) + ".log")))
    if not found:
        raise LogNotFound(
            f"No log for function {name}: it has not run yet (or not in this data directory, "
            "account or region)"
        )
    if len(found) > 1:
        places = ", ".join(os.path.relpath(os.path.dirname(p), os.path.join(root, "logs")) for p in found)
        raise LogNotFound(
            f"Function {name} has logs in several accounts/regions ({places}): give --account-id and --region"
        )
    return found[0]


def read_chunk(path: str, offset: int) -> tuple[bytes, int]:
    """Up to MAX_CHUNK bytes from *offset*, and the next offset. A file shorter than *offset*
    was rotated: reading starts again at its beginning."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if offset > size:
            offset = 0
        fh.seek(offset)
        data = fh.read(MAX_CHUNK)
    return data, offset + len(data)


def route(root: str):
    """The handler of ``GET /_tidestream/lambda/logs?function=NAME[&account=&region=&offset=]``:
    the log's bytes from *offset*, the next offset in ``X-Tidestream-Next-Offset``."""

    def serve(req: Request) -> Response:
        query = {k: v[-1] for k, v in parse_qs(req.path.partition("?")[2]).items()}
        try:
            path = find_log(root, query.get("function", ""), query.get("account"), query.get("region"))
            data, offset = read_chunk(path, int(query.get("offset", "0")))
        except LogNotFound as err:
            return _json(404, "ResourceNotFoundException", str(err))
        except ValueError:
            return _json(400, "InvalidParameterValueException", "offset must be a byte offset")
        return Response(
            200,
            data,
            [("Content-Type", "text/plain; charset=utf-8"), ("X-Tidestream-Next-Offset", str(offset))],
        )

    return serve


def _json(status: int, code: str, message: str) -> Response:
    return Response(
        status, orjson.dumps({"__type": code, "message": message}), [("Content-Type", "application/json")]
    )


# the command line ------------------------------------------------------------------------------
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
