"""The servers under test: tidestream and its peers. Install, start, wait for, stop."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PEERS_DIR = BENCH / ".peers"
VENV = PEERS_DIR / "venv"
NODE = PEERS_DIR / "node"
NPM_PACKAGES = ["dynalite", "kinesalite", "kinesis-local"]
PIP_PACKAGES = ["ministack", "moto[server]"]


@dataclass
class Peer:
    name: str
    apis: tuple[str, ...]  # "dynamodb", "kinesis", "lambda" (functions and event source mappings)
    on_disk: bool  # keeps its data in the data dir (else: in memory)
    note: str = ""  # how it is run, for the report

    def command(self, port: int, data_dir: str) -> tuple[list[str], dict[str, str], str | None]:
        """argv, extra environment, working directory."""
        node_mod = NODE / "node_modules"
        if self.name == "tidestream":
            return (
                [sys.executable, "-m", "tidestream", "serve", "--port", str(port), "--data-dir", data_dir],
                {},
                None,
            )
        if self.name == "dynalite":
            return (
                [
                    "node",
                    str(node_mod / "dynalite/cli.js"),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--path",
                    data_dir,
                    "--createTableMs",
                    "0",
                    "--deleteTableMs",
                    "0",
                    "--updateTableMs",
                    "0",
                ],
                {},
                None,
            )
        if self.name == "kinesalite":
            return (
                [
                    "node",
                    str(node_mod / "kinesalite/cli.js"),
                    "--port",
                    str(port),
                    "--path",
                    data_dir,
                    "--createStreamMs",
                    "0",
                    "--deleteStreamMs",
                    "0",
                    "--updateStreamMs",
                    "0",
                    "--shardLimit",
                    "100",
                ],
                {},
                None,
            )
        if self.name == "kinesis-local":
            env = {
                "KINESIS_MOCK_PLAIN_PORT": str(port),
                "KINESIS_MOCK_TLS_PORT": str(port + 1),
                "LOG_LEVEL": "WARN",
                "SHARD_LIMIT": "100",
            }
            for k in ("CREATE_STREAM", "DELETE_STREAM", "UPDATE_SHARD_COUNT", "UPDATE_STREAM_MODE"):
                env[f"{k}_DURATION"] = "0ms"
            return ["node", str(node_mod / "kinesis-local/main.js")], env, str(node_mod / "kinesis-local")
        if self.name == "moto":
            return [str(VENV / "bin/moto_server"), "-H", "127.0.0.1", "-p", str(port)], {}, None
        if self.name == "ministack":
            return (
                [str(VENV / "bin/ministack")],
                {
                    "GATEWAY_PORT": str(port),
                    "BIND_HOST": "127.0.0.1",
                    "LOG_LEVEL": "WARNING",
                    "SERVICES": "dynamodb,kinesis,lambda",
                },
                None,
            )
        raise ValueError(self.name)


PEERS: dict[str, Peer] = {
    p.name: p
    for p in [
        Peer(
            "tidestream",
            ("dynamodb", "kinesis", "lambda"),
            True,
            "strict durability (fsync per group commit)",
        ),
        Peer("dynalite", ("dynamodb",), True, "LevelDB (--path), no fsync"),
        Peer("kinesalite", ("kinesis",), True, "LevelDB (--path), no fsync"),
        Peer("kinesis-local", ("kinesis",), False, "kinesis-mock on Node, in memory"),
        Peer("moto", ("dynamodb", "kinesis"), False, "moto_server, in memory"),
        Peer(
            "ministack",
            ("dynamodb", "kinesis", "lambda"),
            False,
            "SERVICES=dynamodb,kinesis,lambda, in memory, functions as local processes",
        ),
    ]
}


def install(names: list[str], log) -> dict[str, str]:
    """Install the peers into bench/.peers/; returns {peer: error} for those that failed."""
    errors: dict[str, str] = {}
    PEERS_DIR.mkdir(exist_ok=True)
    want_pip = [n for n in names if n in ("moto", "ministack")]
    if want_pip and not all((VENV / "bin" / b).exists() for b in ("moto_server", "ministack")):
        log("installing ministack, moto[server] into bench/.peers/venv ...")
        r = subprocess.run(
            f"{sys.executable} -m venv {VENV} && {VENV}/bin/pip install -q "
            + " ".join(f"'{p}'" for p in PIP_PACKAGES),
            shell=True,
            capture_output=True,
            text=True,
        )
        if r.returncode:
            for n in want_pip:
                errors[n] = "pip install failed: " + r.stderr.strip()[-500:]
    want_npm = [n for n in names if n in NPM_PACKAGES]
    if want_npm and not all((NODE / "node_modules" / n).exists() for n in NPM_PACKAGES):
        log("installing dynalite, kinesalite, kinesis-local into bench/.peers/node ...")
        NODE.mkdir(exist_ok=True)
        if not (NODE / "package.json").exists():
            (NODE / "package.json").write_text('{"name": "tidestream-bench-peers", "private": true}\n')
        r = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", *NPM_PACKAGES],
            cwd=NODE,
            capture_output=True,
            text=True,
        )
        if r.returncode:
            for n in want_npm:
                errors[n] = "npm install failed: " + r.stderr.strip()[-500:]
    for n in names:
        if n not in errors and n != "tidestream":
            argv = PEERS[n].command(1, "/tmp")[0]
            if not Path(argv[1] if argv[0] == "node" else argv[0]).exists():
                errors[n] = f"not installed: {argv[:2]}"
    return errors


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Running:
    peer: Peer
    port: int
    proc: subprocess.Popen
    data_dir: str
    log_path: str
    started_at: float
    startup_s: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def ports(self) -> tuple[int, ...]:
        """Where the load goes (bench/cluster.py's nodes: several)."""
        return (self.port,)

    def stop(self, keep_data: bool = False) -> None:
        """SIGTERM the server's process group, then SIGKILL after 5 s."""
        self._terminate()
        if not keep_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def _terminate(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)

    def log_tail(self, n: int = 2000) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")[-n:]
        except OSError:
            return ""


def start(peer: Peer, scratch: Path, extra_args: tuple[str, ...] = ()) -> Running:
    """Start ``peer`` on a free port with a fresh data dir (its own process group); *extra_args*
    go after its command line (tidestream's ``--kinesis-limits off`` for the streams phase)."""
    port = free_port()
    if peer.name == "kinesis-local":  # it also binds port+1 for TLS
        while not _port_free(port + 1):
            port = free_port()
    return _spawn(peer, port, tempfile.mkdtemp(prefix=f"{peer.name}-", dir=scratch), scratch, extra_args)


def restart(run: Running) -> Running:
    """Stop ``run`` cleanly and start the same server again on its data dir and port."""
    run.stop(keep_data=True)
    return _spawn(run.peer, run.port, run.data_dir, Path(run.log_path).parent)


def _spawn(peer: Peer, port: int, data_dir: str, scratch: Path, extra_args: tuple[str, ...] = ()) -> Running:
    argv, env, cwd = peer.command(port, data_dir)
    argv = [*argv, *extra_args]
    log_path = str(scratch / f"{peer.name}.log")
    log = open(log_path, "ab")  # noqa: SIM115 - the server process writes to it until it stops
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        env={**os.environ, **env},
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    return Running(peer, port, proc, data_dir, log_path, t0)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def disk_mib(path: str) -> float:
    """Allocated size of everything under ``path``."""
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_blocks * 512
            except OSError:
                pass
    return total / 2**20
