"""Per-test schemas on the real Postgres test server (emptied or dropped after each test)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import pq


class SchemaPool:
    """Schemas for the whole session: emptied after each test and handed out again.

    Emptying a schema (``DELETE`` from its tables) is much faster than creating and
    dropping one with all its tables; every schema is dropped when the session ends.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.free: list[str] = []
        self.made: list[str] = []
        self._admin: psycopg.Connection[Any] | None = None

    @property
    def admin(self) -> psycopg.Connection[Any]:
        if self._admin is None or self._admin.closed:
            self._admin = psycopg.connect(self.url, autocommit=True)
        return self._admin

    def take(self) -> str:
        if self.free:
            return self.free.pop()
        name = f"t_{uuid.uuid4().hex[:16]}"
        self.made.append(name)
        return name

    def give_back(self, names: list[str]) -> None:
        if not names:
            return
        rows = self.admin.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(%s) "
            "AND tablename <> 'durastate_schema'",
            (names,),
        ).fetchall()
        if rows:
            self.admin.execute("; ".join(f'DELETE FROM "{s}"."{t}"' for s, t in rows))
        self.free.extend(names)

    def drop(self, names: list[str]) -> None:
        for name in names:
            self.admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')

    def close(self) -> None:
        try:
            self.drop(self.made)
        finally:
            if self._admin is not None:
                self._admin.close()


class Schemas:
    """The schemas of one test: emptied (or, when made fresh, dropped) when it ends."""

    def __init__(self, pool: SchemaPool) -> None:
        self.pool = pool
        self.url = pool.url
        self.reused: list[str] = []
        self.fresh: list[str] = []

    def new(self, *, fresh: bool = False) -> str:
        """A schema with no data; ``fresh``: one that does not exist yet (no tables)."""
        if fresh:
            name = f"t_{uuid.uuid4().hex[:16]}"
            self.fresh.append(name)
            return name
        name = self.pool.take()
        self.reused.append(name)
        return name

    def drop(self) -> None:
        try:
            self.pool.give_back(self.reused)
            self.pool.drop(self.fresh)
        finally:
            self.reused.clear()
            self.fresh.clear()


@pytest.fixture(scope="session")
def schema_pool(postgres_url: str) -> Iterator[SchemaPool]:
    pool = SchemaPool(postgres_url)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def schemas(schema_pool: SchemaPool) -> Iterator[Schemas]:
    made = Schemas(schema_pool)
    try:
        yield made
    finally:
        made.drop()


class Trace:
    """Counts protocol round trips on one psycopg connection, from libpq's own trace.

    Every statement the client sends ends with the server's ``ReadyForQuery``; counting
    those is counting round trips, whatever the driver does above libpq.
    """

    def __init__(self, conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> None:
        self.pgconn = conn.pgconn
        self.file = tempfile.TemporaryFile(mode="w+")
        self.text = ""

    def start(self) -> None:
        self.file.seek(0)
        self.file.truncate()
        self.pgconn.trace(self.file.fileno())
        self.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)

    def stop(self) -> int:
        """Stop tracing; answers the round trips since ``start``."""
        self.pgconn.untrace()
        self.file.seek(0)
        self.text = self.file.read()
        return self.round_trips

    @property
    def round_trips(self) -> int:
        return sum(
            1
            for line in self.text.splitlines()
            if line.startswith("B\t") and "\tReadyForQuery" in line
        )

    @property
    def statements(self) -> list[str]:
        return [
            line.split("\t", 3)[3]
            for line in self.text.splitlines()
            if line.startswith("F\t") and line.split("\t")[2] in ("Parse", "Query")
        ]
