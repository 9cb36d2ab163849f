"""``Step``: the static type of an engine operation that answers a ``T`` when it is run."""

from __future__ import annotations

from typing import Protocol, TypeVar

T_co = TypeVar("T_co", covariant=True)


class Step(Protocol[T_co]):
    """An operation an engine's driver runs, answering a ``T_co``.

    Each engine has its own kind (a SQLite statement group or plan, a Postgres
    operation, a Redis script body); this type only carries what running it answers,
    so code written once for every engine keeps its result types.
    """
