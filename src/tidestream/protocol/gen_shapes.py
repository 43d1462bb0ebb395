"""Generate :mod:`tidestream.protocol.shapes`: TypedDicts for the served services' requests and responses.

Run ``python -m tidestream.protocol.gen_shapes`` after a botocore upgrade (``--check`` only
reports drift). One module per service is written from the same botocore models the validator
compiles (:func:`tidestream.protocol.models.load_model`): a TypedDict for every structure an
operation's input or output reaches, members typed as the *validated* values the handlers see
(blobs ``bytes``, timestamps ``float`` epoch seconds, enums ``Literal``), ``total=False`` with
``Required[...]`` for the model's ``required`` members. Error shapes are left out: errors are
:mod:`tidestream.errors` classes. The output is formatted with ruff, so it is committed as is.
"""

from __future__ import annotations

import argparse
import keyword
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

from tidestream.protocol.models import SERVICES, load_model, model_path

#: where the generated modules live
SHAPES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shapes")

#: model scalar types -> the Python type a handler sees after validation
_SCALARS = {
    "string": "str",
    "boolean": "bool",
    "integer": "int",
    "long": "int",
    "float": "float",
    "double": "float",
    "blob": "bytes",
    "timestamp": "float",
}

#: names the generated modules import; a structure of the same name would shadow them
_RESERVED = frozenset({"Any", "Literal", "Required", "TypedDict"})


def _operation_roots(model: dict[str, Any]) -> tuple[list[str], dict[str, tuple[str | None, str | None]]]:
    """The input and output shape names of every operation, and per operation the pair."""
    roots: list[str] = []
    per_operation: dict[str, tuple[str | None, str | None]] = {}
    for name in sorted(model["operations"]):
        op = model["operations"][name]
        input_shape = op.get("input", {}).get("shape")
        output_shape = op.get("output", {}).get("shape")
        per_operation[name] = (input_shape, output_shape)
        roots += [s for s in (input_shape, output_shape) if s is not None]
    return roots, per_operation


def _children(shape: dict[str, Any]) -> Iterator[str]:
    """Shape names one level below ``shape``."""
    kind = shape["type"]
    if kind == "structure":
        for member in shape.get("members", {}).values():
            yield member["shape"]
    elif kind == "list":
        yield shape["member"]["shape"]
    elif kind == "map":
        yield shape["key"]["shape"]
        yield shape["value"]["shape"]


def _reachable_structures(model: dict[str, Any], roots: list[str]) -> list[str]:
    """Every non-error structure reachable from ``roots``, sorted by name."""
    shapes = model["shapes"]
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        pending.extend(_children(shapes[name]))
    return sorted(n for n in seen if shapes[n]["type"] == "structure" and not shapes[n].get("exception"))


class _Writer:
    """Renders one service's model as Python source."""

    def __init__(self, model: dict[str, Any]) -> None:
        self.shapes: dict[str, Any] = model["shapes"]

    def annotation(self, name: str) -> str:
        """The Python type of a value of shape ``name``."""
        shape = self.shapes[name]
        kind = shape["type"]
        if kind == "structure":
            if shape.get("exception"):
                return "dict[str, Any]"
            return name
        if kind == "list":
            return f"list[{self.annotation(shape['member']['shape'])}]"
        if kind == "map":
            key = self.annotation(shape["key"]["shape"])
            return f"dict[{key}, {self.annotation(shape['value']['shape'])}]"
        if kind == "string" and shape.get("enum"):
            return "Literal[" + ", ".join(f'"{v}"' for v in shape["enum"]) + "]"
        return _SCALARS.get(kind, "Any")

    def structure(self, name: str) -> str:
        """A ``class Name(TypedDict, total=False)`` with ``Required`` members."""
        if name in _RESERVED:
            raise ValueError(f"structure {name!r} would shadow a name the shapes module imports")
        shape = self.shapes[name]
        required = set(shape.get("required", ()))
        lines = [f"class {name}(TypedDict, total=False):"]
        for member, ref in shape.get("members", {}).items():
            annotation = self.annotation(ref["shape"])
            if member in required:
                annotation = f"Required[{annotation}]"
            lines.append(f"    {member}: {annotation}")
        if len(lines) == 1:
            lines.append("    pass")
        return "\n".join(lines)


def render(service: str) -> str:
    """The unformatted module source for ``service``."""
    model = load_model(service)
    roots, per_operation = _operation_roots(model)
    writer = _Writer(model)
    version = os.path.basename(os.path.dirname(model_path(service)))
    table = "\n".join(f"    {op}: {inp or '-'} -> {out or '-'}" for op, (inp, out) in per_operation.items())
    header = (
        f"# Generated by python -m tidestream.protocol.gen_shapes from botocore's {service} model\n"
        f"# (API version {version}). Do not edit: regenerate after a botocore upgrade.\n"
        f'"""Typed requests and responses of {service}, as handlers see them after validation.\n\n'
        f"Operation: input -> output\n\n{table}\n"
        '"""\n\n'
        "from __future__ import annotations\n\n"
    )
    body = "\n\n\n".join(writer.structure(n) for n in _reachable_structures(model, roots))
    used = [n for n in ("Any", "Literal", "Required") if re.search(rf"\b{n}\[|\b{n}\b(?!\()", body)]
    imports = f"from typing import {', '.join([*used, 'TypedDict'])}\n"
    return header + imports + "\n\n" + body + "\n"


def formatted(source: str, path: str) -> str:
    """``source`` as ``ruff format`` writes it (the project's formatter and settings)."""
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", path, "-"],
        input=source.encode(),
        capture_output=True,
        check=True,
    )
    return result.stdout.decode()


def module_path(service: str) -> str:
    """``shapes/<service>.py``; a service named like a keyword gets a trailing underscore
    (``lambda_.py``, as the ``tidestream.lambda_`` package)."""
    module = f"{service}_" if keyword.iskeyword(service) else service
    return os.path.join(SHAPES_DIR, f"{module}.py")


def generate(service: str) -> str:
    """The formatted module source for ``service``, as it should be committed."""
    path = module_path(service)
    return formatted(render(service), path)


def _read(path: str) -> str | None:
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tidestream.protocol.gen_shapes", description=__doc__)
    parser.add_argument("--check", action="store_true", help="report drift, write nothing")
    args = parser.parse_args(argv)
    stale = []
    for service in SERVICES:
        path = module_path(service)
        source = generate(service)
        if _read(path) == source:
            continue
        stale.append(path)
        if not args.check:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(source)
    verb = "out of date" if args.check else "written"
    for path in stale:
        print(f"{verb}: {os.path.relpath(path)}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
