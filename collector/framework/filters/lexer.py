"""Tokenizer of the filter language: identifiers, literals, operators, with their columns."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ..core.errors import FilterSyntaxError

TokenKind = Literal["ident", "string", "number", "op", "lparen", "rparen", "comma", "end"]

# Longest first: the tokenizer tries these in order.
OPERATORS = ("==", "!=", "<=", ">=", "^=", "$=", "*=", "&&", "||", "=", "<", ">", "~", "!")

_ESCAPES = {
    "\\": "\\",
    '"': '"',
    "'": "'",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "e": "\x1b",
}
_IDENT_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_IDENT_CHARS = _IDENT_START | frozenset("0123456789-.")
_DIGITS = frozenset("0123456789")
_NUMBER = re.compile(
    r"[+-]?(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?)"
)


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str  # the source text of the token
    value: str | int | float | None  # decoded value of a literal
    column: int  # 1-based column of the first character


def error(message: str, expression: str, column: int) -> FilterSyntaxError:
    """A FilterSyntaxError whose message shows the expression and a caret under `column`."""
    caret = " " * (column - 1) + "^"
    text = f"bad filter expression at column {column}: {message}\n  {expression}\n  {caret}"
    return FilterSyntaxError(text, expression=expression, column=column)


def tokenize(expr: str) -> list[Token]:
    """Split `expr` into tokens; the list always ends with an `end` token."""
    tokens: list[Token] = []
    i = 0
    n = len(expr)
    while i < n:
        ch = expr[i]
        col = i + 1
        if ch.isspace():
            i += 1
            continue
        if ch in _IDENT_START:
            j = i + 1
            while j < n and expr[j] in _IDENT_CHARS:
                j += 1
            text = expr[i:j]
            if text.endswith((".", "-")):
                raise error(f"a field name cannot end with {text[-1]!r}", expr, j)
            tokens.append(Token("ident", text, text, col))
            i = j
            continue
        if ch in ('"', "'"):
            value, j = _string(expr, i)
            tokens.append(Token("string", expr[i:j], value, col))
            i = j
            continue
        if ch in _DIGITS or (ch in "-+" and i + 1 < n and expr[i + 1] in _DIGITS):
            m = _NUMBER.match(expr, i)
            assert m is not None
            j = m.end()
            if j < n and expr[j] in _IDENT_CHARS:
                raise error(f"bad number {expr[i : j + 1]!r}", expr, col)
            text = expr[i:j]
            tokens.append(Token("number", text, _number(text, expr, col), col))
            i = j
            continue
        if ch == "(":
            tokens.append(Token("lparen", ch, None, col))
            i += 1
            continue
        if ch == ")":
            tokens.append(Token("rparen", ch, None, col))
            i += 1
            continue
        if ch == ",":
            tokens.append(Token("comma", ch, None, col))
            i += 1
            continue
        for op in OPERATORS:
            if expr.startswith(op, i):
                tokens.append(Token("op", op, op, col))
                i += len(op)
                break
        else:
            raise error(f"unexpected character {ch!r}", expr, col)
    tokens.append(Token("end", "", None, n + 1))
    return tokens


def _string(expr: str, start: int) -> tuple[str, int]:
    quote = expr[start]
    out: list[str] = []
    i = start + 1
    n = len(expr)
    while i < n:
        ch = expr[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\\":
            if i + 1 >= n:
                break
            nxt = expr[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            width = {"x": 2, "u": 4, "U": 8}.get(nxt)
            if width is not None:
                digits = expr[i + 2 : i + 2 + width]
                if len(digits) != width or any(c not in "0123456789abcdefABCDEF" for c in digits):
                    raise error(f"expected {width} hex digits after \\{nxt}", expr, i + 1)
                code = int(digits, 16)
                if code > 0x10FFFF:
                    raise error("code point out of range", expr, i + 1)
                out.append(chr(code))
                i += 2 + width
                continue
            # Unknown escapes keep the backslash, so regexes like "\d" and "\*" read naturally.
            out.append("\\" + nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    raise error(f"unterminated string (expected a closing {quote})", expr, start + 1)


def _number(text: str, expr: str, column: int) -> int | float:
    try:
        return int(text, 0)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise error(f"bad number {text!r}", expr, column) from None


def quote(value: str) -> str:
    """A double-quoted literal that tokenizes back to exactly `value`."""
    out = ['"']
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F or 0xD800 <= ord(ch) <= 0xDFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)
