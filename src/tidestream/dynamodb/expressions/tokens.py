"""Tokenizer shared by every DynamoDB expression language.

All five expression kinds use one lexical grammar; the parser decides which identifiers are
keywords. Unknown characters become single-character ``other`` tokens instead of failing here,
so the parser can report DynamoDB's ``Syntax error; token: "<tok>", near: "<context>"``
with the offending character as the token.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ...errors import ValidationException

# Kinds
NAME = "name"  # identifier: letter followed by letters, digits, underscores
ATTR_NAME = "attr_name"  # #placeholder
ATTR_VALUE = "attr_value"  # :placeholder
NUMBER = "number"  # unsigned integer (list index)
OP = "op"  # punctuation / comparator
OTHER = "other"  # anything DynamoDB's lexer would not accept
EOF = "eof"

_TOKEN_RE = re.compile(
    r"[ \t\r\n]*(?:"
    r"(?P<name>[A-Za-z][A-Za-z0-9_]*)"
    r"|(?P<attr_name>\#[A-Za-z0-9_]+)"
    r"|(?P<attr_value>:[A-Za-z0-9_]+)"
    r"|(?P<number>[0-9]+)"
    r"|(?P<op><>|<=|>=|[=<>()\[\],.+\-])"
    r"|(?P<other>.)"
    r")",
    re.S,
)
_TRAILING_WS = re.compile(r"[ \t\r\n]*\Z")


class Token(NamedTuple):
    kind: str
    text: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, always ending with one EOF token."""
    tokens: list[Token] = []
    pos = 0
    n = len(text)
    match = _TOKEN_RE.match
    while pos < n:
        if _TRAILING_WS.match(text, pos):
            break
        m = match(text, pos)
        # the ``other`` alternative matches any character, so a match always exists here
        assert m is not None and m.lastgroup is not None
        kind = m.lastgroup
        start = m.start(kind)
        tokens.append(Token(kind, m.group(kind), start, m.end()))
        pos = m.end()
    tokens.append(Token(EOF, "<EOF>", n, n))
    return tokens


def syntax_error(label: str, text: str, tokens: list[Token], index: int) -> ValidationException:
    """DynamoDB's syntax error: the bad token plus the source from the token before to the one after."""
    tok = tokens[index]
    start = tokens[index - 1].start if index > 0 else tok.start
    if tok.kind == EOF:
        end = tok.end
    elif index + 1 < len(tokens) and tokens[index + 1].kind != EOF:
        end = tokens[index + 1].end
    else:
        end = tok.end
    return ValidationException(
        f'Invalid {label}: Syntax error; token: "{tok.text}", near: "{text[start:end]}"'
    )
