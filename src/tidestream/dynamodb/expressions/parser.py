"""Recursive-descent parsers for condition, update and projection expressions.

Condition grammar (precedence NOT > AND > OR; keywords case-insensitive, function names not)::

    condition  := or EOF
    or         := and ("OR" and)*
    and        := not ("AND" not)*
    not        := "NOT" not | predicate
    predicate  := primary [comparator operand | "BETWEEN" operand "AND" operand
                           | "IN" "(" operand ("," operand)* ")"]
    primary    := "(" or ")" | atom
    operand    := "(" operand ")" | atom
    atom       := :value | function "(" operand ("," operand)* ")" | path
    path       := (name | #alias) ("." (name | #alias) | "[" digits "]")*

Update grammar::

    update     := (("SET" set ("," set)*) | ("REMOVE" path ("," path)*)
                   | ("ADD" path :value ("," ...)*) | ("DELETE" path :value ("," ...)*))+ EOF
    set        := path "=" value
    value      := term [("+" | "-") term]
    term       := "(" value ")" | :value | function "(" value ("," value)* ")" | path

Projection grammar: ``path ("," path)* EOF``.

Parse results are cached by (label, text): the trees are immutable and placeholder-free.
Semantic problems found while parsing (reserved words, unknown functions...) are collected and
the highest-priority one is raised after a successful parse, mirroring DynamoDB which reports
syntax errors before anything else.
"""

from __future__ import annotations

from functools import lru_cache

from ...errors import ValidationException
from . import ast as A
from .reserved import is_reserved
from .tokens import ATTR_NAME, ATTR_VALUE, EOF, NAME, NUMBER, OP, Token, syntax_error, tokenize

CONDITION_KEYWORDS = frozenset({"AND", "OR", "NOT", "BETWEEN", "IN"})
UPDATE_KEYWORDS = frozenset({"SET", "REMOVE", "ADD", "DELETE"})
COMPARATORS = frozenset({"=", "<>", "<", "<=", ">", ">="})
MAX_IN_OPERANDS = 100
MAX_DEPTH = 100
MAX_EXPRESSION_BYTES = 4096
_CONDITION_ERROR_ORDER = ("parens", "unknown_function", "misused", "reserved", "operand", "too_many")
_UPDATE_ERROR_ORDER = ("reserved", "unknown_function", "section", "operand")
_PROJECTION_ERROR_ORDER = ("reserved",)
_CONDITION_LABELS = frozenset({"ConditionExpression", "FilterExpression", "KeyConditionExpression"})


class _Parser:
    __slots__ = ("label", "text", "toks", "i", "keywords", "names", "values", "errors", "grouped", "depth")

    def __init__(self, label: str, text: str, keywords: frozenset[str]) -> None:
        self.label = label
        self.text = text
        self.toks: list[Token] = tokenize(text)
        self.i = 0
        self.keywords = keywords
        self.names: dict[str, None] = {}
        self.values: dict[str, None] = {}
        self.errors: dict[str, str] = {}
        self.grouped: set[int] = set()  # ids of nodes that came straight out of parentheses
        self.depth = 0

    # -- token helpers -------------------------------------------------------------------
    def fail(self) -> ValidationException:
        return syntax_error(self.label, self.text, self.toks, self.i)

    def note(self, kind: str, message: str) -> None:
        self.errors.setdefault(kind, message)

    def at_op(self, text: str) -> bool:
        tok = self.toks[self.i]
        return tok.kind == OP and tok.text == text

    def at_keyword(self, word: str) -> bool:
        tok = self.toks[self.i]
        return tok.kind == NAME and tok.text.upper() == word

    def expect_op(self, text: str) -> None:
        if not self.at_op(text):
            raise self.fail()
        self.i += 1

    def is_keyword(self, tok: Token) -> bool:
        return tok.kind == NAME and tok.text.upper() in self.keywords

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ValidationException(f"Invalid {self.label}: The expression has too many nested levels;")

    def finish(self, order: tuple[str, ...]) -> None:
        if self.toks[self.i].kind != EOF:
            raise self.fail()
        for kind in order:
            if kind in self.errors:
                raise ValidationException(f"Invalid {self.label}: {self.errors[kind]}")

    def result(self, tree: object) -> A.Parsed:
        return A.Parsed(self.label, self.text, tree, tuple(self.names), tuple(self.values))

    # -- shared pieces -------------------------------------------------------------------
    def path_element(self) -> A.PathElement:
        tok = self.toks[self.i]
        if tok.kind == ATTR_NAME:
            self.i += 1
            self.names[tok.text] = None
            return A.Alias(tok.text)
        if tok.kind == NAME and not self.is_keyword(tok):
            self.i += 1
            if is_reserved(tok.text):
                self.note("reserved", f"Attribute name is a reserved keyword; reserved keyword: {tok.text}")
            return tok.text
        raise self.fail()

    def path(self) -> A.Path:
        elements: list[A.PathElement] = [self.path_element()]
        toks = self.toks
        while True:
            tok = toks[self.i]
            if tok.kind != OP:
                break
            if tok.text == ".":
                self.i += 1
                elements.append(self.path_element())
            elif tok.text == "[":
                self.i += 1
                num = toks[self.i]
                if num.kind != NUMBER:
                    raise self.fail()
                self.i += 1
                self.expect_op("]")
                elements.append(int(num.text))
            else:
                break
        return A.Path(tuple(elements))

    def value_ref(self) -> A.ValueRef:
        tok = self.toks[self.i]
        if tok.kind != ATTR_VALUE:
            raise self.fail()
        self.i += 1
        self.values[tok.text] = None
        return A.ValueRef(tok.text)

    def is_call(self) -> bool:
        tok = self.toks[self.i]
        if tok.kind != NAME or self.is_keyword(tok):
            return False
        nxt = self.toks[self.i + 1]
        return nxt.kind == OP and nxt.text == "("

    def call(self, functions: dict[str, int], argument) -> A.Call:
        name = self.toks[self.i].text
        self.i += 2  # name and "("
        args = [argument()]
        while self.at_op(","):
            self.i += 1
            args.append(argument())
        self.expect_op(")")
        arity = functions.get(name)
        if arity is None:
            self.note("unknown_function", f"Invalid function name; function: {name}")
        elif arity != len(args):
            self.note(
                "operand",
                "Incorrect number of operands for operator or function; "
                f"operator or function: {name}, number of operands: {len(args)}",
            )
        elif name in ("attribute_exists", "attribute_not_exists", "if_not_exists") and not isinstance(
            args[0], A.Path
        ):
            self.note(
                "operand", f"Operator or function requires a document path; operator or function: {name}"
            )
        return A.Call(name, tuple(args))

    # -- conditions ----------------------------------------------------------------------
    def misused(self, *operands: A.Node) -> None:
        """Boolean functions may not appear where a value is expected."""
        for op in operands:
            if isinstance(op, A.Call) and op.name != "size":
                self.note(
                    "misused",
                    f"The function is not allowed to be used this way in an expression; function: {op.name}",
                )

    def require_condition(self, node: A.Node) -> None:
        """A bare operand where a condition belongs: size() is misuse, anything else bad syntax."""
        if A.is_condition(node):
            return
        if isinstance(node, A.Call):
            self.note(
                "misused",
                f"The function is not allowed to be used this way in an expression; function: {node.name}",
            )
            return
        raise self.fail()

    def condition(self) -> A.Node:
        node = self.or_()
        if self.toks[self.i].kind != EOF:
            raise self.fail()
        self.require_condition(node)
        return node

    def or_(self) -> A.Node:
        left = self.and_()
        while self.at_keyword("OR"):
            self.require_condition(left)
            self.i += 1
            right = self.and_()
            self.require_condition(right)
            left = A.Or(left, right)
        return left

    def and_(self) -> A.Node:
        left = self.not_()
        while self.at_keyword("AND"):
            self.require_condition(left)
            self.i += 1
            right = self.not_()
            self.require_condition(right)
            left = A.And(left, right)
        return left

    def not_(self) -> A.Node:
        if self.at_keyword("NOT"):
            self.i += 1
            self.enter()
            operand = self.not_()
            self.depth -= 1
            self.require_condition(operand)
            return A.Not(operand)
        return self.predicate()

    def group(self, inner) -> A.Node:
        self.i += 1  # "("
        self.enter()
        node = inner()
        self.expect_op(")")
        self.depth -= 1
        if id(node) in self.grouped:
            self.note("parens", "The expression has redundant parentheses;")
        self.grouped.add(id(node))
        return node

    def operand(self) -> A.Node:
        if self.at_op("("):
            return self.group(self.operand)
        return self.atom()

    def atom(self) -> A.Node:
        tok = self.toks[self.i]
        if tok.kind == ATTR_VALUE:
            return self.value_ref()
        if self.is_call():
            return self.call(A.CONDITION_FUNCTIONS, self.operand)
        return self.path()

    def predicate(self) -> A.Node:
        if self.at_op("("):
            left = self.group(self.or_)
            if A.is_condition(left):
                return left
        else:
            left = self.atom()
        tok = self.toks[self.i]
        if tok.kind == OP and tok.text in COMPARATORS:
            self.i += 1
            right = self.operand()
            self.misused(left, right)
            return A.Compare(tok.text, left, right)
        if self.at_keyword("BETWEEN"):
            self.i += 1
            low = self.operand()
            if not self.at_keyword("AND"):
                raise self.fail()
            self.i += 1
            high = self.operand()
            self.misused(left, low, high)
            return A.Between(left, low, high)
        if self.at_keyword("IN"):
            self.i += 1
            self.expect_op("(")
            options = [self.operand()]
            while self.at_op(","):
                self.i += 1
                options.append(self.operand())
            self.expect_op(")")
            self.misused(left, *options)
            if len(options) > MAX_IN_OPERANDS:
                self.note(
                    "too_many",
                    f"The IN operator is provided with too many operands; number of operands: {len(options)}",
                )
            return A.In(left, tuple(options))
        return left

    # -- updates -------------------------------------------------------------------------
    def update(self) -> A.UpdateTree:
        sets: list[A.SetAction] = []
        removes: list[A.RemoveAction] = []
        adds: list[A.AddAction] = []
        deletes: list[A.DeleteAction] = []
        actions: list[A.SetAction | A.RemoveAction | A.AddAction | A.DeleteAction] = []
        action: A.SetAction | A.RemoveAction | A.AddAction | A.DeleteAction
        seen: set[str] = set()
        while True:
            tok = self.toks[self.i]
            word = tok.text.upper() if tok.kind == NAME else ""
            if word not in UPDATE_KEYWORDS:
                raise self.fail()
            self.i += 1
            if word in seen:
                self.note("section", f'The "{word}" section can only be used once in an update expression;')
            seen.add(word)
            while True:
                if word == "SET":
                    path = self.path()
                    self.expect_op("=")
                    action = A.SetAction(path, self.set_value())
                    sets.append(action)
                elif word == "REMOVE":
                    action = A.RemoveAction(self.path())
                    removes.append(action)
                elif word == "ADD":
                    path = self.path()
                    action = A.AddAction(path, self.value_ref())
                    adds.append(action)
                else:
                    path = self.path()
                    action = A.DeleteAction(path, self.value_ref())
                    deletes.append(action)
                actions.append(action)
                if not self.at_op(","):
                    break
                self.i += 1
            if self.toks[self.i].kind == EOF:
                break
        return A.UpdateTree(tuple(sets), tuple(removes), tuple(adds), tuple(deletes), tuple(actions))

    def set_value(self) -> A.Node:
        left = self.set_term()
        tok = self.toks[self.i]
        if tok.kind == OP and tok.text in ("+", "-"):
            self.i += 1
            right = self.set_term()
            return A.Arith(tok.text, left, right)
        return left

    def set_term(self) -> A.Node:
        tok = self.toks[self.i]
        if tok.kind == OP and tok.text == "(":
            self.i += 1
            self.enter()
            node = self.set_value()
            self.expect_op(")")
            self.depth -= 1
            return node
        if tok.kind == ATTR_VALUE:
            return self.value_ref()
        if self.is_call():
            return self.call(A.UPDATE_FUNCTIONS, self.set_value)
        return self.path()

    # -- projections ---------------------------------------------------------------------
    def projection(self) -> tuple[A.Path, ...]:
        paths = [self.path()]
        while self.at_op(","):
            self.i += 1
            paths.append(self.path())
        return tuple(paths)


def _check_empty(label: str, text: str) -> None:
    if not isinstance(text, str) or not text.strip(" \t\r\n"):
        raise ValidationException(f"Invalid {label}: The expression can not be empty;")
    # DynamoDB caps every expression at 4 KB of UTF-8 as sent (4096 accepted, 4097 rejected);
    # the cap also bounds how deep the recursive binding and evaluation can go
    if (
        len(text) > MAX_EXPRESSION_BYTES // 4
        and len(text.encode("utf-8", "surrogatepass")) > MAX_EXPRESSION_BYTES
    ):
        raise ValidationException(
            f"Invalid {label}: Expression size has exceeded the maximum "
            f"allowed size; expression size: {len(text.encode('utf-8', 'surrogatepass'))}"
        )


@lru_cache(maxsize=4096)
def parse_condition(text: str, label: str = "ConditionExpression") -> A.Parsed:
    """Parse a Condition/Filter/KeyCondition expression (cached); tree is a condition Node."""
    if label not in _CONDITION_LABELS:
        raise ValueError(f"not a condition label: {label}")
    _check_empty(label, text)
    p = _Parser(label, text, CONDITION_KEYWORDS)
    tree = p.condition()
    p.finish(_CONDITION_ERROR_ORDER)
    return p.result(tree)


@lru_cache(maxsize=4096)
def parse_update(text: str) -> A.Parsed:
    """Parse an UpdateExpression (cached); tree is an :class:`ast.UpdateTree`."""
    label = "UpdateExpression"
    _check_empty(label, text)
    p = _Parser(label, text, UPDATE_KEYWORDS)
    tree = p.update()
    p.finish(_UPDATE_ERROR_ORDER)
    return p.result(tree)


@lru_cache(maxsize=4096)
def parse_projection(text: str) -> A.Parsed:
    """Parse a ProjectionExpression (cached); tree is a tuple of :class:`ast.Path`."""
    label = "ProjectionExpression"
    _check_empty(label, text)
    p = _Parser(label, text, frozenset())
    tree = p.projection()
    p.finish(_PROJECTION_ERROR_ORDER)
    return p.result(tree)
