"""What an operation asks a driver to run; one operation body serves psycopg sync and async.

An operation body is a generator: it yields requests (``Rows``, ``Run``) and receives their
results, so the same body runs on a blocking and on an asyncio connection. ``drive`` and
``adrive`` feed it; the drivers in ``connections`` decide on the transaction around it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Params = Sequence[Any] | Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Rows:
    """Run one statement and answer all its rows (a list of tuples)."""

    sql: str
    params: Params | None = None


@dataclass(frozen=True, slots=True)
class Run:
    """Run one statement and answer the number of rows it changed."""

    sql: str
    params: Params | None = None


Request = Rows | Run
Body = Generator[Request, Any, T]


@dataclass(frozen=True, slots=True)
class Component:
    """A group of tables with its own migration history (checkpoints, store, cache).

    Statements may name tables as ``{p}table``; ``{p}`` becomes the quoted schema and a dot
    (or nothing, for the connection's ``search_path``).
    """

    name: str
    steps: tuple[tuple[str, ...], ...]
    """Migration ``n`` is ``steps[n - 1]``: statements run in one transaction."""

    @property
    def latest(self) -> int:
        return len(self.steps)


@dataclass(frozen=True, slots=True)
class Operation(Generic[T]):
    """A body and whether it needs a transaction of its own.

    ``transaction=False``: the body is one statement (atomic by itself) or a read, and runs
    without ``BEGIN``/``COMMIT`` on an autocommit connection. ``needs``: schema components
    the driver sets up before the first run.
    """

    body: Callable[[], Body[T]]
    transaction: bool = False
    needs: tuple[Component, ...] = field(default=())


def drive(body: Body[T], execute: Callable[[Request], Any]) -> T:
    """Run a body to completion with a blocking ``execute``, feeding it results and errors."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            req = body.throw(error) if error is not None else body.send(value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        error = value = None
        try:
            value = execute(req)
        except Exception as exc:
            error = exc


async def adrive(body: Body[T], execute: Callable[[Request], Awaitable[Any]]) -> T:
    """Run a body to completion with an async ``execute``."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            req = body.throw(error) if error is not None else body.send(value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        error = value = None
        try:
            value = await execute(req)
        except Exception as exc:
            error = exc
