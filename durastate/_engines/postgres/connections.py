"""Where a Postgres backend gets connections: a psycopg connection, a pool, or a URL it owns.

A single connection is used by one operation at a time (a lock); a pool hands each
operation its own connection, so concurrent graph runs proceed in parallel with no
saver-wide lock. Pools opened from a URL use autocommit connections; a connection or pool
from the caller may be either: an operation that needs a transaction, or any operation on
a connection that is not in autocommit, runs inside ``conn.transaction()`` (a savepoint
when the caller already has a transaction open, so its work commits with the caller's).
Prepared statements are off by default (``prepare_threshold=None``), which works behind
PgBouncer in transaction mode; an int turns on psycopg's preparing after that many runs
for connections the backend opens.

On a pool, an operation whose connection breaks (the server restarted, the backend was
terminated) runs again from the start on another connection, and so does one that met a
serialization failure or a deadlock; every operation is idempotent (upserts keyed by
checkpoint id, task and index; deletes), so a retry never stores anything twice. A
single connection of the caller's is never replaced: its errors reach the caller.

A pool that hands out no connection within its ``timeout`` raises ``PoolExhaustedError``
(a ``BackendUnavailableError`` that is still a ``psycopg_pool.PoolTimeout``), saying how
long it waited, how many of its ``max_size`` connections were in use, and which
``pool_config`` settings to change.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager
from typing import Any, TypeVar

from psycopg import AsyncConnection, Connection, errors
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout

from durastate._engines.postgres.migrations import (
    check_schema,
    check_version,
    migrate_operation,
    version_operation,
)
from durastate._engines.postgres.requests import (
    Component,
    Operation,
    Request,
    Rows,
    Run,
    adrive,
    drive,
)
from durastate.errors import BackendUnavailableError, InvalidInputError, SchemaVersionError

T = TypeVar("T")

SyncSource = Connection[Any] | ConnectionPool[Any] | str
AsyncSource = AsyncConnection[Any] | AsyncConnectionPool[Any] | str

DEFAULT_POOL: dict[str, Any] = {"min_size": 1, "max_size": 10}


def _pool_kwargs(pool_config: Mapping[str, Any] | None, threshold: int | None) -> dict[str, Any]:
    config: dict[str, Any] = dict(DEFAULT_POOL)
    config.update(pool_config or {})
    kwargs: dict[str, Any] = dict(config.pop("kwargs", None) or {})
    kwargs.setdefault("autocommit", True)
    kwargs.setdefault("prepare_threshold", threshold)
    config["kwargs"] = kwargs
    return config


def _check_threshold(threshold: int | None) -> int | None:
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
        raise InvalidInputError(f"prepare_threshold must be None or an int >= 0, got {threshold!r}")
    return threshold


def _not_ready(component: Component, version: int) -> SchemaVersionError:
    return SchemaVersionError(
        f"the {component.name} tables are at version {version}, this durastate needs "
        f"{component.latest}; call setup() (auto_setup=False was given)"
    )


class PoolExhaustedError(BackendUnavailableError, PoolTimeout):
    """The pool had no free connection within its timeout (all in use, or none could open)."""

    def __init__(self, message: str) -> None:
        PoolTimeout.__init__(self, message)


def pool_exhausted(pool: ConnectionPool[Any] | AsyncConnectionPool[Any]) -> PoolExhaustedError:
    """The error for a pool that timed out: what it waited for and what to change."""
    stats = pool.get_stats()
    busy = stats.get("pool_size", 0) - stats.get("pool_available", 0)
    failed = stats.get("connections_errors", 0)
    if failed:
        why = (
            f"{busy} of max_size={pool.max_size} connections were in use or opening, and "
            f"{failed} attempts to open one failed (is the server reachable?)"
        )
    elif busy >= pool.max_size:
        why = f"all {pool.max_size} connections (max_size={pool.max_size}) were in use"
    else:
        why = f"{busy} of max_size={pool.max_size} connections were in use, no new one opened"
    return PoolExhaustedError(
        f"the Postgres connection pool {pool.name!r} had no free connection within "
        f"{pool.timeout:g} s: {why}; raise pool_config max_size or timeout (e.g. "
        f"pool_config={{'max_size': {pool.max_size * 2}, 'timeout': {pool.timeout * 2:g}}}), "
        "or hold fewer connections at once"
    )


RETRYABLE_STATES = frozenset({"40001", "40P01"})
"""Serialization failure and deadlock: the transaction can simply run again."""


def retry_delay(
    exc: BaseException, conn: Connection[Any] | AsyncConnection[Any], attempt: int, limit: int
) -> float | None:
    """Seconds to wait before running an operation again, or None to give up and raise."""
    if attempt >= limit or not isinstance(exc, errors.OperationalError):
        return None
    if conn.broken or conn.closed:
        return 0.0 if attempt == 0 else min(0.002 * 2.0**attempt, 0.2)
    if getattr(exc, "sqlstate", None) in RETRYABLE_STATES:
        return 0.002 * 2.0**attempt * (0.5 + random.random())
    return None


class _Settings:
    def __init__(self, schema: str | None, prepare_threshold: int | None, auto_setup: bool) -> None:
        self.schema = check_schema(schema)
        self.threshold = _check_threshold(prepare_threshold)
        self.prepare: bool | None = False if self.threshold is None else None
        self.auto_setup = bool(auto_setup)
        self.ready: set[str] = set()
        self.retries = 0
        """How many times an operation runs again after a broken connection (pools only)."""


class SyncDatabase(_Settings):
    """Blocking connections for one backend object, and the schemas it has set up."""

    def __init__(
        self,
        source: SyncSource,
        *,
        schema: str | None = None,
        prepare_threshold: int | None = None,
        auto_setup: bool = True,
        pool_config: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(schema, prepare_threshold, auto_setup)
        self.lock = threading.Lock()
        self._setup_lock = threading.Lock()
        self.conn: Connection[Any] | None = None
        self.pool: ConnectionPool[Any] | None = None
        self.owned = False
        if isinstance(source, str):
            self.pool = ConnectionPool(
                source, open=True, **_pool_kwargs(pool_config, self.threshold)
            )
            self.owned = True
        elif isinstance(source, ConnectionPool):
            self.pool = source
        if self.pool is not None:
            self.retries = self.pool.max_size + 3
        elif isinstance(source, Connection):
            self.conn = source
        elif isinstance(source, (AsyncConnection, AsyncConnectionPool)):
            raise InvalidInputError(
                "this class takes a psycopg Connection or ConnectionPool; "
                "use the Async... class with an AsyncConnection or AsyncConnectionPool"
            )
        else:
            raise InvalidInputError(
                "expected a psycopg Connection, ConnectionPool or a postgresql:// URL, "
                f"got {type(source).__name__}"
            )

    @contextmanager
    def connection(self) -> Iterator[Connection[Any]]:
        if self.pool is not None:
            with ExitStack() as stack:
                try:
                    conn = stack.enter_context(self.pool.connection())
                except PoolTimeout:
                    raise pool_exhausted(self.pool) from None
                yield conn
        else:
            assert self.conn is not None
            with self.lock:
                yield self.conn

    def _run_on(self, conn: Connection[Any], op: Operation[T]) -> T:
        cur = conn.cursor(row_factory=tuple_row)
        prepare = self.prepare

        def execute(req: Request) -> Any:
            cur.execute(
                req.sql,
                req.params,
                prepare=prepare if req.params is not None else False,
                binary=req.params is not None,
            )
            if isinstance(req, Rows):
                return cur.fetchall()
            assert isinstance(req, Run)
            return cur.rowcount

        try:
            if op.transaction or not conn.autocommit:
                with conn.transaction():
                    return drive(op.body(), execute)
            return drive(op.body(), execute)
        finally:
            cur.close()

    def _direct(self, op: Operation[T]) -> T:
        attempt = 0
        while True:
            with self.connection() as conn:
                try:
                    return self._run_on(conn, op)
                except Exception as exc:
                    delay = retry_delay(exc, conn, attempt, self.retries)
                    if delay is None:
                        raise
            attempt += 1
            if delay:
                time.sleep(delay)

    def setup(self, component: Component) -> int:
        """Create or upgrade a component's tables now."""
        with self._setup_lock:
            version = self._direct(version_operation(component, self.schema))
            if not check_version(component, version):
                version = self._direct(migrate_operation(component, self.schema))
            self.ready.add(component.name)
            return version

    def _ensure(self, components: tuple[Component, ...]) -> None:
        for component in components:
            if component.name in self.ready:
                continue
            if self.auto_setup:
                self.setup(component)
                continue
            version = self._direct(version_operation(component, self.schema))
            if not check_version(component, version):
                raise _not_ready(component, version)
            self.ready.add(component.name)

    def run(self, op: Operation[T]) -> T:
        """Run an operation on a connection of its own (set up its tables first if needed)."""
        self._ensure(op.needs)
        return self._direct(op)

    def version(self, component: Component) -> int:
        return self._direct(version_operation(component, self.schema))

    def close(self) -> None:
        if self.owned and self.pool is not None:
            self.pool.close()


class AsyncDatabase(_Settings):
    """Async connections for one backend object, and the schemas it has set up."""

    def __init__(
        self,
        source: AsyncSource,
        *,
        schema: str | None = None,
        prepare_threshold: int | None = None,
        auto_setup: bool = True,
        pool_config: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(schema, prepare_threshold, auto_setup)
        self.lock = asyncio.Lock()
        self._setup_lock = asyncio.Lock()
        self._open_lock = asyncio.Lock()
        self.conn: AsyncConnection[Any] | None = None
        self.pool: AsyncConnectionPool[Any] | None = None
        self.owned = False
        self._opened = True
        if isinstance(source, str):
            self.pool = AsyncConnectionPool(
                source, open=False, **_pool_kwargs(pool_config, self.threshold)
            )
            self.owned = True
            self._opened = False
        elif isinstance(source, AsyncConnectionPool):
            self.pool = source
        if self.pool is not None:
            self.retries = self.pool.max_size + 3
        elif isinstance(source, AsyncConnection):
            self.conn = source
        elif isinstance(source, (Connection, ConnectionPool)):
            raise InvalidInputError(
                "this class takes a psycopg AsyncConnection or AsyncConnectionPool; "
                "use the sync class with a Connection or ConnectionPool"
            )
        else:
            raise InvalidInputError(
                "expected a psycopg AsyncConnection, AsyncConnectionPool or a postgresql:// "
                f"URL, got {type(source).__name__}"
            )

    async def open(self) -> None:
        """Open the pool the backend owns (done on first use otherwise)."""
        if self._opened:
            return
        async with self._open_lock:
            if not self._opened:
                assert self.pool is not None
                await self.pool.open()
                self._opened = True

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        if self.pool is not None:
            if not self._opened:
                await self.open()
            async with AsyncExitStack() as stack:
                try:
                    conn = await stack.enter_async_context(self.pool.connection())
                except PoolTimeout:
                    raise pool_exhausted(self.pool) from None
                yield conn
        else:
            assert self.conn is not None
            async with self.lock:
                yield self.conn

    async def _run_on(self, conn: AsyncConnection[Any], op: Operation[T]) -> T:
        cur = conn.cursor(row_factory=tuple_row)
        prepare = self.prepare

        async def execute(req: Request) -> Any:
            await cur.execute(
                req.sql,
                req.params,
                prepare=prepare if req.params is not None else False,
                binary=req.params is not None,
            )
            if isinstance(req, Rows):
                return await cur.fetchall()
            assert isinstance(req, Run)
            return cur.rowcount

        try:
            if op.transaction or not conn.autocommit:
                async with conn.transaction():
                    return await adrive(op.body(), execute)
            return await adrive(op.body(), execute)
        finally:
            await cur.close()

    async def _direct(self, op: Operation[T]) -> T:
        attempt = 0
        while True:
            async with self.connection() as conn:
                try:
                    return await self._run_on(conn, op)
                except Exception as exc:
                    delay = retry_delay(exc, conn, attempt, self.retries)
                    if delay is None:
                        raise
            attempt += 1
            if delay:
                await asyncio.sleep(delay)

    async def setup(self, component: Component) -> int:
        async with self._setup_lock:
            version = await self._direct(version_operation(component, self.schema))
            if not check_version(component, version):
                version = await self._direct(migrate_operation(component, self.schema))
            self.ready.add(component.name)
            return version

    async def _ensure(self, components: tuple[Component, ...]) -> None:
        for component in components:
            if component.name in self.ready:
                continue
            if self.auto_setup:
                await self.setup(component)
                continue
            version = await self._direct(version_operation(component, self.schema))
            if not check_version(component, version):
                raise _not_ready(component, version)
            self.ready.add(component.name)

    async def run(self, op: Operation[T]) -> T:
        await self._ensure(op.needs)
        return await self._direct(op)

    async def version(self, component: Component) -> int:
        return await self._direct(version_operation(component, self.schema))

    async def close(self) -> None:
        if self.owned and self.pool is not None and self._opened:
            await self.pool.close()
