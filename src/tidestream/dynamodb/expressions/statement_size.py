"""What an UpdateItem's UpdateExpression costs against the 400 KB item limit.

Standalone UpdateItem measures the statement, not only the finished item: AWS refuses an update
when ``3 + the cost of each clause`` exceeds 409,600 bytes, even if the item it would store is
smaller (the key and any attribute the statement leaves alone are not in the figure). The costs
were bisected against AWS, every accepted item read back (paritysuite dynamodb-conformance
``tests/tier3/limits/itemSizeBySurface.test.ts``, eu-west-2, 2026-08-18/19 and 2026-10-09, 80
probes; 31 of 33 regions apply the rule, ``registry/splits.json`` update-item-size-*):

* SET and ADD: 19, plus the target, plus the value operand (ADD: the value added);
* REMOVE and DELETE: 1 plus the target (nothing removed is charged);
* a target: its first name's bytes, plus 4 and the element for each later element;
* a path operand: 1, plus 14 and the element for each element (the value it reads is free);
* a ``:value`` operand: its item-size bytes, at every use;
* ``a + b`` 34, ``a - b`` 37, ``if_not_exists`` 39, ``list_append`` 37, each plus its operands.

An element is a name's UTF-8 bytes or a list index's digits. AttributeUpdates, transactions and
PartiQL size the finished item only, as before.
"""

from __future__ import annotations

from typing import Any

from ..sizes import value_size
from . import ast as A
from .conditions import Const
from .values import ResolvedPath

MAX_STATEMENT = 400 * 1024
_BASE = 3
_WRITE = 19  # SET or ADD
_DROP = 1  # REMOVE or DELETE
_FUNCTIONS = {"if_not_exists": 39, "list_append": 37}
_ARITH = {"+": 34, "-": 37}


def _element(step: Any) -> int:
    if type(step) is int:
        return len(str(step))
    return len(step) if step.isascii() else len(step.encode("utf-8", "surrogatepass"))


def _target(path: ResolvedPath) -> int:
    if len(path) == 1:  # the common ``SET a = ...``: no loop
        return _element(path[0])
    return _element(path[0]) + sum(4 + _element(step) for step in path[1:])


def _operand(node: Any) -> int:
    """A bound SET value: Const, a resolved A.Path, A.Arith or A.Call."""
    t = type(node)
    if t is Const:
        return value_size(node.value)
    if t is A.Path:
        return 1 + sum(14 + _element(step) for step in node.elements)
    if t is A.Arith:
        return _ARITH[node.op] + _operand(node.left) + _operand(node.right)
    return _FUNCTIONS[node.name] + sum(_operand(arg) for arg in node.args)


def statement_size(update: Any) -> int:
    """The bytes AWS charges a bound :class:`~.updates.Update` against the item limit."""
    total = _BASE
    for s in update.sets:
        total += _WRITE + _target(s.path) + _operand(s.value)
    for change in update.adds:
        total += _WRITE + _target(change.path) + value_size(change.value)
    for removal in update.removes:
        total += _DROP + _target(removal.path)
    for change in update.deletes:
        total += _DROP + _target(change.path)
    return total
