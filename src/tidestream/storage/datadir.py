"""The data directory: an exclusive lock, a format version and the durable-sequence mark.

Two servers on one data dir would corrupt each other's view of the store, so the second one
refuses to start with a clear message. The lock is an ``flock`` on the directory itself (held
through an open descriptor), so deleting a lock file cannot bypass it. The format version lets a
future release migrate (or refuse) data written by an older one instead of misreading it.

The durable-sequence mark (:class:`DurableMark`) records the highest RocksDB sequence number
known to be fsynced, so a start that recovers less than that (a deleted or corrupted
write-ahead log) is refused instead of silently dropping acknowledged writes.
"""

from __future__ import annotations

import fcntl
import glob
import json
import os

#: 2: backup items moved out of Lambda's key range (storage/keyspace.py, storage/migrate.py)
#: 3: named fields in Kinesis stream and consumer metadata and DynamoDB Streams records
FORMAT_VERSION = 3
LOCK_NAME = "tidestream.lock"  # holds the pid of the server, for the "in use" message only
FORMAT_NAME = "FORMAT"
MARK_NAME = "DURABLE_SEQUENCE"
STORE_NAME = "store"
#: files a fresh data dir may already hold: a pid file left by an older version, a key the user
#: provided, a FORMAT file half-written by a crash during the first start
FRESH_DIR_ENTRIES = {LOCK_NAME, "kinesis-kms.key", FORMAT_NAME + ".tmp"}
#: the mark is rewritten in place with one pwrite: fixed width, so a shorter value leaves no tail
MARK_WIDTH = 96


class DataDirError(RuntimeError):
    """The data dir cannot be used; the message says why and what to do (one line, no traceback)."""


class WalLossError(DataDirError):
    """The store recovered fewer writes than were acknowledged: the write-ahead log lost some."""


class DataDir:
    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self._dir_fd: int | None = None
        #: the store's write-ahead log files as found before RocksDB opened (it may replace them)
        self.wal_files: list[str] = []
        self.mark = DurableMark(os.path.join(self.path, MARK_NAME))
        #: the format the data dir was found in (set by open; storage/migrate.py brings it up to date)
        self.format_version = FORMAT_VERSION

    def open(self) -> None:
        """Lock the dir and check it is ours (or empty); ``DataDirError`` explains a refusal."""
        try:
            os.makedirs(self.path, exist_ok=True)
            fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as err:
            raise DataDirError(f"cannot open data dir {self.path}: {err.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = self._read_pid()
            raise DataDirError(
                f"data dir {self.path} is in use by another tidestream server"
                + (f" (pid {holder})" if holder else "")
                + "; stop it or choose another --data-dir"
            ) from None
        except OSError as err:  # a filesystem without flock on directories
            os.close(fd)
            raise DataDirError(f"cannot lock data dir {self.path}: {err.strerror}") from None
        self._dir_fd = fd
        try:
            self._check_format()
            self._write_pid()
        except OSError as err:  # e.g. a read-only directory
            self.close()
            raise DataDirError(f"cannot use data dir {self.path}: {err}") from None
        except BaseException:
            self.close()
            raise
        self.wal_files = sorted(glob.glob(os.path.join(self.store_path, "*.log")))

    def _read_pid(self) -> str:
        try:
            with open(os.path.join(self.path, LOCK_NAME)) as f:
                return f.read(32).strip()
        except OSError:
            return ""

    def _write_pid(self) -> None:
        with open(os.path.join(self.path, LOCK_NAME), "w") as f:
            f.write(str(os.getpid()))

    def _check_format(self) -> None:
        path = os.path.join(self.path, FORMAT_NAME)
        if os.path.exists(path):
            self._check_version(path)
            if not os.path.isdir(self.store_path) and self.mark.exists():
                raise DataDirError(
                    f"data dir {self.path} has a {FORMAT_NAME} file but its store ({self.store_path}) is "
                    "missing: the data is gone; restore it from a backup, or delete the data dir to start empty"
                )
            return
        if os.path.exists(self.store_path):
            raise DataDirError(
                f"data dir {self.path} has a store but no {FORMAT_NAME} file; is this a tidestream data dir?"
            )
        foreign = sorted(set(os.listdir(self.path)) - FRESH_DIR_ENTRIES)
        if foreign:
            raise DataDirError(
                f"data dir {self.path} is not empty and is not a tidestream data dir "
                f"(it holds {', '.join(foreign[:3])}{', ...' if len(foreign) > 3 else ''}); "
                "choose an empty or new --data-dir"
            )
        self.record_format()

    def record_format(self) -> None:
        """Write today's format version (a fresh data dir, or one just migrated), durably."""
        write_durably(os.path.join(self.path, FORMAT_NAME), json.dumps({"format": FORMAT_VERSION}).encode())
        self.format_version = FORMAT_VERSION

    def _check_version(self, path: str) -> None:
        try:
            with open(path, "rb") as f:
                version = json.loads(f.read(4096))["format"]
        except (OSError, ValueError, KeyError, TypeError):
            version = None
        if not isinstance(version, int) or isinstance(version, bool):
            raise DataDirError(
                f'{path} is unreadable (expected {{"format": {FORMAT_VERSION}}}); '
                "is this a tidestream data dir?"
            )
        if version < 1:
            raise DataDirError(
                f"{path} holds an invalid format version {version}; is this a tidestream data dir?"
            )
        if version > FORMAT_VERSION:
            raise DataDirError(
                f"data dir {self.path} has format {version}, newer than this tidestream "
                f"understands ({FORMAT_VERSION}); upgrade tidestream"
            )
        self.format_version = version

    def check_recovered(self, recovered: int) -> int:
        """Refuse (``WalLossError``) when the store recovered less than was acknowledged, unless
        only the last group commit is short (a torn log tail); returns how many sequence numbers
        that tail dropped (0 normally)."""
        recorded = self.mark.load()
        if recorded is None or recovered >= recorded[1]:
            return 0
        previous, durable = recorded
        if recovered >= previous:
            return durable - recovered
        files = ", ".join(self.wal_files) if self.wal_files else f"none left in {self.store_path}"
        raise WalLossError(
            f"the store recovered writes up to sequence {recovered} but writes up to {durable} were "
            f"acknowledged: {durable - recovered} sequence numbers are lost because the write-ahead "
            f"log is corrupted or missing (log files: {files}); run `tidestream repair --data-dir "
            f"{self.path}` to accept the loss and start"
        )

    @property
    def store_path(self) -> str:
        return os.path.join(self.path, STORE_NAME)

    def close(self) -> None:
        self.mark.close()
        if self._dir_fd is not None:
            fcntl.flock(self._dir_fd, fcntl.LOCK_UN)
            os.close(self._dir_fd)
            self._dir_fd = None


class DurableMark:
    """The highest RocksDB sequence number known fsynced, and the one before it.

    The engine records a sequence number read *before* a group-commit fsync, with one ``pwrite``
    *after* that fsync returns (no fsync of its own). A ``kill -9`` keeps the page cache, so the
    mark stays exact; after a power loss it can only be older (lower) than the fsynced log, which
    weakens the check but never raises a false alarm. The previous value lets a start accept a
    torn last group commit (the tail of the log), and nothing more.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._durable = 0

    def exists(self) -> bool:
        return os.path.exists(self.path)

    def load(self) -> tuple[int, int] | None:
        """(previous, durable), or None when there is no usable mark (a store made before marks
        existed, or a mark torn by a power loss): then nothing can be checked."""
        try:
            with open(self.path, "rb") as f:
                record = json.loads(f.read(MARK_WIDTH))
            return int(record["previous_durable_sequence"]), int(record["durable_sequence"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def reset(self, sequence: int) -> None:
        """Start over from ``sequence`` (after a checked open or a repair), durably."""
        self.close()
        write_durably(self.path, self._encode(sequence, sequence))
        self._fd = os.open(self.path, os.O_WRONLY)
        self._durable = sequence

    def record(self, sequence: int) -> None:
        """Note that every write up to ``sequence`` is fsynced (called after the fsync)."""
        if self._fd is None or sequence <= self._durable:
            return
        os.pwrite(self._fd, self._encode(self._durable, sequence), 0)
        self._durable = sequence

    @staticmethod
    def _encode(previous: int, durable: int) -> bytes:
        text = json.dumps({"durable_sequence": durable, "previous_durable_sequence": previous})
        return text.ljust(MARK_WIDTH - 1).encode() + b"\n"

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def write_durably(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically and durably (temp file, fsync, rename)."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
