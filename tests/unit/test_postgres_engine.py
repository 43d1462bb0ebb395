"""The PostgreSQL store's pure parts, and that the default (RocksDB) path never loads its driver."""

from __future__ import annotations

import subprocess
import sys

from tidestream.storage.postgres import bytea_array, redacted


def test_the_default_server_never_imports_the_postgresql_driver():
    """--store is the only way in: an embedded server is built without loading psycopg."""
    code = (
        "import sys\n"
        "from tidestream.config import Config\n"
        "from tidestream.runtime import Server\n"
        "s = Server(Config(in_memory=True)); s.build()\n"
        "print(sorted(m for m in sys.modules if m.startswith('psycopg')))\n"
        "s.engine.close()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout


def test_the_password_never_reaches_logs_or_health():
    assert (
        redacted("postgresql://app:s3cret@db.example:5432/tide")
        == "postgresql://app:***@db.example:5432/tide"
    )
    assert redacted("postgresql://app@db/tide") == "postgresql://app@db/tide"


def test_bytea_arrays_in_postgresql_binary_format():
    # header: ndim 1, no nulls, element type bytea (17), length 2, lower bound 1; then each value
    assert bytea_array([b"ab", b""]) == (
        b"\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x11\x00\x00\x00\x02\x00\x00\x00\x01"
        b"\x00\x00\x00\x02ab\x00\x00\x00\x00"
    )
    assert bytea_array([]) == b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x11"


def test_int8_arrays_are_postgresql_binary_arrays():
    """The advisory lock ids of a checked write travel as one binary ``int8[]``."""
    from tidestream.storage.postgres import int8_array, key_lock_id

    assert int8_array([]) == b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x14"
    packed = int8_array([-1, 2])
    assert packed[:20] == b"\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x14\x00\x00\x00\x02\x00\x00\x00\x01"
    assert packed[20:] == b"\x00\x00\x00\x08" + b"\xff" * 8 + b"\x00\x00\x00\x08" + (2).to_bytes(8, "big")
    assert key_lock_id(b"a") == key_lock_id(b"a") != key_lock_id(b"b")
    assert -(2**63) <= key_lock_id(b"\xff" * 3000) < 2**63


def test_cluster_needs_a_postgresql_store():
    """--cluster means nothing on the embedded store: refused at start, with the reason."""
    out = subprocess.run(
        [sys.executable, "-m", "tidestream", "serve", "--in-memory", "--cluster"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1 and "--cluster needs --store" in out.stderr, out
