"""The syntax tree of a filter expression, and its canonical text (`unparse`)."""

from __future__ import annotations

from dataclasses import dataclass

from .lexer import quote

Literal = str | int | float | bool


@dataclass(frozen=True)
class Field:
    """A bare field: true when the field is present and truthy."""

    path: str
    column: int = 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Field) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)


@dataclass(frozen=True)
class Compare:
    field: Field
    op: str  # one of = != < <= > >= ~ ^= $= *= in
    value: Literal | tuple[Literal, ...]
    column: int = 0  # of the literal

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Compare)
            and other.field == self.field
            and other.op == self.op
            and _same(other.value, self.value)
        )

    def __hash__(self) -> int:
        return hash((self.field, self.op))


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]


Node = Field | Compare | Not | And | Or


def _same(a: object, b: object) -> bool:
    """Literal equality that also tells 1 from True and 1 from 1.0."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def literal_text(value: Literal) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    return repr(value)


def unparse(node: Node) -> str:
    """Canonical text of a tree; parsing it gives back an equal tree."""
    if isinstance(node, Field):
        return node.path
    if isinstance(node, Compare):
        if isinstance(node.value, tuple):
            items = ", ".join(literal_text(v) for v in node.value)
            return f"{node.field.path} in ({items})"
        return f"{node.field.path} {node.op} {literal_text(node.value)}"
    if isinstance(node, Not):
        inner = unparse(node.operand)
        return (
            f"not {inner}" if isinstance(node.operand, (Field, Compare, Not)) else f"not ({inner})"
        )
    if isinstance(node, And):
        return " and ".join(
            f"({unparse(o)})" if isinstance(o, Or) else unparse(o) for o in node.operands
        )
    return " or ".join(unparse(o) for o in node.operands)
