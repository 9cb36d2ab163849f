"""Application-style data types and helpers shared by the serializer tests."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, NamedTuple

import numpy as np
import ormsgpack
from pydantic import BaseModel


class Address(BaseModel):
    street: str
    city: str = "Lisbon"


class Person(BaseModel):
    name: str
    age: int
    address: Address | None = None
    tags: list[str] = []


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


@dataclasses.dataclass
class WithDerived:
    base: int
    doubled: int = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.doubled = self.base * 2


class Pair(NamedTuple):
    left: int
    right: str


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class NotData:
    """A plain class: imported, but not a data type."""

    def __init__(self, value: Any = None) -> None:
        self.value = value


class Opaque:
    """Something neither serializer can store."""


def ext(code: int, payload: tuple[Any, ...]) -> bytes:
    """Hand-build a msgpack blob holding one LangGraph extension value."""
    return ormsgpack.packb(ormsgpack.Ext(code, ormsgpack.packb(payload)))


def same(a: Any, b: Any) -> bool:
    """Equality that also compares numpy arrays by dtype, shape and content."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and bool(np.array_equal(a, b))
        )
    return type(a) is type(b) and a == b
