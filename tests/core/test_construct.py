"""core/construct.py: models built without validation equal the validated ones in every respect."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, field_validator, model_validator

from collector.framework.core.construct import constructor
from collector.framework.core.events import Event, TlsData

TLS = {
    "kind": "tls_data",
    "direction": "write",
    "conn": 2**63 - 1,
    "data": b"\x00\xffhi",
    "length": 9,
    "truncated": 5,
    "fd": -1,
    "peer": None,
    "uid": 1000,
    "func": "SSL_write",
    "latency_ns": 0,
    "call_id": 3,
}


def event_values(payload: Any, **over: Any) -> dict[str, Any]:
    d = {
        "timestamp_ns": 1_700_000_000_000_000_000,
        "source": "ssl",
        "pid": 42,
        "tid": None,
        "comm": "py\x00\u00e9",
        "payload": payload,
    }
    d.update(over)
    return d


def assert_same(fast: BaseModel, ref: BaseModel) -> None:
    assert type(fast) is type(ref)
    assert fast == ref
    assert fast.model_fields_set == ref.model_fields_set
    assert fast.__pydantic_extra__ == ref.__pydantic_extra__
    assert fast.__pydantic_private__ == ref.__pydantic_private__
    assert fast.model_dump(exclude_unset=True) == ref.model_dump(exclude_unset=True)
    assert fast.model_dump_json() == ref.model_dump_json()
    assert list(fast.__dict__) == list(ref.__dict__)


@pytest.mark.parametrize("peer", [None, "[2001:db8::1]:443"])
@pytest.mark.parametrize("tid", [None, 7])
def test_constructed_event_is_the_validated_one(peer: str | None, tid: int | None) -> None:
    values = {**TLS, "peer": peer}
    fast = constructor(Event)(event_values(constructor(TlsData)(dict(values)), tid=tid))
    ref = Event.model_validate(event_values(dict(values), tid=tid))
    assert_same(fast, ref)
    assert_same(fast.payload, ref.payload)
    assert fast.to_json() == ref.to_json()
    assert Event.from_json(fast.to_json()) == fast


def test_each_instance_has_its_own_fields_set() -> None:
    make = constructor(TlsData)
    a, b = make(dict(TLS)), make(dict(TLS))
    assert a.model_fields_set is not b.model_fields_set
    a.model_fields_set.discard("fd")
    assert "fd" in b.model_fields_set


def test_constructed_models_copy_and_assign_like_validated_ones() -> None:
    fast = constructor(TlsData)(dict(TLS))
    ref = TlsData.model_validate(dict(TLS))
    assert_same(fast.model_copy(update={"fd": 4}), ref.model_copy(update={"fd": 4}))
    fast.fd = ref.fd = 9
    assert_same(fast, ref)


class WithValidator(BaseModel):
    x: int

    @field_validator("x")
    @classmethod
    def double(cls, v: int) -> int:
        return v * 2


class WithModelValidator(BaseModel):
    x: int

    @model_validator(mode="after")
    def check(self) -> WithModelValidator:
        return self


class WithPostInit(BaseModel):
    x: int

    def model_post_init(self, context: Any) -> None:
        pass


class WithPrivate(BaseModel):
    x: int
    _cache: int = 0


class AllowsExtra(BaseModel, extra="allow"):
    x: int


@pytest.mark.parametrize(
    "cls", [WithValidator, WithModelValidator, WithPostInit, WithPrivate, AllowsExtra]
)
def test_models_whose_validation_does_more_than_check_types_are_refused(
    cls: type[BaseModel],
) -> None:
    with pytest.raises(TypeError, match="cannot be skipped"):
        constructor(cls)


def test_plain_models_are_accepted() -> None:
    class Plain(BaseModel):
        x: int

    assert constructor(Plain)({"x": 1}) == Plain(x=1)
