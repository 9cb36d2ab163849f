"""The statements an operation asks a driver to run, and transactions with retry around them.

An operation body is a generator: it yields requests (``Rows``, ``Run``, ...) and receives
their results, so the same body runs on ``sqlite3`` and on ``aiosqlite``. ``transact``
wraps a body in its transaction and re-runs it from scratch when SQLite reports a busy
database in a way its own busy timeout does not cover (a read transaction that cannot be
upgraded, WAL recovery, a journal-mode switch, a ``COMMIT`` that met a reader).
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

T = TypeVar("T")
Params = Sequence[Any] | Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Rows:
    """Run one statement and answer all its rows (a list of tuples)."""

    sql: str
    params: Params = ()


@dataclass(frozen=True, slots=True)
class Run:
    """Run one statement and answer the number of rows it changed."""

    sql: str
    params: Params = ()


@dataclass(frozen=True, slots=True)
class RunMany:
    """Run one statement once per parameter row; answers the rows changed."""

    sql: str
    rows: Sequence[Params]


@dataclass(frozen=True, slots=True)
class Stream:
    """Open a cursor over a query; answers a handle for ``Fetch``."""

    sql: str
    params: Params = ()


@dataclass(frozen=True, slots=True)
class Fetch:
    """Answer up to ``size`` more rows of a ``Stream`` (fewer means it is exhausted)."""

    cursor: Any
    size: int


@dataclass(frozen=True, slots=True)
class Script:
    """Run statements with ``executescript`` (only outside a transaction)."""

    sql: str


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait before retrying (the async driver awaits instead of blocking)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class InTransaction:
    """Answer whether the connection is inside a transaction."""


Request = Rows | Run | RunMany | Stream | Fetch | Script | Sleep | InTransaction
Body = Generator[Request, Any, T]
Mode = Literal["auto", "read", "write"]


@dataclass(frozen=True, slots=True)
class Component:
    """A group of tables with its own migration history (checkpoints, store, cache)."""

    name: str
    steps: tuple[tuple[str, ...], ...]
    """Migration ``n`` is ``steps[n - 1]``: statements run in one transaction."""

    @property
    def latest(self) -> int:
        return len(self.steps)


@dataclass(frozen=True, slots=True)
class Operation(Generic[T]):
    """A body and the transaction it needs.

    ``auto``: every statement commits on its own; ``read``: one snapshot (``BEGIN``);
    ``write``: the write lock up front (``BEGIN IMMEDIATE``). ``needs`` are the schema
    components the body reads or writes; drivers migrate them before the first run.
    """

    mode: Mode
    body: Callable[[], Body[T]]
    needs: tuple[Component, ...] = field(default=())


Plan = Generator[Operation[Any], Any, T]
"""Several operations in sequence, each its own transaction (e.g. delete, then vacuum)."""

_BUSY_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED (and their extended codes)


def is_busy(exc: BaseException) -> bool:
    """Whether an error means "another connection holds a lock; try again"."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return (code & 0xFF) in _BUSY_CODES
    text = str(exc)
    return "database is locked" in text or "database table is locked" in text


def _rollback(nested: bool) -> Body[None]:
    if (yield InTransaction()):
        if nested:
            yield Run("ROLLBACK TO durastate_op")
            yield Run("RELEASE durastate_op")
        else:
            yield Run("ROLLBACK")


def _attempt(op: Operation[T], nested: bool, legacy: bool) -> Body[T]:
    explicit = op.mode != "auto"
    if explicit:
        if nested:
            yield Run("SAVEPOINT durastate_op")
        else:
            yield Run("BEGIN IMMEDIATE" if op.mode == "write" else "BEGIN")
    try:
        result = yield from op.body()
        if explicit:
            yield Run("RELEASE durastate_op" if nested else "COMMIT")
        elif legacy and not nested and (yield InTransaction()):
            # sqlite3's legacy transaction control opened a transaction implicitly.
            yield Run("COMMIT")
    except BaseException:
        if explicit or (legacy and not nested):
            yield from _rollback(nested)
        raise
    return result


def transact(op: Operation[T], timeout: float, *, nested: bool, legacy: bool) -> Body[T]:
    """Run ``op`` in its transaction, re-running it while the database stays busy.

    ``nested``: the connection is already inside the caller's transaction, so the body
    runs in a savepoint and becomes part of it. ``legacy``: the connection uses
    sqlite3's implicit transactions (``isolation_level`` not None). Gives up,
    re-raising SQLite's error, once ``timeout`` seconds have passed.
    """
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        try:
            return (yield from _attempt(op, nested, legacy))
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() >= deadline:
                raise
        yield Sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 0.1)
