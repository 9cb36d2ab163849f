"""The official LangGraph backends as sources: ``langgraph+sqlite:///old.db``,
``langgraph+postgresql://...`` and ``langgraph+redis://...``, read through the installed
official classes.

Checkpoints are read with the official saver (``langgraph.checkpoint.sqlite`` /
``.postgres``) given durastate's serializer, which reads what LangGraph's wrote and never
imports what stored bytes name. Store items are read with the official store's public API,
completed with their TTL and expiry from the store's own table (which that API does not
return, on SQLite and Postgres); no data in the source is changed (on Redis the official
classes' ``setup`` creates their search indexes if missing).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from durastate.connect import BackendURL, InvalidURLError, mask_url, parse_url
from durastate.errors import DurastateError
from durastate.migrate.checkpoints import Checkpoints
from durastate.migrate.items import by_search, chunks, timestamp
from durastate.migrate.options import Selection
from durastate.migrate.report import CopyReport
from durastate.migrate.sides import BackendSide
from durastate.migrate.threads import thread_config
from durastate.serde import default_serializer
from durastate.store.transfer import ExportedItem

PREFIX = "langgraph+"
OFFICIAL_ENGINES = ("sqlite", "postgres", "redis")


class OfficialSourceError(DurastateError):
    """An official backend's database could not be read as a source."""


@dataclass(frozen=True, repr=False)
class OfficialURL(BackendURL):
    """A ``langgraph+...`` URL: the official backend's database, read as a source."""


def is_official(text: str) -> bool:
    return isinstance(text, str) and text.lower().startswith(PREFIX)


def parse_official(text: str) -> OfficialURL:
    """Check a ``langgraph+<scheme>://`` URL; the part after ``langgraph+`` is parsed as usual."""
    inner = parse_url(text[len(PREFIX) :])
    if inner.engine not in OFFICIAL_ENGINES:
        raise InvalidURLError(
            f"backend URL {mask_url(text)!r}: official sources are langgraph+sqlite:///, "
            "langgraph+postgresql:// and langgraph+redis://"
        )
    if inner.options:
        names = ", ".join(sorted(inner.options))
        raise InvalidURLError(f"backend URL {mask_url(text)!r}: {names} apply to durastate only")
    if inner.engine == "sqlite" and inner.target.startswith("sqlite:"):
        raise InvalidURLError(
            f"backend URL {mask_url(text)!r}: official SQLite sources take a plain path"
        )
    return OfficialURL(inner.engine, text, inner.target, {}, inner.cluster)


Lifetimes = Callable[[str, list[str]], dict[str, tuple[Any, Any]]]
"""(prefix, keys) -> {key: (expires_at, ttl_minutes)} from an official store's table."""


class _LifetimeLookup:
    """Completes items with ``expires_at``/``ttl_minutes``, one query per namespace batch."""

    def __init__(self, fetch: Lifetimes) -> None:
        self._fetch = fetch

    def complete(self, items: Iterator[ExportedItem], batch: int) -> Iterator[ExportedItem]:
        for chunk in chunks(items, batch):
            by_prefix: dict[str, list[str]] = {}
            for item in chunk:
                by_prefix.setdefault(".".join(item.namespace), []).append(item.key)
            found = {
                (prefix, key): row
                for prefix, keys in by_prefix.items()
                for key, row in self._fetch(prefix, keys).items()
            }
            for item in chunk:
                expires, ttl = found.get((".".join(item.namespace), item.key), (None, None))
                yield ExportedItem(
                    item.namespace,
                    item.key,
                    item.value,
                    item.created_at,
                    item.updated_at,
                    None if expires is None else timestamp(expires),
                    None if ttl is None else float(ttl),
                    None,
                )


@dataclass
class OfficialSide(BackendSide):
    """An official saver and store; items come with their lifetimes from the store's table."""

    lifetimes: _LifetimeLookup | None = None

    def items(
        self, prefix: tuple[str, ...], batch_size: int, report: CopyReport
    ) -> Iterator[ExportedItem]:
        if self.store is None:
            return iter(())
        report.warn(
            f"{type(self.store).__name__} keeps no vectors durastate can read: items are "
            "embedded again by the destination's index, if it has one"
        )
        found = by_search(self.store, prefix)
        if self.lifetimes is None:
            report.warn(f"{type(self.store).__name__} items are copied without their TTL")
            return found
        return self.lifetimes.complete(found, batch_size)


def _sqlite_tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {r[0] for r in rows}


@contextmanager
def _open_sqlite(url: OfficialURL) -> Iterator[OfficialSide]:
    try:
        from langgraph.checkpoint.sqlite import SqliteSaver
        from langgraph.store.sqlite import SqliteStore
    except ModuleNotFoundError as exc:
        raise OfficialSourceError(
            f"reading {url.masked} needs the official package: pip install "
            "langgraph-checkpoint-sqlite"
        ) from exc
    conn = sqlite3.connect(url.target, check_same_thread=False, isolation_level=None)
    try:
        tables = _sqlite_tables(conn)
        if not tables & {"checkpoints", "store"}:
            raise OfficialSourceError(
                f"{url.masked}: no LangGraph checkpoints or store tables in {url.target!r}"
            )
        saver = None
        if "checkpoints" in tables:
            saver = SqliteSaver(conn, serde=default_serializer())
            saver.is_setup = "writes" in tables  # the tables exist: never migrate the source
        store = SqliteStore(conn) if "store" in tables else None
        if store is not None:
            store.is_setup = True  # the tables exist: never migrate the source

        def fetch(prefix: str, keys: list[str]) -> dict[str, tuple[Any, Any]]:
            rows = conn.execute(
                "SELECT key, expires_at, ttl_minutes FROM store WHERE prefix = ? "
                "AND key IN (SELECT value FROM json_each(?))",
                (prefix, json.dumps(keys)),
            ).fetchall()
            return {r[0]: (r[1], r[2]) for r in rows}

        yield OfficialSide(saver, store, lifetimes=_LifetimeLookup(fetch) if store else None)
    finally:
        conn.close()


@contextmanager
def _open_postgres(url: OfficialURL) -> Iterator[OfficialSide]:
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
        from langgraph.store.postgres import PostgresStore
        from psycopg import Connection
        from psycopg.rows import dict_row
    except ModuleNotFoundError as exc:
        raise OfficialSourceError(
            f"reading {url.masked} needs the official package: pip install "
            "langgraph-checkpoint-postgres"
        ) from exc
    with ExitStack() as stack:
        conn = stack.enter_context(
            Connection.connect(
                url.target, autocommit=True, prepare_threshold=0, row_factory=dict_row
            )
        )
        found = {
            r["table_name"]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_name IN ('checkpoints', 'store')"
            ).fetchall()
        }
        if not found:
            raise OfficialSourceError(f"{url.masked}: no LangGraph checkpoints or store tables")
        saver = PostgresSaver(conn, serde=default_serializer()) if "checkpoints" in found else None
        store = PostgresStore(conn) if "store" in found else None

        def fetch(prefix: str, keys: list[str]) -> dict[str, tuple[Any, Any]]:
            rows = conn.execute(
                "SELECT key, expires_at, ttl_minutes FROM store "
                "WHERE prefix = %s AND key = ANY(%s)",
                (prefix, keys),
            ).fetchall()
            return {r["key"]: (r["expires_at"], r["ttl_minutes"]) for r in rows}

        yield OfficialSide(saver, store, lifetimes=_LifetimeLookup(fetch) if store else None)


REDIS_LIST_CAP = 10_000
"""``langgraph-checkpoint-redis`` answers at most this many checkpoints per ``list``."""


@dataclass
class OfficialRedisSide(OfficialSide):
    """The official Redis saver, whose ``list`` silently stops at 10,000 checkpoints."""

    def threads(
        self, selection: Selection, report: CopyReport
    ) -> Iterator[tuple[str, Checkpoints]]:
        if self.saver is not None:
            if not selection.thread_ids and len(list(self.saver.list(None))) >= REDIS_LIST_CAP:
                raise OfficialSourceError(
                    "langgraph-checkpoint-redis lists at most 10,000 checkpoints, so threads "
                    "beyond them cannot be found; name the threads with --thread"
                )
            for thread_id in selection.thread_ids:
                found = len(list(self.saver.list(thread_config(thread_id))))
                if found >= REDIS_LIST_CAP:
                    raise OfficialSourceError(
                        f"thread {thread_id!r} has 10,000 checkpoints or more, more than "
                        "langgraph-checkpoint-redis can list; it cannot be copied completely"
                    )
        yield from super().threads(selection, report)


@contextmanager
def _open_redis(url: OfficialURL) -> Iterator[OfficialSide]:
    try:
        from langgraph.checkpoint.redis import RedisSaver
        from langgraph.store.redis import RedisStore
    except ModuleNotFoundError as exc:
        raise OfficialSourceError(
            f"reading {url.masked} needs the official package: pip install "
            "langgraph-checkpoint-redis"
        ) from exc
    with ExitStack() as stack:
        saver = stack.enter_context(RedisSaver.from_conn_string(url.target))
        saver.setup()  # its search indexes (the data is left as it is)
        store = stack.enter_context(RedisStore.from_conn_string(url.target))
        store.setup()
        yield OfficialRedisSide(saver, store)


@contextmanager
def open_official(url: OfficialURL) -> Iterator[OfficialSide]:
    """The official saver and store on the URL's database; its data is only read."""
    opener = {"sqlite": _open_sqlite, "postgres": _open_postgres, "redis": _open_redis}
    with opener[url.engine](url) as side:
        yield side
