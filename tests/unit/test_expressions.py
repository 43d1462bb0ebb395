"""Unit tests for the DynamoDB expression languages (parse, bind, evaluate, messages)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidestream.dynamodb.expressions import (
    check_attribute_maps,
    check_expression_attributes,
    compile_condition,
    compile_key_condition,
    compile_projection,
    compile_update,
    parse_condition,
    parse_projection,
    parse_update,
    project,
)
from tidestream.errors import ValidationException


def S(v):
    return {"S": v}


def N(v):
    return {"N": v}


def err(fn, *args, **kwargs) -> str:
    with pytest.raises(ValidationException) as info:
        fn(*args, **kwargs)
    return info.value.message


def cond(text, item, names=None, values=None, label="ConditionExpression"):
    return compile_condition(parse_condition(text, label), names, values)(item)


def update(text, item, names=None, values=None, keys=()):
    return compile_update(parse_update(text), names, values, keys).apply(item)


ITEM = {
    "pk": S("k"),
    "n": N("10"),
    "s": S("hello"),
    "b": {"B": b"\x01\x02\x03"},
    "t": {"BOOL": True},
    "z": {"NULL": True},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"\x01"]},
    "l": {"L": [N("1"), S("two"), {"M": {"x": N("3")}}]},
    "m": {"M": {"a": {"M": {"b": S("deep")}}, "c": N("-1")}},
    "status": S("open"),
}


# -- syntax errors ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "label,text,message",
    [
        ("ProjectionExpression", "!!! INVALID !!!", 'Syntax error; token: "!", near: "!!"'),
        ("ProjectionExpression", "a b", 'Syntax error; token: "b", near: "a b"'),
        ("ProjectionExpression", "a,", 'Syntax error; token: "<EOF>", near: ","'),
        ("ConditionExpression", "attribute_type()", 'Syntax error; token: ")", near: "()"'),
        ("ConditionExpression", "a = :v AND __typename = :w", 'Syntax error; token: "_", near: "AND __"'),
        ("ConditionExpression", "a", 'Syntax error; token: "<EOF>", near: "a"'),
        ("ConditionExpression", "([1", 'Syntax error; token: "[", near: "([1"'),
        ("KeyConditionExpression", "a > 4", 'Syntax error; token: "4", near: "> 4"'),
        ("KeyConditionExpression", "pk = :gsi1sk AND", 'Syntax error; token: "<EOF>", near: "AND"'),
        ("ConditionExpression", "a = = :v", 'Syntax error; token: "=", near: "= = :v"'),
        ("ConditionExpression", "a = :v and = :w", 'Syntax error; token: "=", near: "and = :w"'),
        ("UpdateExpression", "SET a = b +", 'Syntax error; token: "<EOF>", near: "+"'),
        ("UpdateExpression", "ADD numx", 'Syntax error; token: "<EOF>", near: "numx"'),
        ("UpdateExpression", "SET", 'Syntax error; token: "<EOF>", near: "SET"'),
        ("UpdateExpression", "SET a = :v, ", 'Syntax error; token: "<EOF>", near: ", "'),
        ("UpdateExpression", "PUT a = :v", 'Syntax error; token: "PUT", near: "PUT a"'),
        ("UpdateExpression", "ADD a b", 'Syntax error; token: "b", near: "a b"'),
    ],
)
def test_syntax_errors(label, text, message):
    parse = {"ProjectionExpression": parse_projection, "UpdateExpression": parse_update}.get(label)
    if parse is None:
        msg = err(parse_condition, text, label)
    else:
        msg = err(parse, text)
    assert msg == f"Invalid {label}: {message}"


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_expressions(text):
    assert (
        err(parse_condition, text, "FilterExpression")
        == "Invalid FilterExpression: The expression can not be empty;"
    )
    assert err(parse_update, text) == "Invalid UpdateExpression: The expression can not be empty;"
    assert err(parse_projection, text) == "Invalid ProjectionExpression: The expression can not be empty;"


def test_parse_is_cached():
    assert parse_condition("a = :v") is parse_condition("a = :v")
    assert parse_update("SET a = :v") is parse_update("SET a = :v")
    assert parse_condition("a = :v", "FilterExpression").label == "FilterExpression"


def test_placeholders_recorded_in_source_order():
    p = parse_condition("#b.c = :y AND #a[1] IN (:x, :y, :z)")
    assert p.names_used == ("#b", "#a")
    assert p.values_used == (":y", ":x", ":z")


def test_deep_nesting_is_a_validation_error():
    text = "NOT " * 500 + "a = :v"
    assert "too many nested levels" in err(parse_condition, text)
    text = "(" * 300 + "a" + ")" * 300 + " = :v"
    err(parse_condition, text)


# -- parse-time semantic errors -----------------------------------------------------------
@pytest.mark.parametrize(
    "text,message",
    [
        ("status = :v", "Attribute name is a reserved keyword; reserved keyword: status"),
        ("a.Size = :v", "Attribute name is a reserved keyword; reserved keyword: Size"),
        ("((a = :v))", "The expression has redundant parentheses;"),
        ("((a)) = :v", "The expression has redundant parentheses;"),
        ("size(a)", "The function is not allowed to be used this way in an expression; function: size"),
        (
            "attribute_exists(a) = :v",
            "The function is not allowed to be used this way in an expression; function: attribute_exists",
        ),
        (
            "size(a) AND b = :v",
            "The function is not allowed to be used this way in an expression; function: size",
        ),
        ("BegIns_WiTh(a, :v)", "Invalid function name; function: BegIns_WiTh"),
        ("foo(a) = :v", "Invalid function name; function: foo"),
        (
            "begins_with(a, :v, :w)",
            "Incorrect number of operands for operator or function; "
            "operator or function: begins_with, number of operands: 3",
        ),
        (
            "size(a, b) = :v",
            "Incorrect number of operands for operator or function; "
            "operator or function: size, number of operands: 2",
        ),
        (
            "attribute_exists(:v)",
            "Operator or function requires a document path; operator or function: attribute_exists",
        ),
    ],
)
def test_condition_semantic_errors(text, message):
    assert err(parse_condition, text) == f"Invalid ConditionExpression: {message}"


def test_in_operand_limit():
    ok = "a IN (" + ", ".join(f":v{i}" for i in range(100)) + ")"
    parse_condition(ok)
    bad = "a IN (" + ", ".join(f":v{i}" for i in range(101)) + ")"
    assert err(parse_condition, bad) == (
        "Invalid ConditionExpression: The IN operator is provided "
        "with too many operands; number of operands: 101"
    )


def test_keywords_case_insensitive():
    assert cond(
        "n between :a AnD :b aNd NoT s iN (:c)", ITEM, None, {":a": N("1"), ":b": N("20"), ":c": S("x")}
    )


# -- bind-time errors ---------------------------------------------------------------------
def test_undefined_placeholders():
    assert err(cond, "#a = :v", ITEM, None, {":v": S("x")}) == (
        "Invalid ConditionExpression: An expression attribute name used in the document path is "
        "not defined; attribute name: #a"
    )
    assert err(cond, "a = :v", ITEM, {"#x": "x"}, {":w": S("x")}) == (
        "Invalid ConditionExpression: An expression attribute value used in expression is not "
        "defined; attribute value: :v"
    )


@pytest.mark.parametrize(
    "text,values,message",
    [
        (
            "a < :v",
            {":v": {"BOOL": True}},
            "Incorrect operand type for operator or function; operator or function: <, operand type: BOOL",
        ),
        (
            "a >= :v",
            {":v": {"SS": ["x"]}},
            "Incorrect operand type for operator or function; operator or function: >=, operand type: SS",
        ),
        (
            "a > :v",
            {":v": {"NULL": True}},
            "Incorrect operand type for operator or function; operator or function: >, operand type: NULL",
        ),
        (
            "begins_with(a, :v)",
            {":v": N("1")},
            "Incorrect operand type for operator or function; operator or function: begins_with, "
            "operand type: N",
        ),
        (
            "size(:v) > :v",
            {":v": N("1")},
            "Incorrect operand type for operator or function; operator or function: size, operand type: N",
        ),
        (
            "attribute_type(a, :v)",
            {":v": N("1")},
            "Incorrect operand type for operator or function; operator or function: attribute_type, "
            "operand type: N",
        ),
        (
            "attribute_type(a, :v)",
            {":v": S("X")},
            "Invalid attribute type name found; type: X, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}",
        ),
        (
            "a BETWEEN :b AND :a",
            {":a": S("a"), ":b": N("1")},
            "The BETWEEN operator requires same data type for lower and upper bounds; lower bound "
            "operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:a}",
        ),
        (
            "a BETWEEN :b AND :a",
            {":a": S("a"), ":b": S("b")},
            "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower "
            "bound operand: AttributeValue: {S:b}, upper bound operand: AttributeValue: {S:a}",
        ),
    ],
)
def test_operand_type_errors(text, values, message):
    assert err(cond, text, ITEM, None, values) == f"Invalid ConditionExpression: {message}"


def test_distinct_operands():
    assert err(cond, "#x = a", ITEM, {"#x": "a"}) == (
        "Invalid ConditionExpression: The first operand must be distinct from the remaining "
        "operands for this operator or function; operator: =, first operand: [a]"
    )
    assert "operator: contains, first operand: [a, b, [1]]" in err(cond, "contains(a.b[1], a.b[1])", ITEM)


def test_comparing_two_constants_of_different_types_is_fine():
    assert cond(":a < :b", ITEM, None, {":a": N("1"), ":b": S("x")}) is False
    assert cond(":a = :b", ITEM, None, {":a": N("1"), ":b": N("1")}) is True


# -- condition evaluation -----------------------------------------------------------------
@pytest.mark.parametrize(
    "text,values,expected",
    [
        ("n = :v", {":v": N("10")}, True),
        ("n = :v", {":v": S("10")}, False),
        ("n <> :v", {":v": S("10")}, True),
        ("nope <> :v", {":v": S("10")}, True),
        ("nope = :v", {":v": S("10")}, False),
        ("n < :v", {":v": N("9.5")}, False),
        ("n > :v", {":v": N("9.5")}, True),
        ("n > :v", {":v": N("-100")}, True),
        ("n <= :v", {":v": N("10")}, True),
        ("n >= :v", {":v": N("1E+1")}, True),
        ("n < :v", {":v": S("z")}, False),
        ("s < :v", {":v": S("help")}, True),
        ("s > :v", {":v": S("hello")}, False),
        ("b < :v", {":v": {"B": b"\x01\x02\x04"}}, True),
        ("b > :v", {":v": {"B": b"\x01"}}, True),
        ("n BETWEEN :a AND :b", {":a": N("10"), ":b": N("11")}, True),
        ("n BETWEEN :a AND :b", {":a": N("11"), ":b": N("12")}, False),
        ("n BETWEEN :a AND :b", {":a": S("a"), ":b": S("b")}, False),
        ("s IN (:a, :b)", {":a": S("x"), ":b": S("hello")}, True),
        ("s IN (:a)", {":a": S("x")}, False),
        ("ss = :v", {":v": {"SS": ["b", "a"]}}, True),
        ("l = :v", {":v": {"L": [N("1"), S("two"), {"M": {"x": N("3")}}]}}, True),
        ("l = :v", {":v": {"L": [S("two"), N("1"), {"M": {"x": N("3")}}]}}, False),
        ("m.a.b = :v", {":v": S("deep")}, True),
        ("m.a = :v", {":v": {"M": {"b": S("deep")}}}, True),
        ("l[2].x = :v", {":v": N("3")}, True),
        ("l[1] = :v", {":v": S("two")}, True),
        ("l[9] = :v", {":v": S("two")}, False),
        ("s[0] = :v", {":v": S("two")}, False),
        ("m.c < :v AND n > :v", {":v": N("0")}, True),
        ("m.c > :v OR n > :v", {":v": N("0")}, True),
        ("NOT n > :v", {":v": N("0")}, False),
        ("NOT n > :v OR n = :w", {":v": N("0"), ":w": N("10")}, True),
        ("NOT (n > :v OR n = :w)", {":v": N("0"), ":w": N("10")}, False),
        ("(n > :v) AND (s = :w)", {":v": N("0"), ":w": S("hello")}, True),
        ("(n) > :v", {":v": N("0")}, True),
        ("t = :v", {":v": {"BOOL": True}}, True),
        ("z = :v", {":v": {"NULL": True}}, True),
    ],
)
def test_comparisons(text, values, expected):
    assert cond(text, ITEM, None, values) is expected


def test_precedence_not_and_or():
    values = {":t": {"BOOL": True}, ":f": {"BOOL": False}}
    # a OR b AND c  ==  a OR (b AND c)
    assert cond("t = :t OR t = :f AND t = :f", ITEM, None, values) is True
    # NOT a AND b  ==  (NOT a) AND b
    assert cond("NOT t = :f AND t = :t", ITEM, None, values) is True
    assert cond("NOT t = :t AND t = :f OR t = :t", ITEM, None, values) is True


@pytest.mark.parametrize(
    "text,values,expected",
    [
        ("attribute_exists(n)", None, True),
        ("attribute_exists(nope)", None, False),
        ("attribute_not_exists(nope)", None, True),
        ("attribute_exists(m.a.b)", None, True),
        ("attribute_exists(l[5])", None, False),
        ("attribute_exists(#s)", None, True),
        ("attribute_type(n, :t)", {":t": S("N")}, True),
        ("attribute_type(ss, :t)", {":t": S("SS")}, True),
        ("attribute_type(ss, :t)", {":t": S("S")}, False),
        ("begins_with(s, :p)", {":p": S("he")}, True),
        ("begins_with(s, :p)", {":p": S("lo")}, False),
        ("begins_with(b, :p)", {":p": {"B": b"\x01\x02"}}, True),
        ("begins_with(n, :p)", {":p": S("1")}, False),
        ("contains(s, :p)", {":p": S("ell")}, True),
        ("contains(s, :p)", {":p": N("1")}, False),
        ("contains(b, :p)", {":p": {"B": b"\x02\x03"}}, True),
        ("contains(ss, :p)", {":p": S("a")}, True),
        ("contains(ss, :p)", {":p": S("c")}, False),
        ("contains(ns, :p)", {":p": N("2.5")}, True),
        ("contains(ns, :p)", {":p": S("1")}, False),
        ("contains(bs, :p)", {":p": {"B": b"\x01"}}, True),
        ("contains(l, :p)", {":p": S("two")}, True),
        ("contains(l, :p)", {":p": {"M": {"x": N("3")}}}, True),
        ("contains(l, :p)", {":p": S("tw")}, False),
        ("contains(m, :p)", {":p": S("a")}, False),
        ("contains(s, s)", None, None),
        ("size(s) = :v", {":v": N("5")}, True),
        ("size(b) = :v", {":v": N("3")}, True),
        ("size(ss) = :v", {":v": N("2")}, True),
        ("size(l) > :v", {":v": N("2")}, True),
        ("size(m) = :v", {":v": N("2")}, True),
        ("size(n) = :v", {":v": N("2")}, False),
        ("size(nope) < :v", {":v": N("2")}, False),
        ("size(s) BETWEEN :a AND :b", {":a": N("1"), ":b": N("5")}, True),
        ("n IN (size(s), :a)", {":a": N("10")}, True),
    ],
)
def test_functions(text, values, expected):
    names = {"#s": "status"} if "#s" in text else None
    if expected is None:  # same path twice is a validation error
        err(cond, text, ITEM, names, values)
        return
    assert cond(text, ITEM, names, values) is expected


def test_condition_on_missing_item():
    assert cond("attribute_not_exists(pk)", {}) is True
    assert cond("attribute_exists(pk)", {}) is False


def test_alias_resolution_in_paths():
    names = {"#a": "m", "#b": "a.weird", "#i": "x"}
    item = {"m": {"M": {"a.weird": S("v")}}}
    assert cond("#a.#b = :v", item, names, {":v": S("v")}) is True
    assert cond("#i[0] = :v", {"x": {"L": [S("v")]}}, {"#i": "x"}, {":v": S("v")}) is True


def test_compiled_condition_is_reusable():
    pred = compile_condition(parse_condition("n > :v", "FilterExpression"), None, {":v": N("5")})
    assert [pred(i) for i in ({"n": N("6")}, {"n": N("4")}, {}, {"n": S("x")})] == [True, False, False, False]


# -- key conditions -----------------------------------------------------------------------
HR = [("pk", "HASH"), ("sk", "RANGE")]


def key(text, values, schema=HR, names=None):
    return compile_key_condition(parse_condition(text, "KeyConditionExpression"), names, values, schema)


def test_key_condition_hash_only():
    kc = key("pk = :p", {":p": S("a")})
    assert kc.partition == {"pk": S("a")}
    assert kc.sort == ()
    assert kc.partition_value == S("a")
    assert kc.sort_condition is None


@pytest.mark.parametrize(
    "text,op,vals",
    [
        ("pk = :p AND sk = :a", "=", ("a",)),
        ("sk < :a AND pk = :p", "<", ("a",)),
        (":a > sk AND pk = :p", "<", ("a",)),
        (":a <= sk and pk = :p", ">=", ("a",)),
        ("pk = :p AND sk BETWEEN :a AND :b", "BETWEEN", ("a", "b")),
        ("pk = :p AND begins_with(sk, :a)", "BEGINS_WITH", ("a",)),
        ("(pk = :p) AND (sk >= :a)", ">=", ("a",)),
    ],
)
def test_key_condition_sort_ops(text, op, vals):
    values = {":p": S("p"), ":a": S("a"), ":b": S("b")}
    kc = key(text, values)
    assert kc.partition == {"pk": S("p")}
    (sc,) = kc.sort
    assert (sc.attribute, sc.op, tuple(v["S"] for v in sc.values)) == ("sk", op, vals)


def test_key_condition_matches():
    values = {":p": S("p"), ":a": S("b"), ":b": S("d")}
    kc = key("pk = :p AND sk BETWEEN :a AND :b", values)
    assert kc.matches({"pk": S("p"), "sk": S("c")})
    assert not kc.matches({"pk": S("p"), "sk": S("e")})
    assert not kc.matches({"pk": S("q"), "sk": S("c")})
    kc = key("pk = :p AND begins_with(sk, :a)", values)
    assert kc.matches({"pk": S("p"), "sk": S("bcd")})


@pytest.mark.parametrize(
    "text,message",
    [
        ("sk = :a", "Query condition missed key schema element: pk"),
        ("pk < :a", "Query key condition not supported"),
        ("begins_with(pk, :a)", "Query key condition not supported"),
        ("pk = :a AND xx = :a", "Query condition missed key schema element: sk"),
        (
            "pk = :a AND sk = :a AND c = :a",
            "The number of query conditions (3) exceeds the number of key attributes defined in the schema (2)",
        ),
        ("pk = :a OR sk = :a", "Invalid operator used in KeyConditionExpression: OR"),
        ("NOT pk = :a", "Invalid operator used in KeyConditionExpression: NOT"),
        ("pk IN (:a)", "Invalid operator used in KeyConditionExpression: IN"),
        ("pk <> :a", "Invalid operator used in KeyConditionExpression: <>"),
        ("attribute_exists(pk)", "Invalid operator used in KeyConditionExpression: attribute_exists"),
        ("contains(pk, :a)", "Invalid operator used in KeyConditionExpression: contains"),
        ("pk = :a AND size(sk) > :a", "KeyConditionExpressions cannot contain nested operations"),
        ("pk.x = :a", "KeyConditionExpressions cannot have conditions on nested attributes"),
        (
            "pk = sk",
            "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
        ),
        (":a = :a", "Invalid condition in KeyConditionExpression: No key attribute specified"),
        (
            "pk = :a AND pk = :a",
            "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key",
        ),
        (
            "pk = :a AND :a BETWEEN sk AND :a",
            "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand",
        ),
        (
            "pk = :a AND begins_with(:a, sk)",
            "Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute as its first operand",
        ),
    ],
)
def test_key_condition_errors(text, message):
    assert err(key, text, {":a": S("a")}) == message


def test_key_condition_hash_only_table_rejects_extra_condition():
    assert (
        err(key, "pk = :a AND sk = :a", {":a": S("a")}, [("pk", "HASH")])
        == "Query key condition not supported"
    )


def test_key_condition_prefixed_errors():
    assert err(key, "pk = :a AND begins_with(sk, :n)", {":a": S("a"), ":n": N("1")}) == (
        "Invalid KeyConditionExpression: Incorrect operand type for operator or function; "
        "operator or function: begins_with, operand type: N"
    )
    assert err(key, "#s = :a", {":a": S("a")}) == (
        "Invalid KeyConditionExpression: An expression attribute name used in the document path "
        "is not defined; attribute name: #s"
    )
    assert err(key, "status = :a", {":a": S("a")}) == (
        "Invalid KeyConditionExpression: Attribute name is a reserved keyword; reserved keyword: status"
    )


MULTI = [("h1", "HASH"), ("h2", "HASH"), ("r1", "RANGE"), ("r2", "RANGE"), ("r3", "RANGE")]


def test_multi_attribute_keys():
    v = {":a": S("a"), ":b": S("b"), ":c": N("3")}
    kc = key("h2 = :b AND h1 = :a AND r1 = :a AND r2 > :c", v, MULTI)
    assert list(kc.partition) == ["h1", "h2"]
    assert [(c.attribute, c.op) for c in kc.sort] == [("r1", "="), ("r2", ">")]
    assert kc.matches({"h1": S("a"), "h2": S("b"), "r1": S("a"), "r2": N("4")})
    assert not kc.matches({"h1": S("a"), "h2": S("b"), "r1": S("a"), "r2": N("3")})
    assert key("h1 = :a AND h2 = :b", v, MULTI).sort == ()
    assert err(key, "h1 = :a AND r1 = :a", v, MULTI) == "Query condition missed key schema element: h2"
    assert (
        err(key, "h1 = :a AND h2 = :b AND r2 = :a", v, MULTI)
        == "RANGE key attributes r1 must have equality conditions specified in the query because "
        "a condition is present on key attribute r2"
    )
    assert (
        err(key, "h1 = :a AND h2 = :b AND r1 > :a AND r2 = :a", v, MULTI)
        == "RANGE key attributes r1 must have equality conditions specified in the query because "
        "a condition is present on key attribute r2"
    )
    assert err(key, "h1 = :a AND h2 > :b", v, MULTI) == "Query key condition not supported"


# -- updates ------------------------------------------------------------------------------
def test_set_remove_add_delete_basic():
    old = {"pk": S("k"), "a": N("1"), "s": {"SS": ["x", "y"]}, "gone": S("bye")}
    new = update(
        "SET a = a + :one, b = :str REMOVE gone ADD c :one, t :more DELETE s :y",
        old,
        None,
        {":one": N("1"), ":str": S("v"), ":more": {"SS": ["z"]}, ":y": {"SS": ["y"]}},
    )
    assert new == {
        "pk": S("k"),
        "a": N("2"),
        "b": S("v"),
        "c": N("1"),
        "s": {"SS": ["x"]},
        "t": {"SS": ["z"]},
    }
    assert old == {"pk": S("k"), "a": N("1"), "s": {"SS": ["x", "y"]}, "gone": S("bye")}


def test_update_clause_keywords_case_insensitive_and_any_order():
    new = update("remove x set a = :v", {"x": N("1")}, None, {":v": N("2")})
    assert new == {"a": N("2")}


def test_arithmetic_and_functions():
    v = {":one": N("1"), ":zero": N("0"), ":l": {"L": [S("c")]}, ":e": {"L": []}}
    assert update("SET a = if_not_exists(a, :zero) + :one", {}, None, v) == {"a": N("1")}
    assert update("SET a = if_not_exists(a, :zero) + :one", {"a": N("41")}, None, v) == {"a": N("42")}
    assert update("SET a = :one - a", {"a": N("0.5")}, None, v) == {"a": N("0.5")}
    assert update("SET a = (a - :one)", {"a": N("0.5")}, None, v) == {"a": N("-0.5")}
    assert update("SET l = list_append(l, :l)", {"l": {"L": [S("a")]}}, None, v) == {
        "l": {"L": [S("a"), S("c")]}
    }
    assert update("SET l = list_append(:l, l)", {"l": {"L": [S("a")]}}, None, v) == {
        "l": {"L": [S("c"), S("a")]}
    }
    assert update("SET l = list_append(if_not_exists(l, :e), :l)", {}, None, v) == {"l": {"L": [S("c")]}}
    assert update("SET b = a", {"a": S("x")}, None, None) == {"a": S("x"), "b": S("x")}


def test_set_values_read_the_old_item():
    assert update("SET a = b, b = a", {"a": N("1"), "b": N("2")}) == {"a": N("2"), "b": N("1")}


def test_nested_set_and_copy_on_write():
    inner = {"M": {"b": S("old"), "keep": {"M": {"z": N("1")}}}}
    old = {"m": inner, "other": {"L": [N("1")]}}
    new = update("SET m.b = :v, m.c = :v", old, None, {":v": S("new")})
    assert new["m"] == {"M": {"b": S("new"), "keep": {"M": {"z": N("1")}}, "c": S("new")}}
    assert old["m"] is inner and inner["M"]["b"] == S("old") and "c" not in inner["M"]
    assert new["other"] is old["other"]  # untouched attribute shared
    assert new["m"]["M"]["keep"] is inner["M"]["keep"]  # untouched nested data shared


def test_list_index_set_and_append():
    old = {"l": {"L": [N("0"), N("1")]}}
    assert update("SET l[1] = :v", old, None, {":v": S("x")}) == {"l": {"L": [N("0"), S("x")]}}
    assert update("SET l[7] = :v", old, None, {":v": S("x")}) == {"l": {"L": [N("0"), N("1"), S("x")]}}
    assert old == {"l": {"L": [N("0"), N("1")]}}


def test_remove_list_elements_shift():
    old = {"l": {"L": [N("0"), N("1"), N("2"), N("3")]}}
    assert update("REMOVE l[1], l[2]", old) == {"l": {"L": [N("0"), N("3")]}}
    assert update("REMOVE l[2], l[1]", old) == {"l": {"L": [N("0"), N("3")]}}
    assert update("REMOVE l[9]", old) == old
    assert old["l"]["L"] == [N("0"), N("1"), N("2"), N("3")]


def test_remove_missing_is_noop():
    assert update("REMOVE a, m.x, l[0]", {"b": N("1")}) == {"b": N("1")}
    assert update("REMOVE m.x", {"m": {"M": {"x": N("1"), "y": N("2")}}}) == {"m": {"M": {"y": N("2")}}}


def test_add_semantics():
    v = {":n": N("5"), ":ss": {"SS": ["b", "c"]}, ":ns": {"NS": ["1"]}}
    assert update("ADD a :n", {"a": N("1.5")}, None, v) == {"a": N("6.5")}
    assert update("ADD a :ss", {"a": {"SS": ["a", "b"]}}, None, v) == {"a": {"SS": ["a", "b", "c"]}}
    assert update("ADD a :ss", {}, None, v) == {"a": {"SS": ["b", "c"]}}
    assert update("ADD m.a :n", {"m": {"M": {}}}, None, v) == {"m": {"M": {"a": N("5")}}}
    assert (
        err(update, "ADD a :ns", {"a": {"SS": ["x"]}}, None, v)
        == "An operand in the update expression has an incorrect data type"
    )
    assert (
        err(update, "ADD a :n", {"a": S("x")}, None, v)
        == "An operand in the update expression has an incorrect data type"
    )


def test_delete_semantics():
    v = {":x": {"SS": ["x"]}, ":xy": {"SS": ["x", "y"]}, ":n": {"NS": ["1"]}}
    assert update("DELETE a :x", {"a": {"SS": ["x", "y"]}}, None, v) == {"a": {"SS": ["y"]}}
    assert update("DELETE a :xy", {"a": {"SS": ["x", "y"]}}, None, v) == {}
    assert update("DELETE a :x", {}, None, v) == {}
    assert (
        err(update, "DELETE a :n", {"a": {"SS": ["x"]}}, None, v)
        == "An operand in the update expression has an incorrect data type"
    )


@pytest.mark.parametrize(
    "text,item,message",
    [
        ("SET a.b = :v", {}, "The document path provided in the update expression is invalid for update"),
        (
            "SET a.b = :v",
            {"a": S("x")},
            "The document path provided in the update expression is invalid for update",
        ),
        (
            "SET a[0] = :v",
            {"a": {"M": {}}},
            "The document path provided in the update expression is invalid for update",
        ),
        ("ADD a.b :n", {}, "The document path provided in the update expression is invalid for update"),
        (
            "SET a = b + :n",
            {},
            "The provided expression refers to an attribute that does not exist in the item",
        ),
        ("SET a = b + :n", {"b": S("x")}, "An operand in the update expression has an incorrect data type"),
        (
            "SET a = list_append(b, :l)",
            {"b": S("x")},
            "An operand in the update expression has an incorrect data type",
        ),
    ],
)
def test_update_runtime_errors(text, item, message):
    v = {":v": S("v"), ":n": N("1"), ":l": {"L": []}}
    assert err(update, text, item, None, v) == message


@pytest.mark.parametrize(
    "text,message",
    [
        ("SET a = :v SET b = :v", 'The "SET" section can only be used once in an update expression;'),
        ("REMOVE a REMOVE b", 'The "REMOVE" section can only be used once in an update expression;'),
        (
            "SET a = :v, a.b = :v",
            "Two document paths overlap with each other; must remove or rewrite "
            "one of these paths; path one: [a], path two: [a, b]",
        ),
        (
            "SET a = :v REMOVE a",
            "Two document paths overlap with each other; must remove or rewrite "
            "one of these paths; path one: [a], path two: [a]",
        ),
        (
            "SET a.b = :v REMOVE a[0]",
            "Two document paths conflict with each other; must remove or "
            "rewrite one of these paths; path one: [a, b], path two: [a, [0]]",
        ),
        ("SET a = size(b)", "Invalid function name; function: size"),
        (
            "SET a = if_not_exists(:v, :v)",
            "Operator or function requires a document path; operator or function: if_not_exists",
        ),
        (
            "SET a = list_append(:v)",
            "Incorrect number of operands for operator or function; "
            "operator or function: list_append, number of operands: 1",
        ),
        (
            "SET a = :v + :n",
            "Incorrect operand type for operator or function; operator or function: +, operand type: S",
        ),
        (
            "SET a = list_append(b, :v)",
            "Incorrect operand type for operator or function; operator or "
            "function: list_append, operand type: S",
        ),
        ("ADD a :v", "Incorrect operand type for operator or function; operator: ADD, operand type: STRING"),
        (
            "DELETE a :n",
            "Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER",
        ),
        (
            "SET #s = :v",
            "An expression attribute name used in the document path is not defined; attribute name: #s",
        ),
        (
            "SET a = :zz",
            "An expression attribute value used in expression is not defined; attribute value: :zz",
        ),
        ("SET status = :v", "Attribute name is a reserved keyword; reserved keyword: status"),
    ],
)
def test_update_validation_errors(text, message):
    v = {":v": S("v"), ":n": N("1")}
    assert err(update, text, {}, None, v) == f"Invalid UpdateExpression: {message}"


def test_update_alias_overlap_uses_resolved_names():
    msg = err(update, "SET #a = :v, a.b = :v", {}, {"#a": "a"}, {":v": S("v")})
    assert msg.endswith("path one: [a], path two: [a, b]")


def test_update_key_attributes():
    assert (
        err(update, "SET pk = :v", {}, None, {":v": S("v")}, keys=("pk", "sk"))
        == "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key"
    )
    assert (
        err(update, "REMOVE #k", {}, {"#k": "sk"}, None, keys=("pk", "sk"))
        == "One or more parameter values were invalid: Cannot update attribute sk. This attribute is part of the key"
    )
    assert update("SET a = :v", {"pk": S("k")}, None, {":v": S("v")}, keys=("pk",)) == {
        "pk": S("k"),
        "a": S("v"),
    }


def test_update_paths_for_return_values():
    u = compile_update(parse_update("SET a.b = :v, c = :v REMOVE d"), None, {":v": S("v")})
    assert u.paths == (("a", "b"), ("c",), ("d",))
    assert u.attributes == {"a", "c", "d"}
    new = u.apply({"a": {"M": {"b": S("x"), "q": S("y")}}, "d": N("1")})
    assert project(new, u.paths) == {"a": {"M": {"b": S("v")}}, "c": S("v")}


# -- projection ---------------------------------------------------------------------------
def proj(text, item, names=None):
    return compile_projection(parse_projection(text), names).apply(item)


def test_projection_top_level():
    assert proj("pk, n, nope", ITEM) == {"pk": S("k"), "n": N("10")}
    assert proj("#s", ITEM, {"#s": "status"}) == {"status": S("open")}


def test_projection_nested():
    assert proj("m.a.b", ITEM) == {"m": {"M": {"a": {"M": {"b": S("deep")}}}}}
    assert proj("m.a.b, m.c, pk", ITEM) == {
        "m": {"M": {"a": {"M": {"b": S("deep")}}, "c": N("-1")}},
        "pk": S("k"),
    }
    assert proj("l[2].x, l[0]", ITEM) == {"l": {"L": [N("1"), {"M": {"x": N("3")}}]}}
    assert proj("l[2], l[1]", ITEM) == {"l": {"L": [S("two"), {"M": {"x": N("3")}}]}}
    assert proj("l[7], m.nope, s.x", ITEM) == {}
    assert proj("s[0], n.x", ITEM) == {}


def test_projection_errors():
    assert err(proj, "a, a.b", ITEM) == (
        "Invalid ProjectionExpression: Two document paths overlap with each other; must remove "
        "or rewrite one of these paths; path one: [a], path two: [a, b]"
    )
    assert err(proj, "a.b, a[0]", ITEM) == (
        "Invalid ProjectionExpression: Two document paths conflict with each other; must remove "
        "or rewrite one of these paths; path one: [a, b], path two: [a, [0]]"
    )
    assert (
        err(proj, "name", ITEM)
        == "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: name"
    )
    assert err(proj, "#x", ITEM) == (
        "Invalid ProjectionExpression: An expression attribute name "
        "used in the document path is not defined; attribute name: #x"
    )
    assert "Syntax error" in err(proj, "size(a)", ITEM)


# -- request-level attribute checks -------------------------------------------------------
def test_unused_and_undefined_across_expressions():
    c = parse_condition("#a = :v")
    u = parse_update("SET b = :w")
    p = parse_projection("#p")
    check_expression_attributes([u, c, None, p], {"#a": "a", "#p": "p"}, {":v": S("x"), ":w": S("y")})
    assert (
        err(
            check_expression_attributes,
            [u, c, p],
            {"#a": "a", "#p": "p", "#q": "q", "#r": "r"},
            {":v": S("x"), ":w": S("y")},
        )
        == "Value provided in ExpressionAttributeNames unused in expressions: keys: {#q, #r}"
    )
    assert (
        err(
            check_expression_attributes,
            [u, c, p],
            {"#a": "a", "#p": "p"},
            {":v": S("x"), ":w": S("y"), ":z": S("z")},
        )
        == "Value provided in ExpressionAttributeValues unused in expressions: keys: {:z}"
    )
    assert err(check_expression_attributes, [u, c, p], {"#a": "a"}, {":v": S("x"), ":w": S("y")}) == (
        "Invalid ProjectionExpression: An expression attribute name used in the document path is "
        "not defined; attribute name: #p"
    )
    assert err(check_expression_attributes, [u, c, p], {"#a": "a", "#p": "p"}, {":v": S("x")}) == (
        "Invalid UpdateExpression: An expression attribute value used in expression is not "
        "defined; attribute value: :w"
    )


def test_attribute_map_shapes():
    check_attribute_maps(None, None)
    check_attribute_maps({"#a_1": "a"}, {":v0": S("x")})
    assert err(check_attribute_maps, {}, None) == "ExpressionAttributeNames must not be empty"
    assert err(check_attribute_maps, None, {}) == "ExpressionAttributeValues must not be empty"
    assert (
        err(check_attribute_maps, {"a": "a"}, None)
        == 'ExpressionAttributeNames contains invalid key: Syntax error; key: "a"'
    )
    assert (
        err(check_attribute_maps, None, {"v": S("x")})
        == 'ExpressionAttributeValues contains invalid key: Syntax error; key: "v"'
    )


# -- properties ---------------------------------------------------------------------------
# Random token soup: whatever the text, only ValidationException escapes, and what compiles
# gives a well-formed answer. Results are checked against a model in test_expression_model.py.
SOUP = st.lists(
    st.sampled_from(
        [
            "a",
            "b",
            "#n",
            ":v",
            ":w",
            "status",
            "size",
            "(",
            ")",
            "[",
            "]",
            "0",
            "12",
            ",",
            ".",
            "=",
            "<>",
            "<",
            "<=",
            ">",
            ">=",
            "+",
            "-",
            "AND",
            "or",
            "NOT",
            "BETWEEN",
            "IN",
            "SET",
            "REMOVE",
            "ADD",
            "DELETE",
            "attribute_exists",
            "attribute_type",
            "begins_with",
            "contains",
            "if_not_exists",
            "list_append",
            "!",
            "_",
            "é",
            " ",
            "#",
            ":",
        ]
    ),
    max_size=25,
).map(" ".join)
NAMES = {"#n": "m"}
VALUES = {":v": N("1"), ":w": {"SS": ["x"]}}
SAMPLE = {"a": N("1"), "b": {"L": [S("x")]}, "m": {"M": {"a": S("y")}}}


@settings(max_examples=400, deadline=None)
@given(SOUP)
def test_condition_soup_only_raises_validation(text):
    for label in ("ConditionExpression", "KeyConditionExpression"):
        try:
            parsed = parse_condition(text, label)
            if label == "KeyConditionExpression":
                assert compile_key_condition(parsed, NAMES, VALUES, HR).partition
            else:
                assert type(compile_condition(parsed, NAMES, VALUES)(SAMPLE)) is bool
        except ValidationException:
            pass


@settings(max_examples=400, deadline=None)
@given(SOUP)
def test_update_and_projection_soup_only_raises_validation(text):
    try:
        new = compile_update(parse_update(text), NAMES, VALUES, ("pk",)).apply(SAMPLE)
        assert new is not SAMPLE and type(new) is dict  # a new item; the old one is untouched
    except ValidationException:
        pass
    assert {"a": N("1"), "b": {"L": [S("x")]}, "m": {"M": {"a": S("y")}}} == SAMPLE
    try:
        projected = compile_projection(parse_projection(text), NAMES).apply(SAMPLE)
        assert set(projected) <= set(SAMPLE)  # a projection only keeps what the item has
    except ValidationException:
        pass


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_arbitrary_text_only_raises_validation(text):
    for parse in (parse_condition, parse_update, parse_projection):
        try:
            parse(text)
        except ValidationException:
            pass


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=6), max_size=5, unique=True))
def test_remove_list_indexes_matches_model(indexes):
    values = [N(str(i)) for i in range(5)]
    expr = "REMOVE " + ", ".join(f"l[{i}]" for i in indexes) if indexes else None
    if expr is None:
        return
    new = update(expr, {"l": {"L": list(values)}})
    assert new["l"]["L"] == [v for i, v in enumerate(values) if i not in indexes]
