"""SQLite engine: durastate.checkpoint/store/cache SQLite classes against langgraph's.

Both sides open a file in the run's work directory the way their documentation shows
(``from_conn_string(path)``, ``SqliteCache(path=...)``). The official ``SqliteStore``
loads the sqlite-vec extension, which this Python's ``sqlite3`` cannot load, so it gets a
``pysqlite3`` connection (same DB-API, extension loading enabled, autocommit as its own
``from_conn_string`` opens).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from benchmarks.engines import Engine, Side, reason

DB = "db.sqlite"


def file_bytes(workdir: Path) -> int:
    """Bytes of the database file and its -wal / -journal companions."""
    return sum(p.stat().st_size for p in workdir.glob(DB + "*") if p.is_file())


def _durastate() -> Side:
    from durastate.cache import SqliteCache
    from durastate.checkpoint import AsyncSqliteSaver, SqliteSaver
    from durastate.store import AsyncSqliteStore, SqliteStore

    @contextmanager
    def saver(workdir: Path) -> Iterator[Any]:
        with SqliteSaver.from_conn_string(str(workdir / DB)) as s:
            s.setup()
            yield s

    @asynccontextmanager
    async def asaver(workdir: Path) -> AsyncIterator[Any]:
        async with AsyncSqliteSaver.from_conn_string(str(workdir / DB)) as s:
            await s.setup()
            yield s

    @contextmanager
    def store(workdir: Path, index: Mapping[str, Any]) -> Iterator[Any]:
        with SqliteStore.from_conn_string(str(workdir / DB), index=index) as s:
            s.setup()
            yield s

    @asynccontextmanager
    async def astore(workdir: Path, index: Mapping[str, Any]) -> AsyncIterator[Any]:
        async with AsyncSqliteStore.from_conn_string(str(workdir / DB), index=index) as s:
            await s.setup()
            yield s

    @contextmanager
    def cache(workdir: Path) -> Iterator[Any]:
        with SqliteCache.from_conn_string(str(workdir / DB)) as c:
            c.setup()
            yield c

    return Side(
        saver=saver,
        asaver=asaver,
        store=store,
        astore=astore,
        cache=cache,
        acache=cache,
        saver_bytes=file_bytes,
    )


def _official() -> Side:
    import aiosqlite
    from langgraph.cache.sqlite import SqliteCache
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
    from langgraph.store.sqlite import AsyncSqliteStore, SqliteStore

    try:
        from pysqlite3 import dbapi2 as vec_sqlite
    except ImportError:  # pragma: no cover - without benchmarks/requirements.txt
        vec_sqlite = None

    @contextmanager
    def saver(workdir: Path) -> Iterator[Any]:
        with SqliteSaver.from_conn_string(str(workdir / DB)) as s:
            s.setup()
            yield s

    @asynccontextmanager
    async def asaver(workdir: Path) -> AsyncIterator[Any]:
        async with AsyncSqliteSaver.from_conn_string(str(workdir / DB)) as s:
            await s.setup()
            yield s

    def _vec_connect(path: Path) -> Any:
        if vec_sqlite is None:
            raise RuntimeError("the official SqliteStore needs pysqlite3-binary here")
        return vec_sqlite.connect(str(path), check_same_thread=False, isolation_level=None)

    @contextmanager
    def store(workdir: Path, index: Mapping[str, Any]) -> Iterator[Any]:
        conn = _vec_connect(workdir / DB)
        try:
            s = SqliteStore(conn, index=dict(index))  # type: ignore[arg-type]
            s.setup()
            yield s
        finally:
            conn.close()

    @asynccontextmanager
    async def astore(workdir: Path, index: Mapping[str, Any]) -> AsyncIterator[Any]:
        conn = aiosqlite.Connection(lambda: _vec_connect(workdir / DB), 64)
        async with conn:
            s = AsyncSqliteStore(conn, index=dict(index))  # type: ignore[arg-type]
            await s.setup()
            yield s

    @contextmanager
    def cache(workdir: Path) -> Iterator[Any]:
        c: SqliteCache[Any] = SqliteCache(path=str(workdir / DB))
        try:
            yield c
        finally:
            c._conn.close()

    return Side(
        saver=saver,
        asaver=asaver,
        store=store,
        astore=astore,
        cache=cache,
        acache=cache,
        saver_bytes=file_bytes,
    )


def engine() -> Engine:
    durastate: Side | str
    official: Side | str
    try:
        durastate = _durastate()
    except Exception as exc:
        durastate = reason(exc)
    try:
        official = _official()
    except Exception as exc:
        official = reason(exc)
    return Engine(
        "sqlite",
        durastate,
        official,
        notes=("official SqliteStore on a pysqlite3 connection (sqlite-vec needs it here)",),
    )
