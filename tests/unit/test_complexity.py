"""No function in src/ above cyclomatic complexity 15 by radon's count (issue 10).

ruff's C901 already caps McCabe complexity, but radon also counts boolean operators and
comprehension conditions, so a function can pass ruff and still be too branchy to read.
The generated wire shapes (protocol/shapes/) are excluded: nobody edits them by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from radon.complexity import cc_visit
from radon.visitors import Class, Function

MAX_COMPLEXITY = 15
SOURCE_ROOT = Path(__file__).resolve().parents[2] / "src"
GENERATED = SOURCE_ROOT / "tidestream" / "protocol" / "shapes"


def _functions(blocks: Iterable[Function | Class], outer: str = "") -> Iterator[tuple[str, Function]]:
    """Every function and method with its qualified name, closures included (``outer.inner``),
    so nesting cannot hide a branchy body."""
    for block in blocks:
        if isinstance(block, Class):
            yield from _functions(block.methods, outer)
            yield from _functions(block.inner_classes, f"{outer}{block.name}.")
        else:
            name = f"{outer}{block.fullname}"
            yield name, block
            yield from _functions(block.closures, f"{name}.")


def _offenders() -> dict[str, int]:
    found: dict[str, int] = {}
    for path in sorted(SOURCE_ROOT.rglob("*.py")):
        if GENERATED in path.parents:
            continue
        relative = path.relative_to(SOURCE_ROOT).as_posix()
        for name, function in _functions(cc_visit(path.read_text(encoding="utf-8"))):
            if function.complexity > MAX_COMPLEXITY:
                found[f"{relative}:{name}"] = function.complexity
    return found


def test_no_function_above_the_complexity_limit() -> None:
    offenders = _offenders()
    assert not offenders, f"functions above cyclomatic complexity {MAX_COMPLEXITY} (split them): {offenders}"
