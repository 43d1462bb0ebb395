"""The regex PartiQL lexer against the old character-by-character lexer (the reference model):
same tokens, same positions, and an error exactly where the reference raises one -- both for
``tokenize`` and for the on-demand ``TokenStream`` the parser reads."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidestream.dynamodb.partiql.lexer import TokenStream, tokenize
from tidestream.errors import ValidationException

from . import partiql_lexer_reference as reference

# Fragments that exercise every branch of the reference: comments, quotes and doubled quotes,
# numbers with fractions and exponents, names with $ and _, punctuation, newlines, odd characters.
FRAGMENTS = [
    "SELECT",
    " ",
    "\n",
    "\t",
    "\r\n",
    "--",
    "/*",
    "*/",
    "'",
    "''",
    '"',
    '""',
    "1",
    "23",
    ".",
    "..",
    "e",
    "E+",
    "-",
    "+",
    "5",
    "?",
    "a",
    "_x",
    "$y",
    "<<",
    ">>",
    "<>",
    "!=",
    "<=",
    ">=",
    "||",
    "=",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    ";",
    "*",
    "/",
    "%",
    "#",
    "`",
    "é",
    "²",
    "½",
    "٣",
    "\u2028",
    "\xa0",
    "\x1c",
    "ß",
]


def _outcome(lex, text: str):
    try:
        result = lex(text)
    except ValidationException as e:
        return ("error", str(e))
    if isinstance(result, TokenStream):
        return "constructed"
    return [
        tuple(t) if isinstance(t, tuple) else (t.kind, t.text, t.line, t.column, t.length) for t in result
    ]


def _stream_all(text: str) -> list:
    """Every token of a TokenStream, up to and including EOF."""
    stream = TokenStream(text)
    tokens = [stream[0]]
    while tokens[-1].kind != "eof":
        tokens.append(stream[len(tokens)])
    assert stream[len(tokens) + 5] == tokens[-1]  # past the end: EOF again
    return tokens


def _same(text: str) -> None:
    expected = _outcome(reference.tokenize, text)
    assert _outcome(tokenize, text) == expected, text
    assert _outcome(_stream_all, text) == expected, text
    # the one-pass check alone must refuse exactly what the reference refuses
    assert _outcome(TokenStream, text) == (expected if expected[0] == "error" else "constructed"), text


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join))
def test_fragments_tokenize_like_the_reference(text: str) -> None:
    _same(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_text_tokenizes_like_the_reference(text: str) -> None:
    _same(text)


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * FROM \"t\" WHERE a = 'x''y' AND b >= 1.5e3 -- c\n /* \n\n */ ?",
        "1..2",
        "1.",
        ".5",
        "1e",
        "1e+",
        "1e+5x",
        "/*/",
        "/**/",
        "'''",
        "''''",
        '"a""b"',
        "a\n\n  b",
        "'multi\nline' x",
        "/* a\n b */ c",
        "?" * 100,
        "'" + "x" * 1000,
        "x -- no newline",
    ],
)
def test_edge_cases_tokenize_like_the_reference(text: str) -> None:
    _same(text)


def test_tokens_keep_their_kind_text_and_position() -> None:
    """A fixed answer, so the test does not only prove that two lexers agree."""
    tokens = tokenize("a\n  'it''s' 1.5e3")
    assert [(t.kind, t.text, t.line, t.column, t.length) for t in tokens] == [
        ("name", "a", 1, 1, 1),
        ("string", "it's", 2, 3, 7),
        ("number", "1.5e3", 2, 11, 5),
        ("eof", "<EOF>", 2, 16, 0),
    ]


def test_a_stream_reads_only_what_the_parser_asks_for() -> None:
    """The point of TokenStream: '?' * 8192 (the longest statement) is checked in one pass, and
    only the tokens looked at become Token objects."""
    stream = TokenStream("?" * 8192)
    assert stream[1] == ("?", "?", 1, 2, 1)
    assert len(stream._tokens) == 2


def test_a_stream_reports_a_lexical_error_before_any_token_is_read() -> None:
    with pytest.raises(ValidationException) as info:
        TokenStream("SELECT * FROM t WHERE a = 'unterminated")
    assert info.value.message == reference_error("'unterminated")


def reference_error(text: str) -> str:
    with pytest.raises(ValidationException) as info:
        reference.tokenize(text)
    return info.value.message
