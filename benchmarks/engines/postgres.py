"""PostgreSQL engine: durastate's Postgres classes against langgraph-checkpoint-postgres.

Each side gets its own schema, dropped and recreated for every run (durastate through its
``schema=`` option, the official package through the connection's ``search_path``), on
the server in ``DURASTATE_BENCH_POSTGRES_URL`` (``benchmarks/run`` starts one of its own).
Both open from a URL the way their documentation shows. langgraph has no Postgres cache,
so durastate's ``PostgresCache`` has no row here. Storage is the total size of the
side's tables with their indexes and TOAST, without a VACUUM.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from benchmarks.engines import Engine, Side, reason

URL_VAR = "DURASTATE_BENCH_POSTGRES_URL"
OURS, THEIRS = "bench_durastate", "bench_official"


def _url() -> str:
    url = os.environ.get(URL_VAR)
    if not url:
        raise RuntimeError(f"{URL_VAR} is not set (benchmarks/run sets it)")
    return url


def _with_search_path(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema},public')}"


def _reset(schema: str) -> None:
    import psycopg

    with psycopg.connect(_url(), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public")
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")


def _schema_bytes(schema: str) -> int:
    import psycopg

    with psycopg.connect(_url(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'm')",
            (schema,),
        ).fetchone()
    return int(row[0]) if row else 0


def _durastate() -> Side:
    import durastate.checkpoint.postgres as pg

    @contextmanager
    def saver(workdir: Path) -> Iterator[Any]:
        _reset(OURS)
        with pg.PostgresSaver.from_conn_string(_url(), schema=OURS) as s:
            s.setup()
            yield s

    @asynccontextmanager
    async def asaver(workdir: Path) -> AsyncIterator[Any]:
        _reset(OURS)
        async with pg.AsyncPostgresSaver.from_conn_string(_url(), schema=OURS) as s:
            await s.setup()
            yield s

    cache = None
    try:
        from durastate.cache.postgres import PostgresCache

        @contextmanager
        def _cache(workdir: Path) -> Iterator[Any]:
            _reset(OURS)
            with PostgresCache.from_conn_string(_url(), schema=OURS) as c:
                c.setup()
                yield c

        cache = _cache
    except ImportError:
        pass

    store = astore = None
    try:
        import durastate.store.postgres as pgs  # type: ignore[import-not-found,unused-ignore]

        @contextmanager
        def _store(workdir: Path, index: Mapping[str, Any]) -> Iterator[Any]:
            _reset(OURS)
            with pgs.PostgresStore.from_conn_string(_url(), index=index, schema=OURS) as s:
                s.setup()
                yield s

        @asynccontextmanager
        async def _astore(workdir: Path, index: Mapping[str, Any]) -> AsyncIterator[Any]:
            _reset(OURS)
            async with pgs.AsyncPostgresStore.from_conn_string(
                _url(), index=index, schema=OURS
            ) as s:
                await s.setup()
                yield s

        store, astore = _store, _astore
    except ImportError:
        pass

    return Side(
        saver=saver,
        asaver=asaver,
        store=store,
        astore=astore,
        cache=cache,
        acache=cache,
        saver_bytes=lambda workdir: _schema_bytes(OURS),
        storage_unit="table bytes",
    )


def _official() -> Side:
    from langgraph.checkpoint.postgres import PostgresSaver
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from langgraph.store.postgres import AsyncPostgresStore, PostgresStore

    def url() -> str:
        return _with_search_path(_url(), THEIRS)

    @contextmanager
    def saver(workdir: Path) -> Iterator[Any]:
        _reset(THEIRS)
        with PostgresSaver.from_conn_string(url()) as s:
            s.setup()
            yield s

    @asynccontextmanager
    async def asaver(workdir: Path) -> AsyncIterator[Any]:
        _reset(THEIRS)
        async with AsyncPostgresSaver.from_conn_string(url()) as s:
            await s.setup()
            yield s

    @contextmanager
    def store(workdir: Path, index: Mapping[str, Any]) -> Iterator[Any]:
        _reset(THEIRS)
        with PostgresStore.from_conn_string(url(), index=dict(index)) as s:  # type: ignore[arg-type]
            s.setup()
            yield s

    @asynccontextmanager
    async def astore(workdir: Path, index: Mapping[str, Any]) -> AsyncIterator[Any]:
        _reset(THEIRS)
        async with AsyncPostgresStore.from_conn_string(url(), index=dict(index)) as s:  # type: ignore[arg-type]
            await s.setup()
            yield s

    return Side(
        saver=saver,
        asaver=asaver,
        store=store,
        astore=astore,
        saver_bytes=lambda workdir: _schema_bytes(THEIRS),
        storage_unit="table bytes",
    )


def engine() -> Engine:
    sides: list[Side | str] = []
    for make in (_durastate, _official):
        try:
            _url()
            sides.append(make())
        except Exception as exc:
            sides.append(reason(exc))
    return Engine("postgres", sides[0], sides[1])
