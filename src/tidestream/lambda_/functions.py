"""Lambda functions as records, and their storage in the engine.

Keyspace (prefix ``\\x07``, used by no other service):

* ``\\x07F<account>/<region>/<name>`` -> the function's configuration (JSON, :class:`Function`);
* ``\\x07C<account>/<region>/<name>`` -> its deployment package (the zip, as uploaded);
* ``\\x07K`` -> the secret that signs GetFunction's ``Code.Location`` download URLs.

A function and its package are written in one atomic batch, so a crash never leaves one
without the other. The unpacked code under the data directory is only a cache of the package
(``code/<CodeSha256>``), so a node of a cluster unpacks a function made through another node from
the store on its first use.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import time
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

import orjson

from ..storage import keyspace
from ..storage.engine import Engine, WriteConflict
from .messages import (
    InvalidParameterValueException,
    already_exists,
    function_not_found,
    unreachable_region,
    update_in_progress,
)

FUNCTION_PREFIX = keyspace.LAMBDA_FUNCTIONS
CODE_PREFIX = keyspace.LAMBDA_CODE
SECRET_KEY = keyspace.LAMBDA_CODE_SECRET

#: AWS's quota on a function's unpacked deployment package
MAX_UNZIPPED_BYTES = 262_144_000

_ARN = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):)?(?:(?P<account>\d{12}):)?"
    r"(?:function:)?(?P<name>[a-zA-Z0-9_.-]+)(?::(?P<qualifier>[a-zA-Z0-9$_.-]+))?$"
)


@dataclass
class Function:
    """A function's configuration as stored (the ``$LATEST`` version; no published versions yet)."""

    account: str
    region: str
    name: str
    runtime: str
    handler: str
    role: str
    code_sha256: str
    code_size: int
    revision_id: str
    #: epoch seconds: created, last changed (code or configuration)
    created: float
    last_modified: float
    timeout: int = 3
    memory_size: int = 128
    description: str = ""
    environment: dict[str, str] | None = None
    tags: dict[str, str] = field(default_factory=dict)
    architectures: list[str] = field(default_factory=lambda: ["x86_64"])
    ephemeral_storage: int = 512
    #: PutFunctionConcurrency's ReservedConcurrentExecutions (None: none reserved; 0: throttled)
    reserved_concurrency: int | None = None

    @property
    def arn(self) -> str:
        return function_arn(self.account, self.region, self.name)

    @property
    def key(self) -> bytes:
        return function_key(self.account, self.region, self.name)

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes) -> Function:
        return cls(**orjson.loads(raw))


def function_arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


def function_key(account: str, region: str, name: str) -> bytes:
    return FUNCTION_PREFIX + f"{account}/{region}/{name}".encode()


def code_key(fn: Function) -> bytes:
    return CODE_PREFIX + fn.key[len(FUNCTION_PREFIX) :]


def parse_name(value: str, account: str, region: str) -> tuple[str, str | None]:
    """(name, qualifier) of a FunctionName given as a name, a partial or a full ARN.

    An ARN of another region is refused as AWS refuses it; one of another account names a
    function that does not exist here."""
    m = _ARN.match(value)
    if m is None:
        raise function_not_found(function_arn(account, region, value))
    if (m["region"] or region) != region:
        raise unreachable_region(m["region"], region)
    if (m["account"] or account) != account:
        raise function_not_found(value)
    return m["name"], m["qualifier"]


def requested_qualifier(value: str, qualifier: str | None, account: str, region: str) -> str | None:
    """The qualifier a request names, in the FunctionName or the Qualifier parameter; AWS
    refuses the two when they differ."""
    _, in_name = parse_name(value, account, region)
    if qualifier and in_name and qualifier != in_name:
        raise InvalidParameterValueException(
            "The derived qualifier from the function name does not match the specified qualifier."
        )
    return qualifier or in_name


def last_modified_text(epoch: float) -> str:
    """AWS's LastModified format: ``2024-05-01T12:00:00.000+0000``."""
    ms = int(epoch * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{ms:03d}+0000"


def check_package(zip_bytes: bytes) -> tuple[str, int]:
    """(CodeSha256, CodeSize) of a deployment package, or AWS's error for one it would refuse."""
    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise InvalidParameterValueException(
            "Could not unzip uploaded file. Please check your file, then try to upload again."
        ) from None
    if unzipped > MAX_UNZIPPED_BYTES:
        raise InvalidParameterValueException(f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes")
    return code_sha256(zip_bytes), len(zip_bytes)


def code_sha256(zip_bytes: bytes) -> str:
    """A package's CodeSha256 (base64 of its SHA-256, as AWS shows it)."""
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()


class FunctionStore:
    """The functions of every account and region, indexed in memory over the engine.

    ``shared`` (several nodes on one store, ``--cluster``): another node may create, change or
    delete a function at any moment, so every lookup reads the store (one round trip; an Invoke
    costs a process round trip anyway) and listings scan it; ``announce(key)`` tells the other
    nodes after each write (their sandboxes and unpacked code of the old revision go)."""

    def __init__(
        self, engine: Engine, shared: bool = False, announce: Callable[[bytes], None] | None = None
    ) -> None:
        self.engine = engine
        self.shared = shared
        self.announce = announce
        self.functions: dict[bytes, Function] = {}
        self.reload()

    def reload(self) -> None:
        self.functions = {
            k: Function.from_json(v) for k, v in self.engine.scan(FUNCTION_PREFIX, FUNCTION_PREFIX + b"\xff")
        }

    def get(self, account: str, region: str, name: str) -> Function | None:
        key = function_key(account, region, name)
        if self.shared:
            return self.refresh(key)
        return self.functions.get(key)

    def refresh(self, key: bytes) -> Function | None:
        """This node's copy of the function at ``key`` replaced by the store's (None: gone)."""
        raw = self.engine.get(key)
        if raw is None:
            self.functions.pop(key, None)
            return None
        fn = self.functions[key] = Function.from_json(raw)
        return fn

    def put(self, fn: Function, code: bytes | None = None, previous: Function | None = None) -> None:
        """Write the configuration (and a new package) in one atomic batch, in place of
        ``previous`` (None: CreateFunction). On a shared store, written only if the stored
        function is still ``previous`` (absent for a create): two nodes changing one function
        at once would otherwise leave one's configuration beside the other's package."""
        writes: list[tuple[bytes, bytes | None]] = [(fn.key, fn.to_json())]
        if code is not None:
            writes.append((code_key(fn), code))
        if not self.shared:
            self.engine.write(writes)
        else:
            try:
                self.engine.write_checked(writes, [fn.key], partial(_still, previous))  # type: ignore[attr-defined]
            except WriteConflict:
                raise already_exists(fn.name) if previous is None else update_in_progress(fn.arn) from None
        self.functions[fn.key] = fn
        self._announce(fn.key)

    def delete(self, fn: Function) -> None:
        self.engine.write([(fn.key, None), (code_key(fn), None)])
        self.functions.pop(fn.key, None)
        self._announce(fn.key)

    def _announce(self, key: bytes) -> None:
        if self.announce is not None:
            self.announce(key)

    def code(self, fn: Function) -> bytes:
        raw = self.engine.get(code_key(fn))
        if raw is None:  # configuration without a package: never written so (one batch)
            raise function_not_found(fn.arn)
        if self.shared and code_sha256(raw) != fn.code_sha256:  # another node changed it since
            raise update_in_progress(fn.arn)  # fn was read (code/<sha> must hold that code)
        return raw

    def listing(self, account: str, region: str) -> list[Function]:
        """The functions of one account and region, by name (on a shared store, as stored)."""
        prefix = f"{account}/{region}/".encode()
        if self.shared:
            start = FUNCTION_PREFIX + prefix
            found = [Function.from_json(v) for _, v in self.engine.scan(start, start + b"\xff")]
            return sorted(found, key=lambda fn: fn.name)
        return sorted(
            (fn for k, fn in self.functions.items() if k[len(FUNCTION_PREFIX) :].startswith(prefix)),
            key=lambda fn: fn.name,
        )


def _still(previous: Function | None, stored: list[bytes | None]) -> bool:
    """The stored function is the one a change was made from (or still absent)."""
    if previous is None or stored[0] is None:
        return previous is None and stored[0] is None
    return Function.from_json(stored[0]) == previous


def configuration(fn: Function, state: dict[str, str]) -> dict[str, Any]:
    """The FunctionConfiguration shape AWS returns; *state* holds the State / LastUpdateStatus
    members of the moment (see :meth:`.state.LambdaState.status`)."""
    out: dict[str, Any] = {
        "FunctionName": fn.name,
        "FunctionArn": fn.arn,
        "Runtime": fn.runtime,
        "Role": fn.role,
        "Handler": fn.handler,
        "CodeSize": fn.code_size,
        "Description": fn.description,
        "Timeout": fn.timeout,
        "MemorySize": fn.memory_size,
        "LastModified": last_modified_text(fn.last_modified),
        "CodeSha256": fn.code_sha256,
        "Version": "$LATEST",
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": fn.revision_id,
        "PackageType": "Zip",
        "Architectures": fn.architectures,
        "EphemeralStorage": {"Size": fn.ephemeral_storage},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{fn.name}"},
    }
    if fn.environment is not None:
        out["Environment"] = {"Variables": dict(fn.environment)}
    out.update(state)
    return out
