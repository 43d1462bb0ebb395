"""The process manager: functions run as local processes of AWS's runtime interface clients.

A *sandbox* is one process with the unpacked package as its task root and a Runtime API of its
own (:mod:`.runtime_api`): ``python -m awslambdaric`` for ``python3.x``, ``node`` running an
installed ``aws-lambda-ric`` for ``nodejs*`` (found by :func:`find_node_ric`, never downloaded),
the package's own ``bootstrap`` for ``provided.*`` (see :data:`LAUNCHERS`). It is started on
demand, kept warm and reused by later invocations of the same function revision, killed when
the function changes or is deleted, when an invocation times out, and on shutdown.

Per function at most its reserved concurrency (else :data:`MAX_SANDBOXES`) run at once; a
synchronous invocation beyond that is throttled (TooManyRequestsException, as AWS answers a
function over its concurrency), an Event invocation waits for a free sandbox. Output goes to the
function's log file; ``LogType: Tail`` returns the last 4 KB of one invocation's lines, START to
REPORT, as AWS does.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import logging
import math
import os
import shutil
import signal
import sys
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from ..http.server import serve
from .functions import Function
from .messages import InvalidRuntimeException, TooManyRequestsException
from .runtime_api import RuntimeApi

log = logging.getLogger("tidestream.lambda")

#: concurrently running sandboxes per function without reserved concurrency (PutFunctionConcurrency)
MAX_SANDBOXES = 4
#: seconds a new process has to ask for its first invocation (AWS's init phase limit)
INIT_TIMEOUT = 10.0
#: bytes of log returned by ``LogType: Tail``
TAIL_BYTES = 4096
#: seconds an idle (warm) sandbox is kept before its process is stopped
IDLE_SECONDS = 300.0
#: a function's log file is rotated to ``.1`` beyond this size
MAX_LOG_BYTES = 10 * 1024 * 1024


@dataclass
class Launch:
    """How a sandbox's process starts: its command, and what the runtime adds to the environment."""

    command: list[str]
    env: dict[str, str] = field(default_factory=dict)


class EntrypointError(Exception):
    """The package cannot start (no executable ``bootstrap``): AWS's Runtime.InvalidEntrypoint."""


#: environment variable naming an installed aws-lambda-ric (its directory, or one holding node_modules/)
NODE_RIC_ENV = "TIDESTREAM_LAMBDA_NODE_RIC"
NODE_RIC_HINT = (
    "install AWS's Node.js runtime interface client once, e.g. `npm install -g aws-lambda-ric` or "
    "`npm install aws-lambda-ric` in the data directory's parent, or point "
    f"{NODE_RIC_ENV} at its directory (see docs/lambda.md)"
)


def _python_command(fn: Function, task_root: str, root: str) -> Launch:
    spec = importlib.util.find_spec("awslambdaric")
    if spec is None or spec.origin is None:
        raise InvalidRuntimeException(
            f"Cannot run {fn.runtime} functions: awslambdaric (AWS's runtime interface client) "
            "is not installed in tidestream's environment; pip install 'tidestream[lambda]'"
        )
    return Launch(
        [sys.executable, "-m", "awslambdaric", fn.handler],
        {"LAMBDA_RUNTIME_DIR": os.path.dirname(spec.origin), "PYTHONUNBUFFERED": "1"},
    )


def _ric_entry(directory: str) -> str | None:
    """The script of an aws-lambda-ric package in *directory* (its package.json's ``bin``)."""
    for candidate in (directory, os.path.join(directory, "node_modules", "aws-lambda-ric")):
        try:
            with open(os.path.join(candidate, "package.json"), "rb") as fh:
                meta = orjson.loads(fh.read())
        except (OSError, orjson.JSONDecodeError):
            continue
        if meta.get("name") != "aws-lambda-ric":
            continue
        binary = meta.get("bin")
        script = binary.get("aws-lambda-ric") if isinstance(binary, dict) else binary
        path = os.path.join(candidate, script or meta.get("main") or "index.mjs")
        if os.path.isfile(path):
            return os.path.abspath(path)
    return None


def _global_node_modules() -> list[str]:
    """Where ``npm install -g`` puts packages, without asking npm (a process start, ~0.4 s on
    the event loop): ``$NPM_CONFIG_PREFIX``, the prefix ``node`` is installed under (nvm, the
    official tarballs, Homebrew), then the usual system prefixes."""
    prefixes = [os.environ.get("NPM_CONFIG_PREFIX", "")]
    node = shutil.which("node")
    if node is not None:
        prefixes.append(os.path.dirname(os.path.dirname(os.path.realpath(node))))
    prefixes += ["/usr/local", "/usr"]
    return [os.path.join(prefix, "lib", "node_modules") for prefix in prefixes if prefix]


def find_node_ric(root: str) -> str | None:
    """The entry script of an installed aws-lambda-ric: $TIDESTREAM_LAMBDA_NODE_RIC, then a
    ``node_modules`` in or next to the data directory (*root* is ``<data-dir>/lambda``), in the
    working directory, then the global npm install. Nothing is ever downloaded."""
    data_dir = os.path.dirname(os.path.abspath(root))
    places = [
        os.environ.get(NODE_RIC_ENV, ""),
        data_dir,
        os.path.dirname(data_dir),
        os.getcwd(),
    ]
    for place in places:
        entry = _ric_entry(place) if place else None
        if entry is not None:
            return entry
    for place in _global_node_modules():
        entry = _ric_entry(os.path.join(place, "aws-lambda-ric"))
        if entry is not None:
            return entry
    return None


def _node_command(fn: Function, task_root: str, root: str) -> Launch:
    node = shutil.which("node")
    if node is None:
        raise InvalidRuntimeException(
            f"Cannot run {fn.runtime} functions: Node.js (`node`) is not on tidestream's PATH; "
            "install Node.js 18 or later, then " + NODE_RIC_HINT
        )
    entry = find_node_ric(root)
    if entry is None:
        raise InvalidRuntimeException(
            f"Cannot run {fn.runtime} functions: aws-lambda-ric (AWS's Node.js runtime interface "
            "client) was not found; " + NODE_RIC_HINT
        )
    runtime_dir = os.path.dirname(entry)
    modules = (
        os.path.dirname(runtime_dir)
        if os.path.basename(os.path.dirname(runtime_dir)) == "node_modules"
        else runtime_dir
    )
    return Launch(
        [node, entry, fn.handler],
        {
            "LAMBDA_RUNTIME_DIR": runtime_dir,
            # AWS: /opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task
            "NODE_PATH": os.pathsep.join([os.path.join(task_root, "node_modules"), modules, task_root]),
        },
    )


def _provided_command(fn: Function, task_root: str, root: str) -> Launch:
    """The package's own ``bootstrap`` (Go, Rust, a script: anything speaking the Runtime API)."""
    bootstrap = os.path.join(task_root, "bootstrap")
    if not os.path.isfile(bootstrap):
        raise EntrypointError(f"Couldn't find valid bootstrap(s): [{bootstrap}]")
    if not os.access(bootstrap, os.X_OK):
        raise EntrypointError(f"fork/exec {bootstrap}: permission denied")
    return Launch([bootstrap], {"LAMBDA_RUNTIME_DIR": task_root})


#: runtime name prefix -> how a sandbox's runtime client starts
LAUNCHERS: dict[str, Callable[[Function, str, str], Launch]] = {
    "python3": _python_command,
    "nodejs": _node_command,
    "provided": _provided_command,
}


def launch_command(fn: Function, task_root: str, root: str = "") -> Launch:
    """How *fn*'s runtime starts; AWS's InvalidRuntimeException for one not run here."""
    for prefix, command in LAUNCHERS.items():
        if fn.runtime.startswith(prefix):
            return command(fn, task_root, root)
    raise InvalidRuntimeException(
        f"tidestream does not run {fn.runtime} functions yet (it runs python3.x, nodejs and "
        "provided runtimes); see docs/lambda.md"
    )


@dataclass
class Invocation:
    request_id: str
    payload: bytes
    function_arn: str
    timeout: float
    client_context: str | None = None
    trace_id: str = ""
    deadline_ms: int = 0
    #: done when the runtime fetched it (handler running); then when the result arrived
    started: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    done: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


@dataclass
class Outcome:
    """What Invoke answers: the payload, ``Unhandled`` for a function error, the log lines."""

    payload: bytes
    function_error: str | None
    log: str


class FunctionLog:
    """A function's log file (shared by its sandboxes), rotated once it grows large."""

    def __init__(self, path: str) -> None:
        self.path = path
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.file = open(path, "ab")  # noqa: SIM115 - held for the sandbox's lifetime

    def write(self, data: bytes) -> None:
        if self.file.closed:  # output of a sandbox outliving a reset or shutdown
            return
        if self.file.tell() > MAX_LOG_BYTES:
            self.file.close()
            os.replace(self.path, self.path + ".1")
            self.file = open(self.path, "ab")  # noqa: SIM115 - held until the next rotation
        self.file.write(data)
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def _now_text() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def _max_memory_mb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return math.ceil(int(line.split()[1]) / 1024)
    except (OSError, ValueError, IndexError):
        pass
    return 0


class Sandbox:
    """One runtime-client process and its Runtime API server."""

    def __init__(
        self, fn: Function, task_root: str, flog: FunctionLog, env: dict[str, str], root: str = ""
    ) -> None:
        self.fn = fn
        #: the Sandboxes' directory (``<data-dir>/lambda``), where runtime clients are looked for
        self.root = root
        self.revision_id = fn.revision_id
        self.task_root = task_root
        self.flog = flog
        self.env = env
        self.pending: asyncio.Queue[Invocation | None] = asyncio.Queue()
        self.current: Invocation | None = None
        self.init_error: tuple[bytes, str] | None = None
        self.capture: bytearray | None = None
        self.proc: asyncio.subprocess.Process | None = None
        self.exited: asyncio.Task | None = None
        self.reader: asyncio.Task | None = None
        self.server: asyncio.base_events.Server | None = None
        self.killed = False
        self.cold = True
        self.started_at = 0.0
        #: monotonic time it last went idle
        self.idle_since = 0.0

    async def start(self) -> None:
        launch = launch_command(self.fn, self.task_root, self.root)  # refusals before any server
        self.server = await serve(RuntimeApi(self), "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        env = {
            "LAMBDA_TASK_ROOT": self.task_root,
            **launch.env,
            **self.env,
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        }
        self.started_at = time.monotonic()
        self.proc = await asyncio.create_subprocess_exec(
            *launch.command,
            cwd=self.task_root,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        self.reader = asyncio.ensure_future(self._read_output(self.proc.stdout))
        self.exited = asyncio.ensure_future(self.proc.wait())

    async def _read_output(self, stream: asyncio.StreamReader | None) -> None:
        while stream is not None:
            chunk = await stream.read(65536)
            if not chunk:
                return
            self._log(chunk)

    def _log(self, data: bytes) -> None:
        self.flog.write(data)
        if self.capture is not None:
            self.capture += data

    def usable(self, revision_id: str) -> bool:
        return (
            not self.killed
            and self.revision_id == revision_id
            and self.exited is not None
            and not self.exited.done()
        )

    # the Runtime API side ---------------------------------------------------------------------
    async def next_invocation(self) -> Invocation | None:
        inv = await self.pending.get()
        if inv is not None:
            inv.deadline_ms = int((time.time() + inv.timeout) * 1000)
            self.current = inv
            if not inv.started.done():
                inv.started.set_result(time.monotonic())
        return inv

    def complete(self, request_id: str, body: bytes, error_type: str | None) -> bool:
        inv = self.current
        if inv is None or inv.request_id != request_id:
            return False
        if not inv.done.done():
            inv.done.set_result((body, error_type))
        self.current = None
        return True

    def init_failed(self, body: bytes, error_type: str) -> None:
        self.init_error = (body, error_type)
        if self.current is not None and not self.current.done.done():
            self.current.done.set_result((body, error_type))

    # running ----------------------------------------------------------------------------------
    async def run(self, inv: Invocation) -> Outcome:
        self.capture = bytearray()
        self._log(f"START RequestId: {inv.request_id} Version: $LATEST\n".encode())
        self.pending.put_nowait(inv)
        outcome = await self._await_start(inv)
        began = (
            inv.started.result() if inv.started.done() and not inv.started.cancelled() else time.monotonic()
        )
        if outcome is None:
            outcome = await self._await_result(inv, began)
        for _ in range(5):  # let the output the runtime wrote before answering reach the log
            await asyncio.sleep(0)
        self._report(inv, began)
        tail = bytes(self.capture)[-TAIL_BYTES:].decode("utf-8", "replace")
        self.capture = None
        self.cold = False
        return Outcome(outcome.payload, outcome.function_error, tail)

    async def _await_start(self, inv: Invocation) -> Outcome | None:
        assert self.exited is not None
        done, _ = await asyncio.wait(
            {inv.started, self.exited}, timeout=INIT_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        if inv.started in done:
            return None
        if self.init_error is not None:
            self.kill()
            return Outcome(self.init_error[0], "Unhandled", "")
        if self.exited in done:
            return self._exit_outcome(inv)
        self.kill()
        return self._timeout_outcome(inv, INIT_TIMEOUT)

    async def _await_result(self, inv: Invocation, began: float) -> Outcome:
        assert self.exited is not None
        left = max(0.0, began + inv.timeout - time.monotonic())
        done, _ = await asyncio.wait(
            {inv.done, self.exited}, timeout=left, return_when=asyncio.FIRST_COMPLETED
        )
        if inv.done in done:
            body, error_type = inv.done.result()
            if self.init_error is not None:
                self.kill()
            return Outcome(body, "Unhandled" if error_type else None, "")
        if self.exited in done:
            return self._exit_outcome(inv)
        self.kill()
        return self._timeout_outcome(inv, time.monotonic() - began)

    def _exit_outcome(self, inv: Invocation) -> Outcome:
        code = self.proc.returncode if self.proc else None
        why = (
            f"signal: {signal.Signals(-code).name}"
            if code is not None and code < 0
            else f"exit status {code}"
        )
        message = f"RequestId: {inv.request_id} Error: Runtime exited with error: {why}"
        self._log(f"{message}\nRuntime.ExitError\n".encode())
        self.kill()
        return Outcome(
            orjson.dumps({"errorType": "Runtime.ExitError", "errorMessage": message}), "Unhandled", ""
        )

    def _timeout_outcome(self, inv: Invocation, seconds: float) -> Outcome:
        self._log(f"{_now_text()} {inv.request_id} Task timed out after {seconds:.2f} seconds\n".encode())
        message = f"RequestId: {inv.request_id} Error: Task timed out after {seconds:.2f} seconds"
        return Outcome(
            orjson.dumps({"errorType": "Sandbox.Timedout", "errorMessage": message}), "Unhandled", ""
        )

    def _report(self, inv: Invocation, began: float) -> None:
        ms = (time.monotonic() - began) * 1000
        init = f"\tInit Duration: {(began - self.started_at) * 1000:.2f} ms" if self.cold else ""
        memory = _max_memory_mb(self.proc.pid) if self.proc else 0
        self._log(
            f"END RequestId: {inv.request_id}\nREPORT RequestId: {inv.request_id}\t"
            f"Duration: {ms:.2f} ms\tBilled Duration: {math.ceil(ms)} ms\t"
            f"Memory Size: {self.fn.memory_size} MB\tMax Memory Used: {memory} MB{init}\t\n".encode()
        )

    def kill(self) -> None:
        """Stop the process (and whatever it started) at once, and the Runtime API server."""
        if self.killed:
            return
        self.killed = True
        if self.proc is not None and self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.server is not None:
            self.server.close()
        self.pending.put_nowait(None)  # a long-polling /next gets its answer


@dataclass
class _Pool:
    """The sandboxes of one function."""

    revision_id: str
    idle: list[Sandbox] = field(default_factory=list)
    #: sandboxes alive, idle or busy (bounded by MAX_SANDBOXES)
    running: int = 0
    freed: asyncio.Event = field(default_factory=asyncio.Event)


class Sandboxes:
    """Every function's sandboxes: start, reuse, bound, retire."""

    def __init__(self, root: str, environment: Callable[[Function], dict[str, str]]) -> None:
        #: code/<sha>/ task roots (a cache of the stored packages), logs/<account>/<region>/
        self.root = root
        self.environment = environment
        self.pools: dict[bytes, _Pool] = {}
        self.logs: dict[bytes, FunctionLog] = {}
        self.everyone: set[Sandbox] = set()

    async def invoke(
        self, fn: Function, package: Callable[[], bytes], inv: Invocation, wait: bool
    ) -> Outcome:
        pool = self.pools.get(fn.key)
        if pool is None or pool.revision_id != fn.revision_id:
            self.retire(fn.key)
            pool = self.pools[fn.key] = _Pool(fn.revision_id)
        try:
            sandbox = await self._acquire(pool, fn, package, wait)
        except EntrypointError as err:
            return self._entrypoint_outcome(fn, inv, str(err))
        try:
            return await sandbox.run(inv)
        finally:
            self._release(fn.key, pool, sandbox)

    def _entrypoint_outcome(self, fn: Function, inv: Invocation, why: str) -> Outcome:
        """A package that cannot start, answered as AWS does (a function error, logged)."""
        message = f"RequestId: {inv.request_id} Error: {why}"
        line = f"START RequestId: {inv.request_id} Version: $LATEST\n{message}\nRuntime.InvalidEntrypoint\n"
        line += f"END RequestId: {inv.request_id}\n"
        self._function_log(fn).write(line.encode())
        body = orjson.dumps({"errorType": "Runtime.InvalidEntrypoint", "errorMessage": message})
        return Outcome(body, "Unhandled", line[-TAIL_BYTES:])

    def _function_log(self, fn: Function) -> FunctionLog:
        flog = self.logs.get(fn.key)
        if flog is None:
            flog = self.logs[fn.key] = FunctionLog(self.log_path(fn))
        return flog

    async def _acquire(self, pool: _Pool, fn: Function, package: Callable[[], bytes], wait: bool) -> Sandbox:
        while True:
            bound = self.bound(fn)
            while pool.idle and pool.running > bound:  # the reservation was lowered
                self._discard(pool, pool.idle.pop())
            while pool.idle:
                sandbox = pool.idle.pop()
                if sandbox.usable(pool.revision_id):
                    return sandbox
                self._discard(pool, sandbox)
            if pool.running < bound:
                pool.running += 1
                try:
                    return await self._start(fn, package)
                except BaseException:
                    pool.running -= 1
                    raise
            if not wait or bound == 0:  # 0 reserved: nothing ever frees a sandbox
                raise TooManyRequestsException(
                    "Rate Exceeded.", extra={"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"}
                )
            pool.freed.clear()
            await pool.freed.wait()

    @staticmethod
    def bound(fn: Function) -> int:
        """How many sandboxes *fn* may run at once: its reserved concurrency, else MAX_SANDBOXES."""
        return MAX_SANDBOXES if fn.reserved_concurrency is None else fn.reserved_concurrency

    def _release(self, key: bytes, pool: _Pool, sandbox: Sandbox) -> None:
        if self.pools.get(key) is pool and sandbox.usable(pool.revision_id):
            sandbox.idle_since = time.monotonic()
            pool.idle.append(sandbox)
        else:
            self._discard(pool, sandbox)
        pool.freed.set()

    def _discard(self, pool: _Pool, sandbox: Sandbox) -> None:
        sandbox.kill()
        self.everyone.discard(sandbox)
        pool.running -= 1

    async def _start(self, fn: Function, package: Callable[[], bytes]) -> Sandbox:
        task_root = await self._task_root(fn, package)
        flog = self._function_log(fn)
        sandbox = Sandbox(fn, task_root, flog, self.environment(fn), self.root)
        self.everyone.add(sandbox)
        try:
            await sandbox.start()
        except BaseException:
            self.everyone.discard(sandbox)
            sandbox.kill()
            raise
        return sandbox

    def log_path(self, fn: Function) -> str:
        return os.path.join(self.root, "logs", fn.account, fn.region, fn.name + ".log")

    async def _task_root(self, fn: Function, package: Callable[[], bytes]) -> str:
        """The package unpacked under ``code/<sha256>``: unpacked once, into a temporary
        directory renamed into place, so a half-unpacked tree is never used."""
        path = os.path.join(self.root, "code", code_dir_name(fn.code_sha256))
        if not os.path.isdir(path):
            await asyncio.to_thread(_unpack, package(), path)
        return path

    def retire(self, key: bytes) -> None:
        """Forget a function's sandboxes (changed or deleted): idle ones stop now, running
        ones when their invocation ends."""
        pool = self.pools.pop(key, None)
        if pool is not None:
            for sandbox in pool.idle:
                self._discard(pool, sandbox)
            pool.idle.clear()

    def reap_idle(self, now: float) -> None:
        """Stop the processes of sandboxes idle longer than IDLE_SECONDS (AWS, too, lets warm
        execution environments go after a while)."""
        for pool in self.pools.values():
            stale = [s for s in pool.idle if now - s.idle_since > IDLE_SECONDS]
            for sandbox in stale:
                pool.idle.remove(sandbox)
                self._discard(pool, sandbox)

    def prune_code(self, keep: set[str]) -> None:
        """Remove unpacked packages no function uses (call only while no sandbox runs)."""
        base = os.path.join(self.root, "code")
        if not os.path.isdir(base):
            return
        for name in os.listdir(base):
            if name not in keep:
                shutil.rmtree(os.path.join(base, name), ignore_errors=True)

    def drop_code(self, name: str) -> None:
        """Remove the unpacked package ``code/<name>`` unless a live sandbox runs from it."""
        path = os.path.join(self.root, "code", name)
        if all(sandbox.task_root != path for sandbox in self.everyone):
            shutil.rmtree(path, ignore_errors=True)

    def close(self) -> None:
        for sandbox in list(self.everyone):
            sandbox.kill()
        self.everyone.clear()
        self.pools.clear()
        for flog in self.logs.values():
            flog.close()
        self.logs.clear()


def code_dir_name(code_sha256: str) -> str:
    """The directory name of an unpacked package (its base64 SHA-256, made file-name safe)."""
    return code_sha256.replace("/", "_").replace("+", "-").rstrip("=")


def _unpack(package: bytes, path: str) -> None:
    tmp = f"{path}.tmp-{uuid.uuid4().hex}"
    os.makedirs(tmp)  # an empty archive (AWS accepts one) still makes an (empty) task root
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        archive.extractall(tmp)  # zipfile drops absolute paths and ".." components
        for info in archive.infolist():  # keep executable bits (a provided runtime's bootstrap)
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                os.chmod(os.path.join(tmp, info.filename), mode | 0o400)
    try:
        os.rename(tmp, path)
    except OSError:  # unpacked meanwhile by another invocation
        shutil.rmtree(tmp, ignore_errors=True)
