"""The sandbox manager with a real awslambdaric process: idle reaping and code pruning."""

from __future__ import annotations

import asyncio
import io
import os
import time
import zipfile

import orjson

from tidestream.lambda_.functions import Function, check_package
from tidestream.lambda_.sandboxes import IDLE_SECONDS, Invocation, Sandboxes, code_dir_name


def _function(tmp_code: bytes) -> Function:
    sha, size = check_package(tmp_code)
    return Function(
        account="000000000000",
        region="us-east-1",
        name="f",
        runtime="python3.12",
        handler="app.handler",
        role="arn:aws:iam::000000000000:role/r",
        code_sha256=sha,
        code_size=size,
        revision_id="r1",
        created=0.0,
        last_modified=0.0,
    )


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("app.py", "import os\ndef handler(e, c):\n    return os.getpid()\n")
    return buf.getvalue()


def test_idle_sandboxes_are_reaped_and_unused_code_pruned(tmp_path):
    code = _zip()
    fn = _function(code)

    async def scenario() -> None:
        sandboxes = Sandboxes(str(tmp_path), lambda f: {"PATH": os.environ["PATH"]})
        try:
            inv = Invocation("req-1", b"{}", "arn", 10.0, trace_id="Root=1-0-0")
            outcome = await sandboxes.invoke(fn, lambda: code, inv, wait=False)
            pid = orjson.loads(outcome.payload)
            assert outcome.function_error is None and os.path.exists(f"/proc/{pid}")
            sandboxes.reap_idle(time.monotonic())  # just used: kept warm
            assert len(sandboxes.pools[fn.key].idle) == 1
            sandboxes.reap_idle(time.monotonic() + IDLE_SECONDS + 1)
            assert sandboxes.pools[fn.key].idle == [] and sandboxes.pools[fn.key].running == 0
            for _ in range(100):  # the SIGKILLed process is reaped by its watcher
                if not os.path.exists(f"/proc/{pid}") or "Z" in _state(pid):
                    break
                await asyncio.sleep(0.05)
            assert not os.path.exists(f"/proc/{pid}") or "Z" in _state(pid)
        finally:
            sandboxes.close()

    asyncio.run(scenario())
    unpacked = tmp_path / "code" / code_dir_name(fn.code_sha256)
    assert (unpacked / "app.py").is_file()
    (tmp_path / "code" / "stale").mkdir()
    Sandboxes(str(tmp_path), dict).prune_code({code_dir_name(fn.code_sha256)})
    assert sorted(os.listdir(tmp_path / "code")) == [code_dir_name(fn.code_sha256)]


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][:1]
    except OSError:
        return "Z"
