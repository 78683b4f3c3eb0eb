"""Compiles a filter tree into a Python closure `Event -> bool`, type-checking it first."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.events import Event
from .fields import KINDS, FieldSpec, resolve, suggest
from .lexer import error
from .nodes import And, Compare, Field, Literal, Node, Not, Or, unparse
from .parser import parse

Predicate = Callable[[Event], bool]

_STRING_OPS = frozenset({"~", "^=", "$=", "*="})
_ORDER_OPS = frozenset({"<", "<=", ">", ">="})


@dataclass
class Filter:
    """A compiled filter: call it with an Event; `expression` is the source text."""

    expression: str
    tree: Node
    predicate: Predicate = field(repr=False)

    def __call__(self, event: Event) -> bool:
        return self.predicate(event)

    @property
    def canonical(self) -> str:
        return unparse(self.tree)


def compile_filter(expression: str) -> Filter:
    """Parse, check and compile `expression`; raises FilterSyntaxError (with `column`)."""
    tree = parse(expression)
    return Filter(expression, tree, _Compiler(expression).compile(tree))


class _Compiler:
    def __init__(self, expression: str) -> None:
        self.expression = expression

    def compile(self, node: Node) -> Predicate:
        if isinstance(node, And):
            parts = [self.compile(o) for o in node.operands]
            if len(parts) == 2:
                a, b = parts
                return lambda ev: a(ev) and b(ev)
            return lambda ev: all(p(ev) for p in parts)
        if isinstance(node, Or):
            parts = [self.compile(o) for o in node.operands]
            if len(parts) == 2:
                a, b = parts
                return lambda ev: a(ev) or b(ev)
            return lambda ev: any(p(ev) for p in parts)
        if isinstance(node, Not):
            inner = self.compile(node.operand)
            return lambda ev: not inner(ev)
        if isinstance(node, Field):
            get = self._field(node).getter
            return lambda ev: bool(get(ev))
        return self._compare(node)

    def _field(self, node: Field) -> FieldSpec:
        spec = resolve(node.path)
        if spec is None:
            hint = suggest(node.path)
            more = (
                f" (did you mean {' or '.join(hint)}?)"
                if hint
                else " (see docs/FILTERS.md for the field list)"
            )
            raise error(
                f"expected a known field, found unknown field {node.path!r}{more}",
                self.expression,
                node.column,
            )
        return spec

    def _fail(self, message: str, column: int) -> Exception:
        return error(message, self.expression, column)

    def _check_literal(self, spec: FieldSpec, op: str, value: Literal, column: int) -> Any:
        """The literal converted for comparison with this field, or a FilterSyntaxError."""
        t = spec.type
        if op in _STRING_OPS:
            if not isinstance(value, str):
                raise self._fail(f"expected a string after {op!r}", column)
            if t in ("int", "bool"):
                raise self._fail(
                    f"expected a string field before {op!r}, {spec.name} is {t}", column
                )
            if op == "~":
                try:
                    return re.compile(value)
                except re.error as exc:
                    raise self._fail(
                        f"expected a valid regular expression: {exc}", column
                    ) from None
            return value
        if t == "any":
            return value
        if t == "int":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self._fail(f"expected a number to compare with {spec.name}", column)
            return value
        if t == "bool":
            if not isinstance(value, bool):
                raise self._fail(f"expected true or false to compare with {spec.name}", column)
            if op in _ORDER_OPS:
                raise self._fail(f"expected = or != with true/false field {spec.name}", column)
            return value
        if not isinstance(value, str):
            raise self._fail(f'expected a "string" to compare with {spec.name}', column)
        if spec.name == "kind" and value not in KINDS:
            raise self._fail(
                f"expected an event kind ({', '.join(sorted(KINDS))}), found {value!r}", column
            )
        return value

    def _compare(self, node: Compare) -> Predicate:
        spec = self._field(node.field)
        get = spec.getter
        op = node.op
        if op == "in":
            assert isinstance(node.value, tuple)
            values = [self._check_literal(spec, "=", v, node.column) for v in node.value]
            try:
                members: Any = frozenset(values)
            except TypeError:
                members = values
            test: Callable[[Any], bool] = lambda v: v in members  # noqa: E731
        else:
            assert not isinstance(node.value, tuple)
            lit = self._check_literal(spec, op, node.value, node.column)
            test = _operator(op, lit)
        if spec.type == "strlist":
            if op == "!=":
                eq = _operator("=", node.value)
                return lambda ev: (v := get(ev)) is not None and not any(eq(x) for x in v)
            return lambda ev: (v := get(ev)) is not None and any(test(x) for x in v)
        if spec.type == "any":
            return lambda ev: (v := get(ev)) is not None and _safe(test, v)
        return lambda ev: (v := get(ev)) is not None and test(v)


def _safe(test: Callable[[Any], bool], value: Any) -> bool:
    try:
        return test(value)
    except TypeError:
        return False


def _operator(op: str, lit: Any) -> Callable[[Any], bool]:
    if op == "=":
        return lambda v: bool(v == lit)
    if op == "!=":
        return lambda v: bool(v != lit)
    if op == "<":
        return lambda v: bool(v < lit)
    if op == "<=":
        return lambda v: bool(v <= lit)
    if op == ">":
        return lambda v: bool(v > lit)
    if op == ">=":
        return lambda v: bool(v >= lit)
    if op == "~":
        search = lit.search
        return lambda v: isinstance(v, str) and search(v) is not None
    if op == "^=":
        return lambda v: isinstance(v, str) and v.startswith(lit)
    if op == "$=":
        return lambda v: isinstance(v, str) and v.endswith(lit)
    if op == "*=":
        return lambda v: isinstance(v, str) and lit in v
    raise AssertionError(op)
