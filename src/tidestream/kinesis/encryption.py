"""Encryption at rest of record data (StartStreamEncryption, ``EncryptionType: KMS``).

There is no KMS here: one local 256-bit master key encrypts the records of every stream whose
encryption is on, with AES-256-GCM. The key is read from ``--kms-key-file`` (32 raw bytes, or
64 hex digits, or base64 of 32 bytes; created there if missing) or else from
``<data dir>/kinesis-kms.key``, generated on first use with mode 0600. ``--in-memory`` servers
keep an ephemeral key in memory. The stream's KeyId is recorded and reported, not used.

On a PostgreSQL store the records live in the database, which every node of a cluster reads,
while a data dir is one node's: the key is a row of the store (:data:`STORED_KEY`), made once
by a checked insert on first use (the first node's wins). A key file that exists when a node
starts on a store without the row is imported (so records encrypted before are still read);
one that differs from the stored key refuses the start, so there are never two keys.

An encrypted record value keeps the plain arrival time (retention and AT_TIMESTAMP need it)
and marks itself with the impossible partition-key length 0xFFFF::

    arrival ms (8, LE) | 0xFFFF (2) | nonce (12) | AES-GCM(pk length (2, LE) | pk | data) + tag (16)

The record's storage key is the GCM associated data, so a value moved to another key fails
to decrypt instead of being misread. Records written before encryption was turned on (or
after it was turned off) stay plain and readable; readers decide per record.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
from typing import Any

from ..errors import AwsError
from ..signing import stored_secret
from ..storage import keyspace
from ..storage.engine import StorageError

MARK = 0xFFFF
KEY_FILE = "kinesis-kms.key"
#: the key's row on a PostgreSQL store
STORED_KEY = keyspace.KINESIS_ENCRYPTION_KEY
_HDR = struct.Struct("<QH")
_NONCE = 12


def _parse_key(raw: bytes) -> bytes:
    if len(raw) == 32:
        return raw
    text = raw.strip()
    if len(text) == 64:
        try:
            return binascii.unhexlify(text)
        except binascii.Error:
            pass
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise ValueError("a key file must hold 32 raw bytes, 64 hex digits or base64 of 32 bytes")
    return key


def load_or_create(path: str) -> bytes:
    """The key in *path*; a new random one written there (mode 0600) if the file is missing."""
    try:
        with open(path, "rb") as f:
            return _parse_key(f.read())
    except FileNotFoundError:
        pass
    key = os.urandom(32)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return key


class RecordCipher:
    """Seals and opens record values; the key is loaded (or generated) on first use."""

    def __init__(self, key_path: str | None, key: bytes | None = None) -> None:
        self.key_path = key_path
        self._key = key
        self._aead: Any = None
        #: a PostgreSQL store, which keeps the key (:meth:`bind`); None: the key file
        self.store: Any = None

    def bind(self, engine: Any) -> None:
        """On a PostgreSQL store (at start, and after a reset wiped the row): use the stored
        key; without one, store the key this node holds or the key file it finds (imported
        once; a checked insert, so the first node's wins), else make one on first use. A key
        file that differs from the stored key is refused (StorageError: the node won't start)."""
        if getattr(engine, "name", "") != "postgresql":
            return
        self.store = engine
        file_key = self._file_key()
        known = self._key or file_key
        stored = engine.get(STORED_KEY)
        if stored is None and known is not None:
            stored = self._insert(known)
        if stored is None:
            return
        if file_key is not None and file_key != stored:
            raise StorageError(
                f"the Kinesis encryption key in {self.key_path} is not the one in the store: records "
                "encrypted with one would not decrypt with the other; start without that key file "
                "(the store's key is used) or restore the store's key into it (docs/cluster.md)"
            )
        if stored != self._key:
            self._key, self._aead = stored, None

    def _file_key(self) -> bytes | None:
        """The key file's key if the file exists (a PostgreSQL store never creates one)."""
        if not self.key_path:
            return None
        try:
            with open(self.key_path, "rb") as f:
                return _parse_key(f.read())
        except FileNotFoundError:
            return None

    def _insert(self, key: bytes) -> bytes:
        """The stored key, ``key`` if the row is absent (on a cluster a checked insert: another
        node's key, if it stored one first)."""
        if getattr(self.store, "cluster", False):
            return stored_secret(self.store, STORED_KEY, key)
        self.store.write([(STORED_KEY, key)])
        return key

    @classmethod
    def from_config(cls, config: Any) -> RecordCipher:
        explicit = getattr(config, "kms_key_file", None)
        if explicit:
            return cls(os.path.abspath(explicit))
        if config is None or getattr(config, "in_memory", False):
            return cls(None)
        data_dir = getattr(config, "data_dir", None)
        return cls(os.path.join(os.path.abspath(data_dir), KEY_FILE) if data_dir else None)

    @property
    def aead(self) -> Any:
        """AES-GCM with the master key; cryptography is imported only when a stream encrypts
        (it costs ~5 MiB of memory that most servers never need)."""
        if self._aead is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            key = self._key
            if key is None and self.store is not None:
                key = self._key = self._insert(os.urandom(32))
            elif key is None:
                key = load_or_create(self.key_path) if self.key_path else os.urandom(32)
            self._aead = AESGCM(key)
        return self._aead

    def seal(self, record_key: bytes, arrival_ms: int, pk: bytes, data: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        plain = len(pk).to_bytes(2, "little") + pk + data
        return _HDR.pack(arrival_ms, MARK) + nonce + self.aead.encrypt(nonce, plain, record_key)

    def open(self, record_key: bytes, value: bytes) -> tuple[bytes, bytes]:
        """(partition key, data) of a sealed value."""
        from cryptography.exceptions import InvalidTag

        start = _HDR.size
        try:
            plain = self.aead.decrypt(value[start : start + _NONCE], value[start + _NONCE :], record_key)
        except InvalidTag:
            raise AwsError(
                "The record could not be decrypted: the encryption key in use is not "
                "the one it was written with.",
                code="KMSInvalidStateException",
            ) from None
        n = int.from_bytes(plain[:2], "little")
        return plain[2 : 2 + n], plain[2 + n :]


def is_sealed(value: bytes) -> bool:
    return len(value) >= _HDR.size and _HDR.unpack_from(value)[1] == MARK
