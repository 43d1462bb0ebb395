"""Reference PartiQL lexer: the character-by-character lexer tidestream used before the
regex-based one in ``tidestream/dynamodb/partiql/lexer.py``. Kept only as the model that
``test_partiql_lexer_model.py`` compares the fast lexer against, token for token.

PartiQL tokens: names, quoted names, string and number literals, punctuation, ``?``.

Comments (``-- line`` and ``/* block */``) are whitespace. Anything the lexer cannot read (a ``#``
comment, an unterminated string or comment, an Ion backtick literal) is reported the way
DynamoDB reports it: the "wasn't well formed" envelope with nothing after the colon.
Every token remembers its line, column (both from 1) and length, for messages that say
``at <line>:<column>:<length>``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tidestream.dynamodb.partiql.errors import not_well_formed

# kinds
NAME = "name"  # bare identifier or keyword (``text`` keeps the spelling)
QNAME = "qname"  # "double quoted" identifier
STRING = "string"  # 'single quoted' literal
NUMBER = "number"
PARAM = "?"
PUNCT = "punct"  # operators and brackets; ``text`` is the symbol
EOF = "eof"

_PUNCT = (
    "<<",
    ">>",
    "<>",
    "!=",
    "<=",
    ">=",
    "||",
    "=",
    "<",
    ">",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ".",
    ":",
    ";",
    "*",
    "+",
    "-",
    "/",
    "%",
)


@dataclass(frozen=True, slots=True)
class Token:
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


def tokenize(src: str) -> list[Token]:
    out: list[Token] = []
    i, n = 0, len(src)
    line, line_start = 1, 0

    def tok(kind: str, text: str, start: int, end: int) -> None:
        out.append(Token(kind, text, line, start - line_start + 1, end - start))

    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            line_start = i + 1
            i += 1
            continue
        if c.isspace():
            i += 1
            continue
        if src.startswith("--", i):
            while i < n and src[i] != "\n":
                i += 1
            continue
        if src.startswith("/*", i):
            end = src.find("*/", i + 2)
            if end < 0:
                raise not_well_formed("")
            for j in range(i, end):
                if src[j] == "\n":
                    line += 1
                    line_start = j + 1
            i = end + 2
            continue
        if c == "'" or c == '"':
            j = i + 1
            buf = []
            while True:
                if j >= n:
                    raise not_well_formed("")
                if src[j] == c:
                    if j + 1 < n and src[j + 1] == c:  # doubled quote stands for one
                        buf.append(c)
                        j += 2
                        continue
                    break
                buf.append(src[j])
                j += 1
            tok(STRING if c == "'" else QNAME, "".join(buf), i, j + 1)
            i = j + 1
            continue
        if c.isdigit() or (c == "." and i + 1 < n and src[i + 1].isdigit()):
            j = i
            while j < n and src[j].isdigit():
                j += 1
            if j < n and src[j] == "." and not (j + 1 < n and src[j + 1] == "."):
                j += 1
                while j < n and src[j].isdigit():
                    j += 1
            if j < n and src[j] in "eE":
                k = j + 1
                if k < n and src[k] in "+-":
                    k += 1
                if k < n and src[k].isdigit():
                    while k < n and src[k].isdigit():
                        k += 1
                    j = k
            tok(NUMBER, src[i:j], i, j)
            i = j
            continue
        if c.isalpha() or c == "_" or c == "$":
            j = i + 1
            while j < n and (src[j].isalnum() or src[j] in "_$"):
                j += 1
            tok(NAME, src[i:j], i, j)
            i = j
            continue
        if c == "?":
            tok(PARAM, "?", i, i + 1)
            i += 1
            continue
        for p in _PUNCT:
            if src.startswith(p, i):
                tok(PUNCT, p, i, i + len(p))
                i += len(p)
                break
        else:
            raise not_well_formed("")  # '#', '`' (Ion literals) and anything else unknown
    out.append(Token(EOF, "<EOF>", line, n - line_start + 1, 0))
    return out
