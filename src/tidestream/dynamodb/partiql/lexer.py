"""PartiQL tokens: names, quoted names, string and number literals, punctuation, ``?``.

Comments (``-- line`` and ``/* block */``) are whitespace. Anything the lexer cannot read (a ``#``
comment, an unterminated string or comment, an Ion backtick literal) is reported the way
DynamoDB reports it: the "wasn't well formed" envelope with nothing after the colon.
Every token remembers its line, column (both from 1) and length, for messages that say
``at <line>:<column>:<length>``.

One compiled regular expression reads a whole token per step (like the expression tokenizer in
``dynamodb/expressions/tokens.py``), so an 8 KB statement costs one regex match per token rather
than several Python-level tests per character. Character classes follow Python's ``str``
predicates exactly: ``\\s`` is ``isspace``, ``\\w`` is ``isalnum`` or ``_``; digits and letters
(``isdigit``/``isalpha``, which ``re`` cannot express) are ASCII ranges plus, for a statement that
holds other characters, exactly those of its characters that qualify.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import NamedTuple

from .errors import not_well_formed

# kinds
NAME = "name"  # bare identifier or keyword (``text`` keeps the spelling)
QNAME = "qname"  # "double quoted" identifier
STRING = "string"  # 'single quoted' literal
NUMBER = "number"
PARAM = "?"
PUNCT = "punct"  # operators and brackets; ``text`` is the symbol
EOF = "eof"

# Alternatives in the order the characters are tried; longer punctuation before its prefixes.
_TEMPLATE = r"""
 (?P<newline>\n)
|(?P<space>[^\S\n]+)
|(?P<line_comment>--[^\n]*)
|(?P<block_comment>/\*(?:.*?\*/)?)
|(?P<string>'(?:[^']|'')*+')
|(?P<qname>"(?:[^"]|"")*+")
|(?P<number>(?=DIGIT|\.DIGIT)DIGIT*(?:\.(?!\.)DIGIT*)?(?:[eE][+-]?DIGIT+)?)
|(?P<name>(?:ALPHA|[_$])[\w$]*)
|(?P<param>\?)
|(?P<punct><<|>>|<>|!=|<=|>=|\|\||[=<>()\[\]{},.:;*+\-/%])
|(?P<unreadable>.)
"""
_new_token = tuple.__new__  # skips NamedTuple's Python-level __new__: a third of the cost per token
_TOKEN_KINDS = {
    "string": STRING,
    "qname": QNAME,
    "number": NUMBER,
    "name": NAME,
    "param": PARAM,
    "punct": PUNCT,
}


class Token(NamedTuple):
    """A token and where it starts; a tuple because a statement of 8 KB can hold 8 K of them."""

    kind: str
    text: str
    line: int
    column: int
    length: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == NAME else ""

    def at(self) -> str:
        return f"at {self.line}:{self.column}:{self.length}"


@lru_cache(maxsize=64)
def _patterns(digits: str = "", letters: str = "") -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The token pattern whose digit and letter classes also hold ``digits`` / ``letters``, and
    its checker: a pattern that matches a whole statement exactly when every character of it
    can be read (no unterminated quote or comment, nothing unreadable)."""
    classes = _TEMPLATE.replace("DIGIT", "[0-9" + re.escape(digits) + "]").replace(
        "ALPHA", "[A-Za-z" + re.escape(letters) + "]"
    )
    strict = (
        classes.replace("|(?P<unreadable>.)\n", "")
        .replace(r"/\*(?:.*?\*/)?", r"/\*.*?\*/")
        .replace(r"*+\-/%]", r"*+\-%]|/(?!\*)")
    )
    strict = re.sub(r"\(\?P<\w+>", "(?:", strict)  # (3.11's re rejects groups in possessive repeats)
    return re.compile(classes, re.X | re.S), re.compile("(?:" + strict + ")*+", re.X | re.S)


def _patterns_for(src: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    if src.isascii():
        return _patterns()
    extra = sorted(set(c for c in src if not c.isascii()))
    return _patterns("".join(c for c in extra if c.isdigit()), "".join(c for c in extra if c.isalpha()))


def tokenize(src: str) -> list[Token]:
    """Split a statement into tokens, always ending with one EOF token."""
    return list(_scan(src, _patterns_for(src)[0]))


class TokenStream:
    """A statement's tokens, read as the parser asks for them; past the end, the EOF token.

    The constructor checks the whole statement in one regex pass (no Python per token), so a
    lexical error is still reported before any parse error, as if every token had been read up
    front; a statement the parser rejects early (``'?' * 8192``) then costs only the tokens it
    looked at instead of ~8 K Token objects."""

    __slots__ = ("_tokens", "_scan")

    def __init__(self, src: str) -> None:
        scanner, checker = _patterns_for(src)
        if checker.fullmatch(src) is None:
            raise not_well_formed("")
        self._tokens: list[Token] = []
        self._scan = _scan(src, scanner)

    def __getitem__(self, index: int) -> Token:
        tokens = self._tokens
        while len(tokens) <= index:
            if tokens and tokens[-1].kind == EOF:
                return tokens[-1]
            tokens.append(next(self._scan))
        return tokens[index]


def _scan(src: str, scanner: re.Pattern[str]) -> Iterator[Token]:
    line, line_start = 1, 0
    for m in scanner.finditer(src):
        kind, start = m.lastgroup, m.start()
        token_kind = _TOKEN_KINDS.get(kind)  # type: ignore[arg-type]
        if token_kind is not None:
            text = m.group()
            if token_kind is STRING or token_kind is QNAME:  # a doubled quote stands for one
                text = text[1:-1].replace(text[0] * 2, text[0])
            yield _new_token(Token, (token_kind, text, line, start - line_start + 1, m.end() - start))
        elif kind == "newline":
            line, line_start = line + 1, start + 1
        elif kind == "block_comment":
            comment = m.group()
            if len(comment) < 4:
                raise not_well_formed("")  # unterminated
            newlines = comment.count("\n")
            if newlines:
                line, line_start = line + newlines, start + comment.rindex("\n") + 1
        elif kind == "unreadable":
            raise not_well_formed("")  # '#', '`' (Ion literals), unterminated quotes, anything unknown
    yield Token(EOF, "<EOF>", line, len(src) - line_start + 1, 0)
