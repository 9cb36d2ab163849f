"""Per-test schemas on the real Postgres test server, dropped when the test ends."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import pq


class Schemas:
    """Hands out fresh schema names and drops every one of them afterwards."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.names: list[str] = []

    def new(self) -> str:
        name = f"t_{uuid.uuid4().hex[:16]}"
        self.names.append(name)
        return name

    def drop(self) -> None:
        if not self.names:
            return
        with psycopg.connect(self.url, autocommit=True) as conn:
            for name in self.names:
                conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        self.names.clear()


@pytest.fixture
def schemas(postgres_url: str) -> Iterator[Schemas]:
    made = Schemas(postgres_url)
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
