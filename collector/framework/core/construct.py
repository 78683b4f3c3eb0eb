"""Building pydantic models from values whose types were already checked, without validating them again.

Validating an Event costs ~3-6 µs, most of it for checks a typed decoder has already made: the
sslsniff decoder parses its lines with a strictly typed `msgspec.Struct` (ints in the int64 range,
strings, booleans, literals; anything else goes to the validated path). `constructor(cls)` returns
a function that makes an instance from such values in ~0.6 µs: what `model_construct` does, minus
its Python loop over the fields, defaults and aliases.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_slots = BaseModel.__dict__
_set_dict = object.__setattr__
_set_fields_set = _slots["__pydantic_fields_set__"].__set__
_set_extra = _slots["__pydantic_extra__"].__set__
_set_private = _slots["__pydantic_private__"].__set__
_new = object.__new__


def constructor(cls: type[M]) -> Callable[[dict[str, Any]], M]:
    """A function `values -> cls instance` that does not validate `values`; only for trusted values.

    Safe only when the caller guarantees what validation would otherwise check:
    * `values` has one key per field of `cls`, in declaration order, and no other key (the
      instance's `model_fields_set` is then every field, as validation of such a dict gives);
    * each value already has exactly the type validation would produce for it (an `int` for an
      `int` field, a `str` for `str`, one of the literals for a `Literal`, a model instance built
      the same way for a nested model), so that validation would return it unchanged. Checked
      types from a strict typed decoder qualify; values that validation would coerce ("1" or 1.0
      for an int) do not.

    The result then compares equal to, and serialises byte for byte like, the validated model
    (tests/core/test_construct.py and tests/core/test_ssl_decoder.py check this). Refused for models
    whose validation does more than check types (validators, `model_post_init`, private
    attributes, `extra="allow"`, root models), where skipping it would change the result.
    """
    decorators = cls.__pydantic_decorators__
    if (
        cls.__pydantic_root_model__
        or cls.__pydantic_post_init__ is not None
        or cls.__private_attributes__
        or cls.model_config.get("extra") == "allow"
        or decorators.validators
        or decorators.field_validators
        or decorators.root_validators
        or decorators.model_validators
    ):
        raise TypeError(
            f"{cls.__name__}: validation does more than check types, it cannot be skipped"
        )

    copy_fields = set(cls.model_fields).copy

    def construct(values: dict[str, Any]) -> M:
        m = _new(cls)
        _set_dict(m, "__dict__", values)
        _set_fields_set(m, copy_fields())
        _set_extra(m, None)
        _set_private(m, None)
        return m

    construct.__doc__ = (
        f"A {cls.__name__} from trusted, already type-checked values (see `constructor`)."
    )
    return construct
