"""Recursive-descent parser of filter expressions (grammar in docs/FILTERS.md).

expr       := or_expr
or_expr    := and_expr (("or" | "||") and_expr)*
and_expr   := unary (("and" | "&&") unary)*
unary      := ("not" | "!") unary | primary
primary    := "(" expr ")" | comparison
comparison := FIELD [ OP literal | ["not"] "in" "(" literal ("," literal)* [","] ")" ]
literal    := STRING | NUMBER | "true" | "false"
"""

from __future__ import annotations

from .lexer import Token, error, tokenize
from .nodes import And, Compare, Field, Literal, Node, Not, Or

COMPARE_OPS = frozenset({"=", "==", "!=", "<", "<=", ">", ">=", "~", "^=", "$=", "*="})
_KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false"})
_EXPECT_OP = "an operator (= != < <= > >= ~ ^= $= *= in), 'and', 'or' or ')'"


def _describe(tok: Token) -> str:
    if tok.kind == "end":
        return "the end of the expression"
    return repr(tok.text)


class Parser:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = tokenize(expression)
        self.pos = 0

    # -- helpers -------------------------------------------------------------------------------

    def _cur(self) -> Token:
        return self.tokens[self.pos]

    def _advance(self) -> Token:
        tok = self.tokens[self.pos]
        if tok.kind != "end":
            self.pos += 1
        return tok

    def _keyword(self, *words: str) -> bool:
        tok = self._cur()
        return tok.kind == "ident" and tok.text.lower() in words

    def _fail(self, expected: str, tok: Token | None = None) -> Exception:
        tok = tok or self._cur()
        return error(f"expected {expected}, found {_describe(tok)}", self.expression, tok.column)

    # -- grammar -------------------------------------------------------------------------------

    def parse(self) -> Node:
        if self._cur().kind == "end":
            raise self._fail("a filter expression")
        node = self._or()
        if self._cur().kind != "end":
            raise self._fail(
                _EXPECT_OP if self._cur().kind != "rparen" else "the end (unbalanced ')')"
            )
        return node

    def _or(self) -> Node:
        operands = [self._and()]
        while self._keyword("or") or (self._cur().kind == "op" and self._cur().text == "||"):
            self._advance()
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def _and(self) -> Node:
        operands = [self._unary()]
        while self._keyword("and") or (self._cur().kind == "op" and self._cur().text == "&&"):
            self._advance()
            operands.append(self._unary())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def _unary(self) -> Node:
        if self._keyword("not") or (self._cur().kind == "op" and self._cur().text == "!"):
            self._advance()
            return Not(self._unary())
        return self._primary()

    def _primary(self) -> Node:
        tok = self._cur()
        if tok.kind == "lparen":
            self._advance()
            node = self._or()
            if self._cur().kind != "rparen":
                raise self._fail(f"')' to close the '(' at column {tok.column}")
            self._advance()
            return node
        if tok.kind == "ident" and tok.text.lower() not in _KEYWORDS:
            return self._comparison()
        raise self._fail("a field name, 'not' or '('")

    def _comparison(self) -> Node:
        ftok = self._advance()
        field = Field(ftok.text, ftok.column)
        tok = self._cur()
        if tok.kind == "op" and tok.text in COMPARE_OPS:
            self._advance()
            op = "=" if tok.text == "==" else tok.text
            ltok = self._cur()
            return Compare(field, op, self._literal(), ltok.column)
        negate = False
        if (
            self._keyword("not")
            and self.tokens[self.pos + 1].kind == "ident"
            and (self.tokens[self.pos + 1].text.lower() == "in")
        ):
            self._advance()
            negate = True
        if self._keyword("in"):
            self._advance()
            node: Node = self._in_list(field)
            return Not(node) if negate else node
        return field

    def _in_list(self, field: Field) -> Compare:
        if self._cur().kind != "lparen":
            raise self._fail("'(' to start the list of values after 'in'")
        self._advance()
        column = self._cur().column
        values: list[Literal] = []
        while True:
            if self._cur().kind == "rparen" and values:
                break
            values.append(self._literal())
            if self._cur().kind == "comma":
                self._advance()
                continue
            if self._cur().kind == "rparen":
                break
            raise self._fail("',' or ')' in the list of values")
        self._advance()
        return Compare(field, "in", tuple(values), column)

    def _literal(self) -> Literal:
        tok = self._cur()
        if tok.kind in ("string", "number"):
            self._advance()
            assert isinstance(tok.value, (str, int, float))
            return tok.value
        if self._keyword("true", "false"):
            self._advance()
            return tok.text.lower() == "true"
        raise self._fail('a value (a "string", a number, true or false)')


def parse(expression: str) -> Node:
    """Parse a filter expression into a tree; raises FilterSyntaxError with the column."""
    return Parser(expression).parse()
