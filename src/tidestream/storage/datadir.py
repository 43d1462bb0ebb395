"""The data directory: an exclusive lock and a format version.

Two servers on one data dir would corrupt each other's view of the store, so the second one
refuses to start with a clear message. The format version lets a future release migrate (or
refuse) data written by an older one instead of misreading it.
"""

from __future__ import annotations

import fcntl
import json
import os

FORMAT_VERSION = 1
LOCK_NAME = "tidestream.lock"
FORMAT_NAME = "FORMAT"


class DataDirError(RuntimeError):
    """The data dir cannot be used (locked by another server, or from an unknown format)."""


class DataDir:
    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self._lock_fd: int | None = None

    def open(self) -> None:
        os.makedirs(self.path, exist_ok=True)
        fd = os.open(os.path.join(self.path, LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
            os.close(fd)
            raise DataDirError(
                f"data dir {self.path} is in use by another tidestream server"
                + (f" (pid {holder})" if holder else "")
                + "; stop it or choose another --data-dir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock_fd = fd
        self._check_format()

    def _check_format(self) -> None:
        path = os.path.join(self.path, FORMAT_NAME)
        if os.path.exists(path):
            with open(path) as f:
                try:
                    version = int(json.load(f)["format"])
                except (ValueError, KeyError, TypeError):
                    raise DataDirError(f"{path} is unreadable; is this a tidestream data dir?") from None
            if version > FORMAT_VERSION:
                raise DataDirError(
                    f"data dir {self.path} has format {version}, newer than this tidestream "
                    f"understands ({FORMAT_VERSION}); upgrade tidestream")
            return
        if os.path.exists(os.path.join(self.path, "store")):
            raise DataDirError(f"data dir {self.path} has a store but no {FORMAT_NAME} file")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"format": FORMAT_VERSION}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    @property
    def store_path(self) -> str:
        return os.path.join(self.path, "store")

    def close(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None
