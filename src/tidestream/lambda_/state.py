"""The Lambda service state: the function store, the sandboxes, and what ties them to the server.

Everything durable is in the engine (see :mod:`.functions`); this object is rebuilt from it by
:meth:`LambdaState.reload`. All operations run on the server's single event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import shutil
import tempfile
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, quote

from ..context import RequestContext
from ..errors import AwsError
from ..http.messages import Request, Response
from ..signing import stored_secret
from ..storage.engine import Engine, StorageError
from .functions import FUNCTION_PREFIX, SECRET_KEY, Function, FunctionStore, function_arn, parse_name
from .mappings import MAPPING_PREFIX, MappingStore
from .messages import function_not_found, pending
from .pollers import DEFAULT_POLL_INTERVAL, Pollers
from .sandboxes import Sandboxes, code_dir_name
from .sources import Sources, Waiter

log = logging.getLogger("tidestream.lambda")

#: the path of GetFunction's Code.Location download (a presigned URL, like AWS's S3 link)
CODE_PATH = "/_tidestream/lambda/code"
#: seconds a Code.Location URL stays valid (AWS: 10 minutes)
CODE_URL_SECONDS = 600


class LambdaState:
    def __init__(self, engine: Engine, config: Any, data_dir: str | None) -> None:
        self.engine = engine
        self.status_delay = float(getattr(config, "status_delay", 0.0) or 0.0)
        self.clock = time.time
        port = getattr(config, "port", 4566)
        #: where a function's SDK calls go (AWS_ENDPOINT_URL); set once the server is bound
        self.endpoint = f"http://127.0.0.1:{port}"
        self.own_root = data_dir is None
        self.root = (
            tempfile.mkdtemp(prefix="tidestream-lambda-")
            if data_dir is None
            else os.path.join(data_dir, "lambda")
        )
        self.sandboxes = Sandboxes(self.root, self.environment)
        #: several nodes share the store (``--cluster``): functions and mappings are read from
        #: it, and each change is announced to the other nodes (see :meth:`heard`)
        self.shared = bool(getattr(engine, "cluster", False))
        announce = getattr(engine, "announce", None) if self.shared else None
        self.store = FunctionStore(engine, self.shared, announce)
        self.mappings = MappingStore(engine, self.shared, announce)
        #: the Kinesis and DynamoDB Streams operations mappings read through (see attach_sources)
        self.sources = Sources()
        poll = getattr(config, "lambda_poll_interval", None)
        self.pollers = Pollers(self, float(poll) if poll else DEFAULT_POLL_INTERVAL)
        self.secret = b""
        #: Event invocations running in the background
        self.background: set[asyncio.Task] = set()
        self.reload()
        if self.shared:
            engine.listen(self.heard)  # type: ignore[attr-defined]

    def reload(self) -> None:
        """Rebuild from the engine (startup, and after a reset)."""
        self.sandboxes.close()
        self.store.reload()
        self.mappings.reload()
        self.pollers.restart()
        self.sandboxes.prune_code({code_dir_name(fn.code_sha256) for fn in self.store.functions.values()})
        self.secret = stored_secret(self.engine, SECRET_KEY, self.secret)

    def reset(self) -> None:
        """``POST /_tidestream/reset`` (the engine was wiped): stop every poller, kill every
        function process and Event invocation in flight, forget the dead-letter log, rebuild
        (:meth:`reload` restarts the pollers, which finds no mapping left)."""
        for task in self.background:
            task.cancel()
        self.pollers.dead_letters.clear()
        self.reload()

    # the other nodes' changes (cluster mode) -----------------------------------------------------
    def heard(self, key: bytes | None) -> None:
        """A notification from another node (on the event loop): a function or mapping changed
        (``key``), everything was reset (``b""``: ``POST /_tidestream/reset``), or notifications
        may have been lost (None: every mapping is compared with the store)."""
        try:
            if key == b"":
                self.reset()
            elif key is None:
                self.store.reload()
                self.pollers.resync()
            elif key.startswith(FUNCTION_PREFIX):
                self._function_heard(key)
            elif key.startswith(MAPPING_PREFIX):
                uuid = key[len(MAPPING_PREFIX) :].decode()
                self.pollers.heard(uuid, self.mappings.refresh(uuid))
        except StorageError as err:  # the next call reads the store again anyway
            log.warning("Lambda: reloading after another node's change: %s", err)

    def _function_heard(self, key: bytes) -> None:
        old = self.store.functions.get(key)
        new = self.store.refresh(key)
        if old is not None and (new is None or new.revision_id != old.revision_id):
            self.retire(old)

    def retire(self, old: Function) -> None:
        """A function changed or went: its idle sandboxes stop (busy ones when their invocation
        ends), and its unpacked code goes once no function this node knows and no live
        sandbox uses it (the store keeps the package: it is unpacked again if needed)."""
        self.sandboxes.retire(old.key)
        name = code_dir_name(old.code_sha256)
        if name not in {code_dir_name(fn.code_sha256) for fn in self.store.functions.values()}:
            self.sandboxes.drop_code(name)

    def attach_sources(
        self,
        kinesis: dict,
        streams: dict,
        kinesis_waiter: Waiter | None = None,
        streams_waiter: Waiter | None = None,
    ) -> None:
        """The bound Kinesis and DynamoDB Streams operations (``op(ctx, params)``) mappings read,
        and how their pollers learn of appends (see :mod:`tidestream.wakeups`)."""
        self.sources.attach(kinesis, streams, kinesis_waiter, streams_waiter)

    def background_jobs(self) -> list:
        """(lease name or None, loop): idle sandboxes are this node's own; event source mappings
        are polled by one node of a cluster (storage/leases.py)."""
        return [(None, self._reap_idle), ("lambda-event-source-mappings", self.pollers.serve)]

    async def _reap_idle(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            await asyncio.sleep(30)
            self.sandboxes.reap_idle(time.monotonic())

    def close(self) -> None:
        self.pollers.close()
        for task in self.background:
            task.cancel()
        self.sandboxes.close()
        if self.own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    # functions ----------------------------------------------------------------------------------
    def require(self, ctx: RequestContext, function_name: str, qualifier: str | None = None) -> Function:
        """The function a FunctionName (name or ARN, maybe qualified) names, or AWS's 404.

        Only ``$LATEST`` exists until versions are implemented."""
        name, in_name = parse_name(function_name, ctx.account_id, ctx.region)
        fn = self.store.get(ctx.account_id, ctx.region, name)
        qualifier = qualifier or in_name
        arn = function_arn(ctx.account_id, ctx.region, name)
        if fn is None:
            raise function_not_found(arn)
        if qualifier not in (None, "$LATEST"):
            raise function_not_found(f"{arn}:{qualifier}")
        return fn

    def status(self, fn: Function, fresh: str | None = None) -> dict[str, str]:
        """State and LastUpdateStatus members: a function is Pending for ``--status-delay``
        seconds after CreateFunction and InProgress as long after an update. *fresh* ("create"
        or "update") renders the answer of the call that made the change."""
        now = self.clock()
        if fresh == "create" or (fresh is None and now < fn.created + self.status_delay):
            return {
                "State": "Pending",
                "StateReason": "The function is being created.",
                "StateReasonCode": "Creating",
            }
        active = {"State": "Active"}
        if fresh == "update" or now < fn.last_modified + self.status_delay:
            return {
                **active,
                "LastUpdateStatus": "InProgress",
                "LastUpdateStatusReason": "The function is being created.",
                "LastUpdateStatusReasonCode": "Creating",
            }
        return {**active, "LastUpdateStatus": "Successful"}

    def require_invocable(self, fn: Function) -> None:
        if self.clock() < fn.created + self.status_delay:
            raise pending("Pending")

    # what a sandbox sees ------------------------------------------------------------------------
    def environment(self, fn: Function) -> dict[str, str]:
        """The environment AWS sets for a function's runtime, then the function's Environment.

        The 12-digit access key makes the function's SDK calls land in its own account."""
        stream = time.strftime("%Y/%m/%d", time.gmtime()) + "/[$LATEST]" + uuid.uuid4().hex
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "_HANDLER": fn.handler,
            "AWS_LAMBDA_FUNCTION_NAME": fn.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": fn.region,
            "AWS_DEFAULT_REGION": fn.region,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": fn.account,
            "AWS_ACCESS_KEY": fn.account,
            "AWS_SECRET_ACCESS_KEY": "tidestream-lambda",
            "AWS_SESSION_TOKEN": "tidestream-lambda",
        }
        if not fn.runtime.startswith("provided"):  # AWS leaves it unset for OS-only runtimes
            env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{fn.runtime}"
        env.update(fn.environment or {})
        return env

    # Code.Location ------------------------------------------------------------------------------
    def code_url(self, fn: Function) -> str:
        """A download URL for the package, valid CODE_URL_SECONDS, signed with the secret."""
        expires = int(self.clock()) + CODE_URL_SECONDS
        ident = f"{fn.account}/{fn.region}/{fn.name}"
        sig = self._sign(ident, fn.code_sha256, expires)
        return (
            f"{self.endpoint}{CODE_PATH}?function={quote(ident, safe='')}"
            f"&sha={quote(fn.code_sha256, safe='')}&expires={expires}&signature={sig}"
        )

    def _sign(self, ident: str, sha: str, expires: int) -> str:
        return hmac.new(self.secret, f"{ident}|{sha}|{expires}".encode(), hashlib.sha256).hexdigest()

    def serve_code(self, req: Request) -> Response:
        """GET of a Code.Location URL: the zip, or 403 once expired or when tampered with."""
        query = {k: v[-1] for k, v in parse_qs(req.path.partition("?")[2]).items()}
        try:
            ident, sha, expires = query["function"], query["sha"], int(query["expires"])
            ok = hmac.compare_digest(self._sign(ident, sha, expires), query.get("signature", ""))
        except (KeyError, ValueError):
            ok = False
        if not ok or expires < self.clock():
            return Response(
                403,
                b'{"message":"Request has expired or its signature does not match"}',
                [("Content-Type", "application/json")],
            )
        account, region, name = ident.split("/", 2)
        fn = self.store.get(account, region, name)
        try:
            if fn is not None and fn.code_sha256 == sha:
                return Response(200, self.store.code(fn), [("Content-Type", "application/zip")])
        except AwsError:  # changed by another node between the two reads
            pass
        return Response(
            404,
            b'{"message":"The function or this version of its code no longer exists"}',
            [("Content-Type", "application/json")],
        )
