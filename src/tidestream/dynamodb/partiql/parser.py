"""Recursive-descent parser for DynamoDB's PartiQL subset.

Grammar (keywords are case-insensitive; names are bare identifiers or "double quoted")::

    statement  := (select | insert | update | delete | exists) [';'] EOF
    select     := SELECT ('*' | path {',' path}) FROM source [WHERE cond]
                  [ORDER BY name [ASC|DESC] {',' name [ASC|DESC]}]
    source     := name ['.' name]                        -- table, or "table"."index"
    insert     := INSERT INTO name VALUE literal
    update     := UPDATE name action+ WHERE cond [returning]
                | FROM name [WHERE cond] action+          -- the FROM-first form
    action     := SET path '=' value {',' path '=' value} | REMOVE path {',' path}
    value      := term {('+' | '-') term}                 -- term: literal, path, '?', function
    delete     := DELETE FROM name WHERE cond [returning]
    returning  := RETURNING (ALL | MODIFIED) (OLD | NEW) '*'
    exists     := EXISTS '(' select ')'
    cond       := disjunct {OR disjunct};  disjunct := conjunct {AND conjunct}
    conjunct   := NOT conjunct | operand [cmp operand | [NOT] BETWEEN operand AND operand
                  | [NOT] IN '[' operand {',' operand} ']' | IS [NOT] type]
    operand    := path | literal | '?' | function '(' args ')' | '(' cond ')'
    path       := name {'.' name | '[' integer ']'}
    literal    := 'string' | number | true | false | null | '[' ... ']' | '{' 'k': literal ... '}'
                | '<<' literal {',' literal} '>>'

Conditions come out as the trees of :mod:`tidestream.dynamodb.expressions.ast` (literals and
parameters as ``ValueRef`` placeholders into the statement's ``values``), and SET/REMOVE clauses
as an ``UpdateTree``, so the existing compiled evaluators run them unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import InvalidOperation
from typing import Any, Literal

from ...errors import ValidationException
from .. import numbers
from ..attributes import from_wire_value
from ..expressions import ast as A
from . import lexer as L
from .errors import (
    MSG_ALIASING,
    MSG_BAG_TYPES,
    MSG_EMPTY_BAG,
    MSG_MISSING_COMPARE,
    MSG_PARAMETER_COUNT,
    MSG_RETURNING_INSERT,
    MSG_STAR_AND_OTHERS,
    not_well_formed,
    validation,
)
from .parameters import bind_parameters

AttributeValue = dict[str, Any]

#: DynamoDB's limits on a statement: operands of one IN, list indexes, literal nesting
MAX_IN_OPERANDS = 100
MAX_LIST_INDEX = 2**31 - 1
MAX_LITERAL_NESTING = 32
MSG_IN_OPERANDS = (
    "IN operator must have a left hand argument of type Variable Reference "
    "and right hand argument of type Seq with at least one member"
)

#: words that end a path or start a clause; a bare one cannot name an attribute
RESERVED = frozenset(
    [
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "IN",
        "BETWEEN",
        "IS",
        "MISSING",
        "NULL",
        "TRUE",
        "FALSE",
        "INSERT",
        "INTO",
        "VALUE",
        "VALUES",
        "UPDATE",
        "SET",
        "REMOVE",
        "DELETE",
        "RETURNING",
        "ORDER",
        "BY",
        "ASC",
        "DESC",
        "EXISTS",
        "INNER",
        "OUTER",
        "LEFT",
        "RIGHT",
        "CROSS",
        "FULL",
        "JOIN",
        "LIMIT",
        "OFFSET",
        "AS",
        "AT",
        "LIKE",
        "ON",
        "CASE",
        "WHEN",
        "THEN",
        "ELSE",
        "END",
        "UNION",
        "INTERSECT",
        "EXCEPT",
        "GROUP",
        "HAVING",
        "PIVOT",
        "UNPIVOT",
        "DISTINCT",
        "ESCAPE",
        "CAST",
    ]
)

#: keywords that are infix operators (reported as operators where a term should start)
OPERATOR_WORDS = frozenset({"LIKE", "IS", "AND", "OR", "BETWEEN", "IN"})

#: IS <type> -> the DynamoDB type it tests (MISSING is handled apart)
IS_TYPES = {
    "NULL": "NULL",
    "BOOLEAN": "BOOL",
    "BOOL": "BOOL",
    "BLOB": "B",
    "STRING": "S",
    "NUMERIC": "N",
    "STRUCT": "M",
    "TUPLE": "M",
    "LIST": "L",
}
#: type names PartiQL's grammar knows but DynamoDB cannot test for
OTHER_TYPES = frozenset(
    [
        "INT",
        "INT2",
        "INT4",
        "INT8",
        "INTEGER",
        "SMALLINT",
        "BIGINT",
        "FLOAT",
        "REAL",
        "DOUBLE",
        "DECIMAL",
        "CHAR",
        "CHARACTER",
        "VARCHAR",
        "CLOB",
        "BAG",
        "SEXP",
        "SYMBOL",
        "TIMESTAMP",
        "TIME",
        "DATE",
        "ANY",
    ]
)

CONDITION_FUNCTIONS = {
    "begins_with": 2,
    "contains": 2,
    "attribute_type": 2,
    "attribute_exists": 1,
    "attribute_not_exists": 1,
    "size": 1,
}
COMPARISONS = ("=", "<>", "!=", "<", "<=", ">", ">=")


# ---------------------------------------------------------------------------- statements
@dataclass
class Select:
    table: str
    index: str | None
    #: projected paths (None for ``*``) and the attribute name each comes back under
    projection: list[tuple[tuple, str]] | None
    where: Any = None
    order_by: list[tuple[str, bool]] = field(default_factory=list)  # (name, descending)
    values: dict[str, AttributeValue] = field(default_factory=dict)
    kind: Literal["SELECT"] = "SELECT"


@dataclass
class Insert:
    table: str
    item: dict[str, AttributeValue]
    values: dict[str, AttributeValue] = field(default_factory=dict)
    kind: Literal["INSERT"] = "INSERT"


@dataclass
class Update:
    table: str
    update: A.UpdateTree
    where: Any = None
    returning: str | None = None  # ALL_OLD, UPDATED_OLD, ALL_NEW, UPDATED_NEW
    values: dict[str, AttributeValue] = field(default_factory=dict)
    kind: Literal["UPDATE"] = "UPDATE"


@dataclass
class Delete:
    table: str
    where: Any = None
    returning: str | None = None
    values: dict[str, AttributeValue] = field(default_factory=dict)
    kind: Literal["DELETE"] = "DELETE"


@dataclass
class Exists:
    select: Select
    kind: Literal["EXISTS"] = "EXISTS"

    @property
    def table(self) -> str:
        return self.select.table

    @property
    def values(self) -> dict[str, AttributeValue]:
        return self.select.values


Statement = Select | Insert | Update | Delete | Exists


def is_read(stmt: Statement) -> bool:
    return stmt.kind == "SELECT"


def parse(text: str, parameters: list | None = None) -> Statement:
    """Parse one statement, binding ``?`` to ``parameters`` (wire AttributeValues) in order;
    the parameters are checked first, as DynamoDB checks them before reading the statement."""
    return parse_bound(text, bind_parameters(parameters))


def parse_bound(text: str, params: list[AttributeValue]) -> Statement:
    """Parse one statement whose parameters :func:`bind_parameters` already checked."""
    try:
        return _Parser(text, params).statement()
    except RecursionError:  # hostile nesting (thousands of parentheses): a client error, not a 500
        raise not_well_formed("Statement is nested too deeply") from None


# ---------------------------------------------------------------------------- parser
class _Parser:
    def __init__(self, text: str, params: list[AttributeValue]) -> None:
        self.text = text
        self.toks = L.TokenStream(text)
        self.pos = 0
        self.params = params
        self.used_params = 0
        self.values: dict[str, AttributeValue] = {}
        self.literal_depth = 0  # lists and maps (not an INSERT's item) around the literal read

    # tokens ---------------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> L.Token:
        return self.toks[self.pos + ahead]

    def next(self) -> L.Token:
        t = self.toks[self.pos]
        if t.kind != L.EOF:
            self.pos += 1
        return t

    def at_kw(self, *words: str, ahead: int = 0) -> bool:
        t = self.peek(ahead)
        return t.kind == L.NAME and t.text.upper() in words

    def accept_kw(self, word: str) -> bool:
        if self.at_kw(word):
            self.pos += 1
            return True
        return False

    def expect_kw(self, word: str) -> None:
        if not self.accept_kw(word):
            raise self.unexpected()

    def at_punct(self, *symbols: str, ahead: int = 0) -> bool:
        t = self.peek(ahead)
        return t.kind == L.PUNCT and t.text in symbols

    def accept_punct(self, symbol: str) -> bool:
        if self.at_punct(symbol):
            self.pos += 1
            return True
        return False

    def expect_punct(self, symbol: str, detail: str | None = None) -> None:
        if not self.accept_punct(symbol):
            raise not_well_formed(detail) if detail else self.unexpected()

    def unexpected(self) -> ValidationException:
        """DynamoDB's detail for a token that cannot start what the grammar needs here."""
        t = self.peek()
        if t.kind == L.EOF or (t.kind == L.PUNCT and t.text == ";"):
            return not_well_formed("Unexpected term")
        if t.kind == L.NAME and t.text.upper() in OPERATOR_WORDS:
            return not_well_formed("Unexpected operator")
        if t.kind == L.NAME and t.text.upper() in RESERVED:
            return not_well_formed("Unexpected keyword")
        if t.kind == L.PUNCT and t.text not in "()[]{},.":
            return not_well_formed("Unexpected operator")
        return not_well_formed("Unexpected term")

    # values ---------------------------------------------------------------------------
    def value_ref(self, av: AttributeValue) -> A.ValueRef:
        name = f":v{len(self.values)}"
        self.values[name] = av
        return A.ValueRef(name)

    def take_param(self) -> AttributeValue:
        i = self.used_params
        self.used_params += 1
        if i < len(self.params):
            return self.params[i]
        return {"NULL": True}  # reported once the whole statement has parsed

    # statements -----------------------------------------------------------------------
    def statement(self) -> Statement:
        t = self.peek()
        word = t.upper
        if word == "SELECT":
            stmt: Statement = self.select()
        elif word == "INSERT":
            stmt = self.insert()
        elif word == "UPDATE":
            stmt = self.update()
        elif word == "DELETE":
            stmt = self.delete()
        elif word == "EXISTS" and self.at_punct("(", ahead=1):
            self.next()
            self.next()
            stmt = Exists(self.select())
            self.expect_punct(")")
        elif word == "FROM":
            stmt = self.from_first_update()
        else:
            raise self.not_a_statement()
        self.accept_punct(";")
        if self.peek().kind != L.EOF:
            raise not_well_formed("Unexpected token after expression")
        if self.used_params > len(self.params):
            raise validation(MSG_PARAMETER_COUNT)
        stmt.values.update(self.values)
        return stmt

    def not_a_statement(self) -> ValidationException:
        """What a statement that is no DML is told. A bare type test (``x IS INT4``) parses as an
        expression DynamoDB does not run (paritysuite partiqlGrammar.test.ts, October 2026)."""
        if self.is_path_start() and self.at_kw("IS", ahead=1):
            self.pos += 2
            self.accept_kw("NOT")
            word = self.next().upper
            if word in IS_TYPES or word in OTHER_TYPES or word == "MISSING":
                return validation("Unsupported operation: IsType")
            return not_well_formed("Expected type name")
        return not_well_formed("Expected data manipulation")

    def table_name(self) -> str:
        t = self.next()
        if t.kind == L.QNAME:
            return t.text
        if t.kind == L.NAME and t.text.upper() not in RESERVED:
            return t.text
        raise not_well_formed("Expected identifier for simple path")

    def no_alias(self) -> None:
        if self.accept_kw("AS") or (
            self.peek().kind in (L.NAME, L.QNAME) and self.peek().text.upper() not in RESERVED
        ):
            raise validation(MSG_ALIASING)

    def select(self) -> Select:
        self.expect_kw("SELECT")
        projection = self.projection()
        if not self.at_kw("FROM"):
            raise self.unexpected()
        self.next()
        if self.peek().kind == L.EOF:
            raise not_well_formed("Unexpected term")
        table = self.table_name()
        index = self.index_name()
        self.no_alias()
        where = None
        if self.accept_kw("WHERE"):
            where = self.condition()
        order = self.order_by()
        if self.at_kw("LIMIT"):
            raise validation("Unsupported clause: LIMIT")
        return Select(table, index, projection, where, order)

    def projection(self) -> list[tuple[tuple, str]] | None:
        """SELECT's list of (path elements, output name); None for ``*``."""
        if self.accept_punct("*"):
            if self.at_punct(","):
                raise validation(MSG_STAR_AND_OTHERS)
            return None
        projection: list[tuple[tuple, str]] = []
        seen: set[str] = set()
        while True:
            if self.at_punct("*"):
                raise validation(MSG_STAR_AND_OTHERS)
            t = self.peek()
            if t.kind == L.NAME and self.at_punct("(", ahead=1):
                raise validation(f"Unexpected path component {t.at()}")
            if t.kind not in (L.NAME, L.QNAME) or (t.kind == L.NAME and t.text.upper() in RESERVED):
                raise self.unexpected()
            path = self.path()
            name = _output_name(path)
            if name in seen:
                raise validation(f"Duplicate identifiers in select clause: {name}")
            seen.add(name)
            projection.append((path.elements, name))
            if self.accept_kw("AS"):
                raise validation(MSG_ALIASING)
            if not self.accept_punct(","):
                return projection

    def index_name(self) -> str | None:
        """The ``."index"`` after a table name in FROM, if any."""
        if not self.accept_punct("."):
            return None
        t = self.next()
        if t.kind not in (L.NAME, L.QNAME) or (t.kind == L.NAME and t.text.upper() in RESERVED):
            raise validation(
                "Invalid path dot component in this operation, expecting either an IDENTIFIER or STAR."
            )
        if self.at_punct("."):
            raise validation("A path may contain at most 2 components in the FROM clause")
        return t.text

    def order_by(self) -> list[tuple[str, bool]]:
        """ORDER BY's (attribute, descending) pairs; empty without the clause."""
        order: list[tuple[str, bool]] = []
        if not (self.at_kw("ORDER") and self.at_kw("BY", ahead=1)):
            return order
        self.pos += 2
        while True:
            t = self.next()
            if t.kind not in (L.NAME, L.QNAME):
                raise self.unexpected()
            desc = False
            if self.accept_kw("DESC"):
                desc = True
            else:
                self.accept_kw("ASC")
            order.append((t.text, desc))
            if not self.accept_punct(","):
                return order

    def insert(self) -> Insert:
        self.expect_kw("INSERT")
        self.expect_kw("INTO")
        table = self.table_name()
        if self.at_kw("VALUES"):
            raise validation(
                "Unsupported operation: Inserting multiple items in a single statement "
                'is not supported, use "INSERT INTO tableName VALUE item" instead'
            )
        if not self.accept_kw("VALUE"):
            raise not_well_formed("Unexpected token after expression")
        if not self.at_punct("{"):
            if self.at_punct("[", "<<"):
                raise validation(
                    "Unsupported format in item expression. Please use struct format "
                    "{...} to express item values for insert statement."
                )
            raise self.unexpected()
        item = self.literal("root", top_level=True)["M"]
        if self.at_kw("RETURNING"):
            raise validation(MSG_RETURNING_INSERT)
        return Insert(table, item)

    def update(self) -> Update:
        self.expect_kw("UPDATE")
        table = self.table_name()
        if not self.at_kw("SET", "REMOVE"):
            self.no_alias()
        actions = self.actions()
        where = None
        if self.accept_kw("WHERE"):
            where = self.condition()
        returning = self.returning()
        return Update(table, _update_tree(actions), where, returning)

    def from_first_update(self) -> Update:
        self.expect_kw("FROM")
        table = self.table_name()
        where = None
        if self.accept_kw("WHERE"):
            where = self.condition()
        actions = self.actions()
        return Update(table, _update_tree(actions), where, self.returning())

    def delete(self) -> Delete:
        self.expect_kw("DELETE")
        if not self.accept_kw("FROM"):
            raise not_well_formed("Expected identifier for simple path")
        if self.peek().kind == L.EOF or self.at_punct(";") or self.at_kw("WHERE"):
            raise not_well_formed("Expected identifier for simple path")
        table = self.table_name()
        self.no_alias()
        where = None
        if self.accept_kw("WHERE"):
            where = self.condition()
        returning = self.returning()
        if returning not in (None, "ALL_OLD"):
            words = returning.replace("UPDATED", "MODIFIED").replace("_", " ")
            raise validation(
                f"Invalid returning clause: RETURNING {words} *. "
                "Only RETURNING ALL OLD * is allowed in DELETE statements."
            )
        return Delete(table, where, returning)

    def returning(self) -> str | None:
        if not self.accept_kw("RETURNING"):
            return None
        if not self.at_kw("ALL", "MODIFIED"):
            raise self.unexpected()
        which = self.next().text.upper()
        if not self.at_kw("OLD", "NEW"):
            raise self.unexpected()
        side = self.next().text.upper()
        if not self.accept_punct("*"):
            raise validation("Expected '*' after ( MODIFIED | ALL ) ( NEW | OLD ) in RETURNING clause")
        if self.at_punct(","):
            raise validation("Invalid syntax with multiple returning elements in RETURNING clause")
        return ("ALL_" if which == "ALL" else "UPDATED_") + side

    # update actions -------------------------------------------------------------------
    def actions(self) -> list:
        actions: list = []
        if not self.at_kw("SET", "REMOVE"):
            if self.at_kw("ADD", "DELETE"):
                raise validation("Only SET and REMOVE are supported in update expressions at this time")
            raise self.unexpected()
        while self.at_kw("SET", "REMOVE"):
            kind = self.next().text.upper()
            while True:
                path = self.path()
                if kind == "REMOVE":
                    actions.append(A.RemoveAction(path))
                else:
                    self.expect_punct("=")
                    actions.append(self.assignment(path))
                if not self.accept_punct(","):
                    break
        return actions

    def assignment(self, target: A.Path):
        t = self.peek()
        if t.kind == L.NAME and t.text.lower() in ("set_add", "set_delete") and self.at_punct("(", ahead=1):
            return self.set_function(target)
        return A.SetAction(target, self.update_value())

    def set_function(self, target: A.Path):
        fn = self.next()
        name = fn.text.lower()
        label = name.upper()
        self.next()  # (
        args: list = []
        arg_tokens: list[L.Token] = []
        if not self.at_punct(")"):
            while True:
                arg_tokens.append(self.peek())
                args.append(self.update_value())
                if not self.accept_punct(","):
                    break
        self.expect_punct(")")
        if len(args) != 2:
            raise validation(f"{label} must have exactly two arguments {fn.at()}")
        first, second = args
        if type(first) is not A.Path or first.elements != target.elements:
            raise validation(f"The first argument to {label} must equal the assignment value {fn.at()}")
        value = self.values.get(second.name) if type(second) is A.ValueRef else None
        if value is None or not any(k in value for k in ("SS", "NS", "BS")):
            raise validation(
                f"The second argument to {label} must be a value with type SET {arg_tokens[0].at()}"
            )
        return (A.AddAction if name == "set_add" else A.DeleteAction)(target, second)

    def update_value(self):
        left = self.update_term()
        while self.at_punct("+", "-"):
            op = self.next().text
            right = self.update_term()
            left = A.Arith(op, left, right)
        return left

    def update_term(self):
        t = self.peek()
        if self.accept_punct("("):
            v = self.update_value()
            self.expect_punct(")")
            return v
        if t.kind == L.NAME and self.at_punct("(", ahead=1):
            name = t.text.lower()
            if name not in ("list_append", "if_not_exists"):
                if name in ("set_add", "set_delete"):
                    raise validation(
                        f"The first argument to {name.upper()} must equal the assignment value {t.at()}"
                    )
                raise validation(f"Unrecognized function: {name} {t.at()}")
            self.pos += 2
            args = [self.update_value()]
            while self.accept_punct(","):
                args.append(self.update_value())
            self.expect_punct(")")
            if len(args) != 2:
                raise validation(
                    "Incorrect number of operands for operator or function; operator "
                    f"or function: {name}, number of operands: {len(args)}"
                )
            if name == "if_not_exists" and type(args[0]) is not A.Path:
                raise validation(
                    "Operator or function requires a document path; operator or function: if_not_exists"
                )
            return A.Call(name, tuple(args))
        if self.is_path_start():
            return self.path()
        return self.value_ref(self.literal("root"))

    # conditions -----------------------------------------------------------------------
    def condition(self):
        left = self.conjunction()
        while self.accept_kw("OR"):
            if self.peek().kind == L.EOF:
                raise not_well_formed("Missing right-hand side expression of infix operator")
            left = A.Or(left, self.conjunction())
        return left

    def conjunction(self):
        left = self.negation()
        while self.accept_kw("AND"):
            if self.peek().kind == L.EOF:
                raise not_well_formed("Missing right-hand side expression of infix operator")
            left = A.And(left, self.negation())
        return left

    def negation(self):
        if self.accept_kw("NOT"):
            if self.peek().kind == L.EOF:
                raise not_well_formed("Unexpected term")
            return A.Not(self.negation())
        return self.predicate()

    def predicate(self):
        left = self.operand()
        if self.at_punct(*COMPARISONS):
            op = self.next().text
            if self.at_kw("MISSING"):
                raise validation(MSG_MISSING_COMPARE)
            right = self.operand()
            if A.is_condition(left) or A.is_condition(right):
                return self.compare_truth(op, left, right)
            return A.Compare("<>" if op == "!=" else op, left, right)
        negate = False
        if self.at_kw("NOT") and self.at_kw("BETWEEN", "IN", ahead=1):
            self.next()
            negate = True
        if self.accept_kw("BETWEEN"):
            node = self.between(left)
            return A.Not(node) if negate else node
        if self.accept_kw("IN"):
            node = self.in_list(left)
            return A.Not(node) if negate else node
        if self.accept_kw("IS"):
            return self.is_test(left)
        self.check_boolean(left)
        return left

    def compare_truth(self, op: str, left, right):
        """A condition compared with a value, a path or another condition: DynamoDB compares its
        truth as a BOOL (Floci's comparesAConditionWithABoolean, captured from DynamoDB,
        eu-west-2, 2026-09-17); it has no order, so <, <=, >, >= are refused."""
        if op not in ("=", "<>", "!="):
            raise validation(
                f"Incorrect operand type for operator or function; operator or function: {op}, operand type: BOOL"
            )
        if not A.is_condition(left):
            left, right = right, left
        same = self.truth_equals(left, right)
        return same if op == "=" else A.Not(same)

    def truth_equals(self, condition, other):
        """``condition = other`` as a condition the evaluators already run."""
        if A.is_condition(other):
            return A.Or(A.And(condition, other), A.And(A.Not(condition), A.Not(other)))
        if type(other) is A.Path:
            is_true = A.Compare("=", other, self.value_ref({"BOOL": True}))
            is_false = A.Compare("=", other, self.value_ref({"BOOL": False}))
            return A.Or(A.And(condition, is_true), A.And(A.Not(condition), is_false))
        value = self.values[other.name] if type(other) is A.ValueRef else {}
        if "BOOL" in value:
            return condition if value["BOOL"] else A.Not(condition)
        constant = self.value_ref({"BOOL": True})
        return A.Compare("<>", constant, constant)  # a BOOL never equals a value of another type

    def between(self, left) -> A.Between:
        low = self.operand()
        self.expect_kw("AND")
        high = self.operand()
        return A.Between(left, low, high)

    def check_boolean(self, operand) -> None:
        """A bare path, parameter or size() where a condition belongs is refused, as DynamoDB does."""
        if (
            type(operand) is A.Path
            or type(operand) is A.ValueRef
            or (type(operand) is A.Call and operand.name == "size")
        ):
            if self.at_kw("MISSING"):
                raise self.unexpected()
            raise validation("WHERE clause must contain an expression that resolves to a boolean")

    def in_list(self, left):
        options = self.in_options()
        if A.is_condition(left):  # the condition's truth, compared with each option in turn
            node = self.truth_equals(left, options[0])
            for option in options[1:]:
                node = A.Or(node, self.truth_equals(left, option))
            return node
        if type(left) is not A.Path:
            raise validation(MSG_IN_OPERANDS)
        return A.In(left, tuple(options))

    def in_options(self) -> list:
        """IN's right-hand side: ``[...]``, ``(...)`` or a parameter holding a list."""
        closing = "]" if self.accept_punct("[") else (")" if self.accept_punct("(") else None)
        if closing is None:
            if self.peek().kind == L.PARAM:
                self.next()
                av = self.take_param()
                return [self.value_ref(v) for v in av.get("L", [av])]
            raise validation(MSG_IN_OPERANDS)
        options = []
        if not self.at_punct(closing):
            while True:
                options.append(self.operand())
                if not self.accept_punct(","):
                    break
        self.expect_punct(closing)
        if len(options) > MAX_IN_OPERANDS:
            raise validation(
                f"The IN operator is provided with too many operands; number of operands: {len(options)}"
            )
        if not options:
            raise validation(MSG_IN_OPERANDS)
        return options

    def is_test(self, left):
        negate = self.accept_kw("NOT")
        t = self.next()
        word = t.text.upper() if t.kind == L.NAME else ""
        if type(left) not in (A.Path, A.ValueRef):
            raise validation(
                "The left hand side argument to IS must be a Variable Reference, Literal, or Path"
            )
        if word == "MISSING":
            node = A.Call("attribute_not_exists", (left,))
        elif word in IS_TYPES:
            node = A.Call("attribute_type", (left, self.value_ref({"S": IS_TYPES[word]})))
        elif word in OTHER_TYPES:
            if word in ("DOUBLE", "CHARACTER") and self.at_kw("PRECISION", "VARYING"):
                self.next()
            raise validation(
                f"Unsupported data type for IS operator: {word}. Supported data types "
                "are [MISSING, NULL, BOOLEAN, BLOB, STRING, NUMERIC, STRUCT, TUPLE, LIST]"
            )
        else:
            raise not_well_formed("Expected type name")
        return A.Not(node) if negate else node

    def is_path_start(self) -> bool:
        t = self.peek()
        return t.kind == L.QNAME or (t.kind == L.NAME and t.text.upper() not in RESERVED)

    def operand(self):
        t = self.peek()
        if self.accept_punct("("):
            inner = self.condition()
            self.expect_punct(")")
            return inner
        if t.kind == L.NAME and self.at_punct("(", ahead=1):
            return self.function()
        if self.is_path_start():
            return self.path()
        if t.kind == L.NAME and t.text.upper() == "MISSING":
            raise validation(MSG_MISSING_COMPARE)
        if (
            t.kind in (L.STRING, L.NUMBER, L.PARAM)
            or self.at_punct("[", "{", "<<", "-", "+")
            or self.at_kw("TRUE", "FALSE", "NULL")
        ):
            return self.value_ref(self.literal("root"))
        raise self.unexpected()

    def function(self):
        t = self.next()
        name = t.text.lower()
        self.next()  # (
        if name not in CONDITION_FUNCTIONS:
            raise validation(f"Unrecognized function: {name} {t.at()}")
        args = []
        if not self.at_punct(")"):
            while True:
                args.append(self.operand())
                if not self.accept_punct(","):
                    break
        self.expect_punct(")")
        if len(args) != CONDITION_FUNCTIONS[name]:
            raise validation(
                "Incorrect number of operands for operator or function; operator or "
                f"function: {name}, number of operands: {len(args)}"
            )
        if type(args[0]) is not A.Path:
            raise validation(f"Operator or function requires a document path; operator or function: {name}")
        return A.Call(name, tuple(args))

    def path(self) -> A.Path:
        t = self.next()
        if t.kind == L.PUNCT and t.text == "[":
            raise validation("A path cannot start with a list index")
        if t.kind not in (L.NAME, L.QNAME) or (t.kind == L.NAME and t.text.upper() in RESERVED):
            self.pos -= 1
            raise self.unexpected()
        elements: list = [t.text]
        while True:
            if self.accept_punct("."):
                elements.append(self.dot_component())
            elif self.accept_punct("["):
                elements.append(self.index_component())
            else:
                return A.Path(tuple(elements))

    def dot_component(self) -> str:
        n = self.next()
        if n.kind == L.QNAME or (n.kind == L.NAME and n.text.upper() not in RESERVED):
            return n.text
        if n.kind == L.PUNCT and n.text == "*":
            raise validation("Unpivot path component like a.*.b are not supported")
        raise not_well_formed("Invalid path dot component")

    def index_component(self) -> int:
        """``[n]`` after the opening bracket: an integer within 0..2**31-1 (``-0`` is 0), then ``]``."""
        n = self.next()
        if n.kind == L.PUNCT and n.text == "*":
            raise validation("Wildcard path component like a[*].b are not supported")
        sign = ""
        if n.kind == L.PUNCT and n.text == "-" and self.peek().kind == L.NUMBER:
            sign, n = "-", self.next()
        if n.kind != L.NUMBER or not n.text.isdigit():
            raise validation(f"List index is not within the allowable range; index: [{n.text}]")
        index = int(n.text)
        if index > MAX_LIST_INDEX or (sign and index):
            raise validation(
                f"List index is not within the allowable range; index: [{sign}{n.text}] {n.at()}"
            )
        self.expect_punct("]")
        return index

    # literals -------------------------------------------------------------------------
    def literal(self, where: str, top_level: bool = False) -> AttributeValue:
        """One PartiQL value; ``where`` names its place (``root``, ``root.a[0]``) for messages."""
        t = self.peek()
        if self.literal_depth >= MAX_LITERAL_NESTING:
            raise validation(f"Nesting Levels have exceeded supported limits under {where}")
        if t.kind == L.STRING:
            self.next()
            return {"S": t.text}
        if t.kind == L.PARAM:
            if where != "root":  # inside a list, map or bag written in the statement
                raise validation(f"Unsupported data type: Parameter under key {where} {t.at()}")
            self.next()
            return self.take_param()
        if t.kind == L.NUMBER or self.at_punct("-", "+"):
            return self.number_literal(where)
        if t.kind == L.NAME:
            return self.word_literal(t, where)
        if self.accept_punct("["):
            return self.list_literal(where)
        if self.accept_punct("{"):
            return self.map_literal(where, top_level)
        if self.accept_punct("<<"):
            return self.bag_literal(where)
        raise self.unexpected()

    def number_literal(self, where: str) -> AttributeValue:
        """A number after any run of signs (``- - 1`` is 1, comments may stand between them)."""
        negative = False
        while self.at_punct("-", "+"):
            negative ^= self.next().text == "-"
        if self.peek().kind != L.NUMBER:
            raise self.unexpected()
        return {"N": _number(("-" if negative else "") + self.next().text, where)}

    def word_literal(self, t: L.Token, where: str) -> AttributeValue:
        """TRUE, FALSE or NULL; any other word is an error DynamoDB words by what it looks like."""
        word = t.text.upper()
        if word in ("TRUE", "FALSE"):
            self.next()
            return {"BOOL": word == "TRUE"}
        if word == "NULL":
            self.next()
            return {"NULL": True}
        if word == "MISSING":
            raise validation(MSG_MISSING_COMPARE)
        if self.at_punct("(", ahead=1):
            raise validation(f"Unsupported data type: {t.text.lower()} under key {where} {t.at()}")
        raise self.unexpected()

    def list_literal(self, where: str) -> AttributeValue:
        out: list[AttributeValue] = []
        self.literal_depth += 1
        if not self.at_punct("]"):
            while True:
                out.append(self.literal(f"{where}[{len(out)}]"))
                if not self.accept_punct(","):
                    break
        self.expect_punct("]")
        self.literal_depth -= 1
        return {"L": out}

    def map_literal(self, where: str, top_level: bool) -> AttributeValue:
        m: dict[str, AttributeValue] = {}
        depth = 0 if top_level else 1  # an INSERT's item is not a level of nesting
        self.literal_depth += depth
        if not self.at_punct("}"):
            while True:
                k = self.next()
                if k.kind not in (L.STRING, L.QNAME):
                    if k.kind == L.PARAM:
                        raise validation(
                            f"Tuple keys must be of type String. Actual type: PARAMETER under {where}"
                        )
                    self.pos -= 1
                    raise self.unexpected()
                self.expect_punct(":")
                if k.text in m:
                    raise validation(f"Duplicate keys in tuple. Key: {k.text} under {where}")
                m[k.text] = self.literal(where if top_level else f"{where}.{k.text}")
                if not self.accept_punct(","):
                    break
        self.expect_punct("}")
        self.literal_depth -= depth
        return {"M": m}

    def bag_literal(self, where: str) -> AttributeValue:
        members = []
        written = []  # each member as written: DynamoDB quotes them when numbers repeat
        if not self.at_punct(">>"):
            while True:
                first = self.pos
                members.append(self.literal(where))
                written.append("".join(self.peek(i - self.pos).text for i in range(first, self.pos)))
                if not self.accept_punct(","):
                    break
        self.expect_punct(">>")
        return _bag(members, written, where)


# ---------------------------------------------------------------------------- helpers
def _output_name(path: A.Path) -> str:
    """The attribute name a projected path comes back under: its last name (+ trailing indexes)."""
    els = path.elements
    i = len(els) - 1
    while i > 0 and type(els[i]) is int:
        i -= 1
    return str(els[i]) + "".join(f"[{e}]" for e in els[i + 1 :])


def _number(text: str, where: str) -> str:
    digits = text.lstrip("-+")
    mantissa, _, exp = digits.lower().partition("e")
    try:
        exponent = int(exp) if exp else 0
    except ValueError:
        raise not_well_formed("") from None
    fraction = mantissa.partition(".")[2]
    if abs(exponent) > 2**31 - 1 or abs(len(fraction) - exponent) > 2**31 - 1:
        raise not_well_formed("")
    try:
        return numbers.normalize(text)
    except ValidationException as err:
        raise validation(f"{err.message} under {where}") from None
    except (InvalidOperation, ValueError):
        raise not_well_formed("") from None


def _bag(members: list[AttributeValue], written: list[str], where: str) -> AttributeValue:
    if not members:
        raise validation(MSG_EMPTY_BAG)
    kinds = {next(iter(m)) for m in members}
    if len(kinds) != 1 or not kinds <= {"S", "N", "B"}:
        raise validation(MSG_BAG_TYPES)
    kind = kinds.pop()
    if kind == "N" and len({m["N"] for m in members}) < len(members):
        raise validation(
            "One or more parameter values were invalid: Input collection "
            f"[{', '.join(written)}] contains duplicates! under {where}"
        )
    return from_wire_value({kind + "S": [m[kind] for m in members]})


def _update_tree(actions: list) -> A.UpdateTree:
    return A.UpdateTree(
        sets=tuple(a for a in actions if type(a) is A.SetAction),
        removes=tuple(a for a in actions if type(a) is A.RemoveAction),
        adds=tuple(a for a in actions if type(a) is A.AddAction),
        deletes=tuple(a for a in actions if type(a) is A.DeleteAction),
        actions=tuple(actions),
    )
