"""Where a SQLite database lives: paths, ``sqlite:///`` URLs, ``file:`` URIs and ``:memory:``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from durastate.errors import InvalidInputError

DEFAULT_TIMEOUT = 30.0
"""Seconds a connection waits for another writer before giving up (SQLite's busy timeout)."""


@dataclass(frozen=True, slots=True)
class Target:
    """What ``sqlite3.connect`` / ``aiosqlite.connect`` is given."""

    database: str
    uri: bool

    @property
    def in_memory(self) -> bool:
        if self.uri:
            return ":memory:" in self.database or "mode=memory" in self.database
        return self.database in (":memory:", "")

    def __str__(self) -> str:
        return self.database


def parse_target(spec: str | os.PathLike[str]) -> Target:
    """Read a path, ``sqlite:///relative.db``, ``sqlite:////abs.db``, ``file:`` URI or ``:memory:``.

    A ``sqlite:`` URL with a query string (``sqlite:///app.db?mode=ro``) becomes a ``file:``
    URI with the same query, so SQLite's URI parameters work.
    """
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if not isinstance(spec, str):
        raise InvalidInputError(
            f"a SQLite database is a path, URL or connection, got {type(spec).__name__}"
        )
    if "\x00" in spec:
        raise InvalidInputError("the SQLite database path contains NUL")
    if spec in (":memory:", "sqlite://", "sqlite:///:memory:"):
        return Target(":memory:", False)
    if spec.startswith("file:"):
        return Target(spec, True)
    if spec.startswith("sqlite:"):
        parts = urlsplit(spec)
        if not spec.startswith("sqlite:///") or parts.netloc:
            raise InvalidInputError(
                "SQLite URLs have no host: use sqlite:///relative.db or sqlite:////abs/path.db"
            )
        path = unquote(parts.path[1:])
        if not path:
            raise InvalidInputError("the sqlite:/// URL names no file, e.g. sqlite:///app.db")
        if parts.query:
            return Target(f"file:{path}?{parts.query}", True)
        return Target(path, False)
    if not spec:
        raise InvalidInputError("the SQLite database path is empty; use ':memory:' for memory")
    return Target(spec, False)
