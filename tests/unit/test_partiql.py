"""PartiQL tokenizer and parser: statement shapes, literals, parameters and DynamoDB's messages."""

from __future__ import annotations

import pytest

from tidestream.dynamodb.expressions import ast as A
from tidestream.dynamodb.partiql import Delete, Exists, Insert, Select, Update, parse
from tidestream.dynamodb.partiql.lexer import tokenize
from tidestream.errors import ValidationException

NWF = "Statement wasn't well formed, can't be processed: "


def msg(text: str, params=None) -> str:
    with pytest.raises(ValidationException) as e:
        parse(text, params)
    return e.value.message


def test_tokens_quotes_comments_and_positions():
    toks = tokenize("SELECT \"a\"\"b\" -- note\n/* x */ FROM 'it''s' WHERE n = .5e1")
    kinds = [(t.kind, t.text) for t in toks]
    assert kinds[:4] == [("name", "SELECT"), ("qname", 'a"b'), ("name", "FROM"), ("string", "it's")]
    assert ("number", ".5e1") in kinds
    frm = toks[2]
    assert (frm.line, frm.column, frm.length) == (2, 9, 4)


@pytest.mark.parametrize(
    "bad",
    [
        "SELECT * FROM t WHERE pk = 1 # c",
        "SELECT * FROM t /* open",
        "SELECT * FROM t WHERE a = 'open",
        "SELECT * FROM t WHERE a = `1`",
    ],
)
def test_unreadable_input_has_nothing_after_the_colon(bad):
    assert msg(bad) == NWF


def test_select_star_where_and_index():
    s = parse('SELECT * FROM "tbl"."idx" WHERE pk = 1 AND begins_with(sk, \'a\')')
    assert isinstance(s, Select) and s.table == "tbl" and s.index == "idx" and s.projection is None
    assert type(s.where) is A.And
    assert s.values == {":v0": {"N": "1"}, ":v1": {"S": "a"}}


def test_projection_names_and_nested_paths():
    s = parse('SELECT a, m.k[1], l[0], "x y" FROM tbl')
    assert [(p, n) for p, n in s.projection] == [
        (("a",), "a"),
        (("m", "k", 1), "k[1]"),
        (("l", 0), "l[0]"),
        (("x y",), "x y"),
    ]
    assert msg("SELECT m.z, n.z FROM tbl") == "Duplicate identifiers in select clause: z"
    assert (
        msg("SELECT *, a FROM tbl")
        == "Other attributes should not be present in the projection when '*' is used."
    )
    assert msg("SELECT size(a) FROM tbl") == "Unexpected path component at 1:8:4"


def test_operators_and_functions():
    s = parse(
        "SELECT * FROM tbl WHERE a <> 1 OR NOT b BETWEEN 1 AND 5 OR c IN [1, 2] "
        "OR d IS MISSING OR e IS NOT MISSING OR f IS NULL OR size(g) > 2 "
        "OR contains(h, 'x') OR attribute_type(i, 'S') OR j NOT IN (1)"
    )
    text = repr(s.where)
    for piece in (
        "'<>'",
        "Between",
        "In(",
        "attribute_not_exists",
        "Not(operand=Call(name='attribute_not_exists'",
        "'attribute_type'",
        "'size'",
        "'contains'",
    ):
        assert piece in text
    assert s.values[":v5"] == {"S": "NULL"}  # IS NULL tests the NULL type


def test_literals_of_every_type():
    s = parse(
        "INSERT INTO tbl VALUE {'pk': 'a', 'n': -1.50e1, 'b': true, 'z': null, "
        "'l': [1, 'x', [false]], 'm': {'k': {'kk': 1}}, 'ss': <<'a', 'b'>>, 'ns': <<1, 2>>}"
    )
    assert isinstance(s, Insert)
    assert s.item == {
        "pk": {"S": "a"},
        "n": {"N": "-15"},
        "b": {"BOOL": True},
        "z": {"NULL": True},
        "l": {"L": [{"N": "1"}, {"S": "x"}, {"L": [{"BOOL": False}]}]},
        "m": {"M": {"k": {"M": {"kk": {"N": "1"}}}}},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2"]},
    }


def test_bag_rules():
    assert msg("INSERT INTO tbl VALUE {'pk': 'a', 's': <<>>}") == "Empty bags are not supported"
    assert msg("INSERT INTO tbl VALUE {'pk': 'a', 's': <<1, 'a'>>}").startswith(
        "Unsupported data type in Bag"
    )
    assert (
        msg("INSERT INTO tbl VALUE {'pk': 'a', 's': <<'x', 'x'>>}")
        == "One or more parameter values were invalid: Input collection [x, x] contains duplicates."
    )


def test_number_messages_name_the_path_inside_the_value():
    over = "Number overflow. Attempting to store a number with magnitude larger than supported range"
    assert msg("SELECT * FROM tbl WHERE pk = 1e126") == over + " under root"
    assert msg("INSERT INTO tbl VALUE {'pk': 1, 'm': {'x': 1e126}}") == over + " under root.x"
    assert msg("INSERT INTO tbl VALUE {'pk': 1, 'l': [1, 1e126]}") == over + " under root[1]"
    assert msg("SELECT * FROM tbl WHERE pk = 1e99999999999") == NWF


def test_parameters_bind_in_order_and_must_be_enough():
    s = parse("SELECT * FROM tbl WHERE pk = ? AND sk > ?", [{"S": "a"}, {"N": "2"}])
    assert s.values == {":v0": {"S": "a"}, ":v1": {"N": "2"}}
    s = parse("INSERT INTO tbl VALUE {'pk': ?, 'm': ?}", [{"S": "a"}, {"L": []}])
    assert s.item == {"pk": {"S": "a"}, "m": {"L": []}}
    # inside a map written in the statement, DynamoDB refuses a parameter (Floci's
    # refusesAParameterInsideACollectionLiteral, captured from DynamoDB, eu-west-2, 2026-09-17)
    assert msg("INSERT INTO tbl VALUE {'pk': 'a', 'm': {'x': ?}}", [{"L": []}]) == (
        "Unsupported data type: Parameter under key root.x at 1:46:1"
    )
    assert (
        msg("SELECT * FROM tbl WHERE pk = ?") == "Number of parameters in request and statement don't match."
    )


def test_update_actions():
    s = parse(
        "UPDATE tbl SET a = a + 1, b = list_append(b, [1]) SET c.d[0] = 'x' "
        "SET ss = set_add(ss, <<'q'>>) SET ns = set_delete(ns, <<1>>) REMOVE e "
        "WHERE pk = 'k' RETURNING MODIFIED NEW *"
    )
    assert isinstance(s, Update) and s.returning == "UPDATED_NEW"
    t = s.update
    assert len(t.sets) == 3 and len(t.removes) == 1 and len(t.adds) == 1 and len(t.deletes) == 1
    assert t.sets[2].path.elements == ("c", "d", 0)
    assert type(t.sets[0].value) is A.Arith


def test_set_function_messages():
    st = "UPDATE tbl SET t = set_add(ss, <<'x'>>) WHERE pk = 'k'"
    assert msg(st) == "The first argument to SET_ADD must equal the assignment value at 1:20:7"
    st = "UPDATE tbl SET ss = set_add(ss, 'x') WHERE pk = 'k'"
    assert msg(st) == "The second argument to SET_ADD must be a value with type SET at 1:29:2"
    assert msg("UPDATE tbl SET ss = set_add(ss) WHERE pk = 'k'").startswith(
        "SET_ADD must have exactly two arguments"
    )


def test_delete_exists_and_returning():
    d = parse("DELETE FROM tbl WHERE pk = 'a' RETURNING ALL OLD *")
    assert isinstance(d, Delete) and d.returning == "ALL_OLD"
    assert msg("DELETE FROM tbl WHERE pk = 'a' RETURNING ALL NEW *").startswith("Invalid returning clause")
    e = parse("EXISTS(SELECT * FROM tbl WHERE pk = 'a' AND x IS MISSING)")
    assert isinstance(e, Exists) and e.table == "tbl" and e.values == {":v0": {"S": "a"}}


@pytest.mark.parametrize(
    "statement,message",
    [
        ("SELECT * FROM tbl WHERE pk = 1 foo", NWF + "Unexpected token after expression"),
        ("DELETE FROM tbl WHERE pk = 1 ORDER BY pk", NWF + "Unexpected token after expression"),
        ("SELECT * FROM tbl WHERE", NWF + "Unexpected term"),
        ("SELECT * FROM tbl WHERE (", NWF + "Unexpected term"),
        (
            "SELECT * FROM tbl WHERE pk = 'p' AND",
            NWF + "Missing right-hand side expression of infix operator",
        ),
        ("SELECT * FROM tbl WHERE ORDER BY pk", NWF + "Unexpected keyword"),
        ("SELECT * FROM tbl WHERE pk = LIKE", NWF + "Unexpected operator"),
        ("DELETE FROM", NWF + "Expected identifier for simple path"),
        ("SELECT * FROM", NWF + "Unexpected term"),
        ("SELECT * FROM tbl t WHERE pk = 'x'", "Aliasing is not supported"),
        ("UPDATE tbl AS t SET a = 3 WHERE pk = 'x'", "Aliasing is not supported"),
        ("INSERT INTO tbl t VALUE {'pk': 'x'}", NWF + "Unexpected token after expression"),
        ("SELECT * FROM tbl WHERE x IS FOO", NWF + "Expected type name"),
        ("SELECT * FROM tbl WHERE x = MISSING", "MISSING must be compared using IS operator"),
        (
            "SELECT * FROM tbl WHERE attribute_exists('ss')",
            "Operator or function requires a document path; operator or function: attribute_exists",
        ),
        (
            "SELECT * FROM tbl WHERE attribute_exists()",
            "Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 0",
        ),
        ("SELECT * FROM tbl WHERE EXISTS(ss)", "Unrecognized function: exists at 1:25:6"),
        ("SELECT * FROM tbl WHERE attribute_exists(m.inner)", NWF + "Invalid path dot component"),
        ("SELECT * FROM tbl LIMIT 1", "Unsupported clause: LIMIT"),
        ("HELLO", NWF + "Expected data manipulation"),
    ],
)
def test_exact_messages(statement, message):
    assert msg(statement) == message


def test_comments_and_semicolon_are_accepted():
    s = parse("-- lead\nSELECT * FROM tbl /* mid */ WHERE pk = 'a' -- tail\n;")
    assert isinstance(s, Select) and s.where is not None


def test_order_by():
    s = parse("SELECT * FROM tbl WHERE pk = 'a' ORDER BY sk DESC, pk")
    assert s.order_by == [("sk", True), ("pk", False)]


def test_from_first_update_form():
    s = parse("FROM tbl WHERE pk = 'a' SET c = 1")
    assert isinstance(s, Update) and s.where is not None
