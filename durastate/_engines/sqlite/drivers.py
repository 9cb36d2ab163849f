"""Run operations on ``sqlite3`` (blocking) or ``aiosqlite`` (async): one database per connection.

Every durastate object on the same connection shares one ``SyncDatabase`` (or
``AsyncDatabase``): one lock, so their transactions never interleave, and one record
of which schemas are already set up. The lock is held for one operation at a time,
never while a caller consumes results.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, TypeVar

from durastate._engines.sqlite.migrations import configure_body, ensure_plan
from durastate._engines.sqlite.requests import (
    Body,
    Component,
    Fetch,
    InTransaction,
    Operation,
    Plan,
    Request,
    Rows,
    Run,
    RunMany,
    Script,
    Sleep,
    Stream,
    transact,
)
from durastate._engines.sqlite.targets import DEFAULT_TIMEOUT, Target, parse_target
from durastate.errors import InvalidInputError

if TYPE_CHECKING:
    import aiosqlite

T = TypeVar("T")


def _execute(conn: sqlite3.Connection, req: Request) -> Any:
    if isinstance(req, Rows):
        return conn.execute(req.sql, req.params).fetchall()
    if isinstance(req, Run):
        return conn.execute(req.sql, req.params).rowcount
    if isinstance(req, RunMany):
        return conn.executemany(req.sql, req.rows).rowcount
    if isinstance(req, Stream):
        return conn.execute(req.sql, req.params)
    if isinstance(req, Fetch):
        return req.cursor.fetchmany(req.size)
    if isinstance(req, InTransaction):
        return conn.in_transaction
    if isinstance(req, Script):
        conn.executescript(req.sql)
        return None
    raise TypeError(f"unknown request {req!r}")


async def _aexecute(conn: aiosqlite.Connection, req: Request) -> Any:
    if isinstance(req, Rows):
        return list(await conn.execute_fetchall(req.sql, req.params))
    if isinstance(req, Run):
        return (await conn.execute(req.sql, req.params)).rowcount
    if isinstance(req, RunMany):
        return (await conn.executemany(req.sql, req.rows)).rowcount
    if isinstance(req, Stream):
        return await conn.execute(req.sql, req.params)
    if isinstance(req, Fetch):
        return list(await req.cursor.fetchmany(req.size))
    if isinstance(req, InTransaction):
        return conn.in_transaction
    if isinstance(req, Script):
        await conn.executescript(req.sql)
        return None
    raise TypeError(f"unknown request {req!r}")


def drive(conn: sqlite3.Connection, body: Body[T]) -> T:
    """Run a body to completion on a sqlite3 connection, feeding it results and errors."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            req = body.throw(error) if error is not None else body.send(value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        error = value = None
        if isinstance(req, Sleep):
            time.sleep(req.seconds)
            continue
        try:
            value = _execute(conn, req)
        except Exception as exc:
            error = exc


async def adrive(conn: aiosqlite.Connection, body: Body[T]) -> T:
    """Run a body to completion on an aiosqlite connection."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            req = body.throw(error) if error is not None else body.send(value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        error = value = None
        if isinstance(req, Sleep):
            await asyncio.sleep(req.seconds)
            continue
        try:
            value = await _aexecute(conn, req)
        except Exception as exc:
            error = exc


def _step_plan(plan: Plan[T], value: Any) -> tuple[Operation[Any] | None, T | None]:
    try:
        return plan.send(value), None
    except StopIteration as stop:
        return None, stop.value


class _Shared:
    """Bookkeeping for connections handed in by the caller: one database object each."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[int, tuple[Any, int]] = {}

    def acquire(self, conn: Any, make: Any) -> Any:
        with self.lock:
            db, users = self.entries.get(id(conn), (None, 0))
            if db is None:
                db = make()
            self.entries[id(conn)] = (db, users + 1)
            return db

    def release(self, conn: Any) -> None:
        with self.lock:
            db, users = self.entries.get(id(conn), (None, 0))
            if db is None:
                return
            if users <= 1:
                del self.entries[id(conn)]
            else:
                self.entries[id(conn)] = (db, users - 1)


_SYNC_SHARED = _Shared()
_ASYNC_SHARED = _Shared()


def _timeout_ms(timeout: float) -> int:
    return max(0, int(timeout * 1000))


class SyncDatabase:
    """A sqlite3 connection with its lock, its settings applied once and its schemas set up."""

    def __init__(self, conn: sqlite3.Connection, *, owned: bool, timeout: float) -> None:
        self.conn = conn
        self.owned = owned
        self.timeout = timeout
        self.lock = threading.RLock()
        self.ready: set[str] = set()
        self.closed = False

    @classmethod
    def attach(
        cls, source: sqlite3.Connection | str | Any, owner: object, *, timeout: float | None
    ) -> SyncDatabase:
        """The database for a connection (shared with other users of it) or a new file handle.

        When given a path or URL, the connection is opened here and closed by ``close``.
        ``owner``'s garbage collection releases its share.
        """
        wait = DEFAULT_TIMEOUT if timeout is None else float(timeout)
        if isinstance(source, sqlite3.Connection):
            conn = source
            db: SyncDatabase = _SYNC_SHARED.acquire(
                conn, lambda: cls(conn, owned=False, timeout=wait)
            )
            weakref.finalize(owner, _SYNC_SHARED.release, conn)
            return db
        if type(source).__module__.startswith("aiosqlite"):
            raise InvalidInputError(
                "this class takes a sqlite3 connection; use the Async... class with aiosqlite"
            )
        target = parse_target(source)
        return cls(open_sync(target, wait), owned=True, timeout=wait)

    def _transact(self, op: Operation[T]) -> Body[T]:
        conn = self.conn
        return transact(
            op, self.timeout, nested=conn.in_transaction, legacy=conn.isolation_level is not None
        )

    def _ensure(self, needs: tuple[Component, ...]) -> None:
        if "" not in self.ready:
            configured = drive(
                self.conn,
                self._transact(
                    Operation("auto", lambda: configure_body(_timeout_ms(self.timeout)))
                ),
            )
            if configured:
                self.ready.add("")
        for component in needs:
            if component.name not in self.ready:
                self._plan(ensure_plan(component))
                self.ready.add(component.name)

    def _plan(self, plan: Plan[T]) -> T:
        op, result = _step_plan(plan, None)
        while op is not None:
            self._ensure(op.needs)
            value = drive(self.conn, self._transact(op))
            op, result = _step_plan(plan, value)
        return result  # type: ignore[return-value]

    def run(self, op: Operation[T]) -> T:
        """Run one operation in its own transaction, holding the connection's lock."""
        with self.lock:
            self._check_open()
            self._ensure(op.needs)
            return drive(self.conn, self._transact(op))

    def run_plan(self, plan: Plan[T]) -> T:
        """Run a sequence of operations, each its own transaction, under one lock hold."""
        with self.lock:
            self._check_open()
            return self._plan(plan)

    def run_step(self, step: Operation[T] | Plan[T]) -> T:
        """Run an operation or a plan, whichever ``step`` is."""
        return self.run(step) if isinstance(step, Operation) else self.run_plan(step)

    def setup(self, *components: Component) -> None:
        with self.lock:
            self._check_open()
            self._ensure(components)

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError("this SQLite connection was closed")

    def close(self) -> None:
        """Close the connection if it was opened here; a caller's connection stays open."""
        with self.lock:
            if self.owned and not self.closed:
                self.closed = True
                self.conn.close()


def open_sync(target: Target, timeout: float) -> sqlite3.Connection:
    """A connection that waits ``timeout`` seconds for locks from its very first statement."""
    return sqlite3.connect(
        target.database,
        timeout=timeout,
        isolation_level=None,
        check_same_thread=False,
        uri=target.uri,
        cached_statements=256,
    )


class AsyncDatabase:
    """An aiosqlite connection (opened on first use when given a path) with its lock."""

    def __init__(
        self,
        conn: aiosqlite.Connection | None,
        target: Target | None,
        *,
        timeout: float,
    ) -> None:
        self._conn = conn
        self.target = target
        self.owned = conn is None
        self.timeout = timeout
        self.lock = asyncio.Lock()
        self.ready: set[str] = set()
        self.closed = False

    @classmethod
    def attach(
        cls, source: aiosqlite.Connection | str | Any, owner: object, *, timeout: float | None
    ) -> AsyncDatabase:
        wait = DEFAULT_TIMEOUT if timeout is None else float(timeout)
        if isinstance(source, sqlite3.Connection):
            raise InvalidInputError(
                "this class takes an aiosqlite connection (or a path); "
                "use the sync class with a sqlite3 connection"
            )
        if isinstance(source, (str,)) or hasattr(source, "__fspath__"):
            return cls(None, parse_target(source), timeout=wait)
        conn = source
        db: AsyncDatabase = _ASYNC_SHARED.acquire(conn, lambda: cls(conn, None, timeout=wait))
        weakref.finalize(owner, _ASYNC_SHARED.release, conn)
        return db

    @property
    def conn(self) -> aiosqlite.Connection | None:
        return self._conn

    async def _connection(self) -> aiosqlite.Connection:
        if self.closed:
            raise RuntimeError("this SQLite connection was closed")
        if self._conn is None:
            import aiosqlite

            assert self.target is not None
            self._conn = await aiosqlite.connect(
                self.target.database,
                timeout=self.timeout,
                isolation_level=None,
                check_same_thread=False,
                uri=self.target.uri,
                cached_statements=256,
            )
        else:
            try:
                self._conn.in_transaction  # noqa: B018  (raises when never started)
            except ValueError:
                await self._conn
        return self._conn

    def _transact(self, conn: aiosqlite.Connection, op: Operation[T]) -> Body[T]:
        return transact(
            op, self.timeout, nested=conn.in_transaction, legacy=conn.isolation_level is not None
        )

    async def _ensure(self, conn: aiosqlite.Connection, needs: tuple[Component, ...]) -> None:
        if "" not in self.ready:
            op = Operation("auto", lambda: configure_body(_timeout_ms(self.timeout)))
            if await adrive(conn, self._transact(conn, op)):
                self.ready.add("")
        for component in needs:
            if component.name not in self.ready:
                await self._plan(conn, ensure_plan(component))
                self.ready.add(component.name)

    async def _plan(self, conn: aiosqlite.Connection, plan: Plan[T]) -> T:
        op, result = _step_plan(plan, None)
        while op is not None:
            await self._ensure(conn, op.needs)
            value = await adrive(conn, self._transact(conn, op))
            op, result = _step_plan(plan, value)
        return result  # type: ignore[return-value]

    async def run(self, op: Operation[T]) -> T:
        async with self.lock:
            conn = await self._connection()
            await self._ensure(conn, op.needs)
            return await adrive(conn, self._transact(conn, op))

    async def run_plan(self, plan: Plan[T]) -> T:
        async with self.lock:
            conn = await self._connection()
            return await self._plan(conn, plan)

    async def run_step(self, step: Operation[T] | Plan[T]) -> T:
        """Run an operation or a plan, whichever ``step`` is."""
        if isinstance(step, Operation):
            return await self.run(step)
        return await self.run_plan(step)

    async def setup(self, *components: Component) -> None:
        async with self.lock:
            conn = await self._connection()
            await self._ensure(conn, components)

    async def close(self) -> None:
        async with self.lock:
            if self.owned and not self.closed:
                self.closed = True
                if self._conn is not None:
                    await self._conn.close()
