"""The filter expression language (docs/FILTERS.md): `compile_filter(text)(event) -> bool`.

>>> f = compile_filter('kind = "exec" and process.argv *= "--api-key"')
>>> f(event)
"""

from .compiler import Filter, Predicate, compile_filter
from .fields import DYNAMIC_PREFIXES, FIELDS, KINDS, FieldSpec, resolve
from .lexer import Token, quote, tokenize
from .nodes import And, Compare, Field, Node, Not, Or, unparse
from .parser import parse

__all__ = [
    "DYNAMIC_PREFIXES",
    "FIELDS",
    "KINDS",
    "And",
    "Compare",
    "Field",
    "FieldSpec",
    "Filter",
    "Node",
    "Not",
    "Or",
    "Predicate",
    "Token",
    "compile_filter",
    "parse",
    "quote",
    "resolve",
    "tokenize",
    "unparse",
]
