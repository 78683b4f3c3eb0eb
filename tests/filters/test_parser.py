from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.framework.core.errors import ConfigError, FilterSyntaxError
from collector.framework.filters import (
    And,
    Compare,
    Field,
    Node,
    Not,
    Or,
    compile_filter,
    parse,
    unparse,
)


def test_precedence_not_and_or() -> None:
    tree = parse("pid = 1 or not pid = 2 and comm = 'x'")
    assert tree == Or(
        (
            Compare(Field("pid"), "=", 1),
            And((Not(Compare(Field("pid"), "=", 2)), Compare(Field("comm"), "=", "x"))),
        )
    )


def test_parentheses_and_aliases() -> None:
    assert parse("(pid = 1 || pid = 2) && !comm") == And(
        (Or((Compare(Field("pid"), "=", 1), Compare(Field("pid"), "=", 2))), Not(Field("comm")))
    )
    assert parse("pid == 1") == parse("pid = 1")
    assert parse("PID = 1 AND comm = 'a'") != parse(
        "pid = 1 and comm = 'a'"
    )  # fields are case-sensitive
    assert parse("pid = 1 AND comm = 'a'") == parse("pid = 1 and comm = 'a'")


def test_in_lists() -> None:
    assert parse('comm in ("curl", "python3",)') == Compare(
        Field("comm"), "in", ("curl", "python3")
    )
    assert parse("pid not in (1, 2)") == Not(Compare(Field("pid"), "in", (1, 2)))
    assert parse("tls.truncated = true") == Compare(Field("tls.truncated"), "=", True)


def test_examples_from_the_issue_compile() -> None:
    for expr in (
        'http.request.method = "POST" and http.response.status >= 400',
        r'tls.data ~ "^PRI \\*"',
        'process.comm in ("curl","python3") and not file.path ^= "/proc/"',
        'http.request.header.x-api-key *= "sk-"',
        'llm.model $= "-mini" or llm.provider = "anthropic"',
    ):
        compile_filter(expr)


@pytest.mark.parametrize(
    ("expr", "column", "expected"),
    [
        ("", 1, "expected a filter expression"),
        ("pid =", 6, "expected a value"),
        ("pid 3", 5, "expected an operator"),
        ("(pid = 1", 9, "expected ')' to close the '(' at column 1"),
        ("pid = 1)", 8, "unbalanced ')'"),
        ("pid = 1 and", 12, "expected a field name"),
        ("= 3", 1, "expected a field name"),
        ("comm in 'a'", 9, "expected '(' to start the list"),
        ("comm in ('a' 'b')", 14, "expected ',' or ')'"),
        ("nosuch = 1", 1, "unknown field 'nosuch'"),
        ("procss.comm = 'x'", 1, "did you mean process.comm"),
        ("pid = 'x'", 7, "expected a number"),
        ("comm = 3", 8, 'expected a "string"'),
        ("pid ~ 'x'", 7, "expected a string field"),
        ("comm ~ '('", 8, "valid regular expression"),
        ("kind = 'htp'", 8, "expected an event kind"),
        ("process.core_dumped > true", 23, "expected = or !="),
        ("comm ^= 1", 9, "expected a string after '^='"),
    ],
)
def test_errors_have_column_and_expectation(expr: str, column: int, expected: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        compile_filter(expr)
    err = info.value
    assert isinstance(err, ConfigError)
    assert err.column == column, str(err)
    assert expected in str(err)
    # the message shows the expression and a caret under the column
    lines = str(err).splitlines()
    assert lines[1].strip() == expr.strip() or expr == ""
    assert lines[2].index("^") - 2 == column - 1


# -- round trips -------------------------------------------------------------------------------

_fields = st.sampled_from(["pid", "comm", "tls.data", "http.response.status", "llm.model"])
_literals = st.one_of(
    st.text(max_size=12),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.booleans(),
)
_ops = st.sampled_from(["=", "!=", "<", "<=", ">", ">=", "~", "^=", "$=", "*="])


def _leaf() -> st.SearchStrategy[Node]:
    return st.one_of(
        st.builds(Field, _fields),
        st.builds(Compare, st.builds(Field, _fields), _ops, _literals),
        st.builds(
            Compare,
            st.builds(Field, _fields),
            st.just("in"),
            st.lists(_literals, min_size=1, max_size=3).map(tuple),
        ),
    )


_trees = st.recursive(
    _leaf(),
    lambda children: st.one_of(
        st.builds(Not, children),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
    ),
    max_leaves=8,
)


def _flatten(node: Node) -> Node:
    """And inside And / Or inside Or parse back flat; normalise for comparison."""
    if isinstance(node, Not):
        return Not(_flatten(node.operand))
    if isinstance(node, (And, Or)):
        kind = type(node)
        out: list[Node] = []
        for o in node.operands:
            o = _flatten(o)
            out.extend(o.operands if isinstance(o, kind) else (o,))
        return kind(tuple(out))
    return node


@settings(max_examples=300)
@given(_trees)
def test_unparse_parse_round_trip(tree: Node) -> None:
    text = unparse(tree)
    assert parse(text) == _flatten(tree)
    assert unparse(parse(text)) == text
