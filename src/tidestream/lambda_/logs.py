"""Function logs: where they are and the operator route that serves them.

Every sandbox's stdout and stderr, with AWS's START / END / REPORT lines, go to
``<data-dir>/lambda/logs/<account>/<region>/<function>.log`` (rotated to ``.log.1`` at 10 MB,
see :class:`.sandboxes.FunctionLog`). ``tidestream logs FUNCTION`` prints that file, from the
data directory when it is given, else through ``GET /_tidestream/lambda/logs`` of a running
server (an operator route: signed under ``--auth enforce``, like ``/metrics``); the command
itself is :mod:`.logs_cli`, kept apart so the server never imports its HTTP client (``urllib.request``
loads ``http.client`` and ``email``: ~1.7 MB of idle memory).
"""

from __future__ import annotations

import glob
import os
from urllib.parse import parse_qs

import orjson

from ..http.messages import Request, Response

LOGS_PATH = "/_tidestream/lambda/logs"
#: bytes the route answers at most per request (the client asks again from the next offset)
MAX_CHUNK = 1024 * 1024


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
