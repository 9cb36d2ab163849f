"""Per-test schemas on the real Postgres test server, dropped when the test ends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest


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
