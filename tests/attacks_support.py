"""Raw access to each engine's own rows and keys, for the attack tests: write hostile bytes
where a saver, store or cache keeps its blobs, bypassing the serializer, and read them back."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ormsgpack
import psycopg
from hostile_support import Engines
from langgraph.cache.base import BaseCache
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.base import SerializerProtocol
from redis_support import admin

from durastate._engines.redis.cache_ops import pack_value
from durastate._engines.redis.keys import Layout, glob_escape
from durastate._engines.redis.requests import Cmd, Scan
from durastate._engines.redis.store_keys import StoreKeys
from durastate.cache.base import encode_namespace
from durastate.cache.postgres import PostgresCache
from durastate.cache.redis import RedisCache
from durastate.cache.sqlite import SqliteCache
from durastate.checkpoint.postgres import PostgresSaver
from durastate.checkpoint.redis import RedisSaver
from durastate.checkpoint.sqlite import SqliteSaver

Blob = tuple[str, bytes]
SQL_ENGINES = ("sqlite", "postgres")
RAW_ENGINES = ("sqlite", "postgres", "redis")
"""The engines with storage outside the process (memory has no bytes to tamper with)."""


def _sql(engines: Engines, engine: str, statement: str, params: tuple[Any, ...] = ()) -> Any:
    """Run one statement on the engine's own tables; answers the rows it returns."""
    if engine == "sqlite":
        con = sqlite3.connect(engines.sqlite_path)
        try:
            rows = con.execute(statement.replace("%s", "?"), params).fetchall()
            con.commit()
            return rows
        finally:
            con.close()
    conn = _pg_connection(engines.postgres_url)
    conn.execute(f'SET search_path TO "{engines.schema}"')
    cur = conn.execute(statement, params)
    return cur.fetchall() if cur.description else []


_PG: dict[str, psycopg.Connection[Any]] = {}


def _pg_connection(url: str) -> psycopg.Connection[Any]:
    """One autocommit connection per server for the whole session (raw reads and writes)."""
    conn = _PG.get(url)
    if conn is None or conn.closed:
        conn = _PG[url] = psycopg.connect(url, autocommit=True)
    return conn


def _thread_keys(engines: Engines, thread_id: str, kind: str) -> list[bytes]:
    base = Layout(engines.prefix).thread(thread_id).base
    found = admin(engines.redis_url).execute(Scan(f"{glob_escape(base)}:{kind}:*"))
    return sorted(found)


def _redis(engines: Engines, *args: Any) -> Any:
    return admin(engines.redis_url).execute(Cmd(args))


# --- checkpoint channel blobs and pending writes ----------------------------------------


def channel_blobs(engines: Engines, engine: str, thread_id: str) -> list[bytes]:
    """The stored bytes of every channel blob of ``thread_id`` (as the engine frames them)."""
    if engine in SQL_ENGINES:
        rows = _sql(
            engines,
            engine,
            "SELECT data FROM durastate_checkpoint_blobs WHERE thread_id = %s ORDER BY channel",
            (thread_id,),
        )
        return [bytes(r[0]) for r in rows]
    out: list[bytes] = []
    for key in _thread_keys(engines, thread_id, "b"):
        fields = _redis(engines, "HGETALL", key)
        out += [bytes(fields[f]) for f in sorted(fields)]
    return out


def poison_channels(engines: Engines, engine: str, thread_id: str, blob: Blob) -> int:
    """Replace every channel blob of ``thread_id`` with ``blob``; answers how many."""
    type_, data = blob
    if engine in SQL_ENGINES:
        rows = _sql(
            engines,
            engine,
            "UPDATE durastate_checkpoint_blobs SET type = %s, data = %s WHERE thread_id = %s"
            " RETURNING channel",
            (type_, data, thread_id),
        )
        return len(rows)
    count = 0
    for key in _thread_keys(engines, thread_id, "b"):
        for field in _redis(engines, "HKEYS", key):
            _redis(engines, "HSET", key, field, type_.encode() + b"\x00" + data)
            count += 1
    return count


def set_channel_bytes(engines: Engines, engine: str, thread_id: str, stored: list[bytes]) -> None:
    """Put back channel blobs as read by :func:`channel_blobs` (same order), e.g. tampered."""
    if engine in SQL_ENGINES:
        rows = _sql(
            engines,
            engine,
            "SELECT channel, version FROM durastate_checkpoint_blobs WHERE thread_id = %s"
            " ORDER BY channel",
            (thread_id,),
        )
        assert len(rows) == len(stored)
        for (channel, version), data in zip(rows, stored, strict=True):
            _sql(
                engines,
                engine,
                "UPDATE durastate_checkpoint_blobs SET data = %s"
                " WHERE thread_id = %s AND channel = %s AND version = %s",
                (data, thread_id, channel, version),
            )
        return
    pending = list(stored)
    for key in _thread_keys(engines, thread_id, "b"):
        for field in sorted(_redis(engines, "HGETALL", key)):
            _redis(engines, "HSET", key, field, pending.pop(0))
    assert not pending


def poison_writes(engines: Engines, engine: str, thread_id: str, blob: Blob) -> int:
    """Replace the value of every pending write of ``thread_id`` with ``blob``."""
    type_, data = blob
    if engine in SQL_ENGINES:
        rows = _sql(
            engines,
            engine,
            "UPDATE durastate_checkpoint_writes SET type = %s, data = %s WHERE thread_id = %s"
            " RETURNING channel",
            (type_, data, thread_id),
        )
        return len(rows)
    count = 0
    for key in _thread_keys(engines, thread_id, "w"):
        for field, raw in _redis(engines, "HGETALL", key).items():
            size = int.from_bytes(raw[:4], "big")
            header = ormsgpack.unpackb(raw[4 : 4 + size])
            header[2] = type_
            packed = ormsgpack.packb(header)
            _redis(engines, "HSET", key, field, len(packed).to_bytes(4, "big") + packed + data)
            count += 1
    return count


# --- cache entries and store values -------------------------------------------------------


def poison_cache(engines: Engines, engine: str, ns: tuple[str, ...], key: str, blob: Blob) -> None:
    """Overwrite one existing cache entry's stored bytes with ``blob`` (keeping its expiry)."""
    type_, data = blob
    ns_text = encode_namespace(ns)
    if engine in SQL_ENGINES:
        rows = _sql(
            engines,
            engine,
            "UPDATE durastate_cache SET type = %s, data = %s WHERE ns = %s AND key = %s"
            " RETURNING key",
            (type_, data, ns_text, key),
        )
        assert len(rows) == 1, rows
        return
    entry = Layout(engines.prefix).cache(ns_text).entry(key)
    assert _redis(engines, "SET", entry, pack_value(type_, data), "XX", "KEEPTTL")


def cache_bytes(engines: Engines, engine: str, ns: tuple[str, ...], key: str) -> bytes:
    """The stored bytes of one cache entry (without the engine's framing)."""
    ns_text = encode_namespace(ns)
    if engine in SQL_ENGINES:
        rows = _sql(
            engines,
            engine,
            "SELECT data FROM durastate_cache WHERE ns = %s AND key = %s",
            (ns_text, key),
        )
        return bytes(rows[0][0])
    raw = _redis(engines, "GET", Layout(engines.prefix).cache(ns_text).entry(key))
    return bytes(raw).partition(b"\x00")[2]


def store_value_text(engines: Engines, engine: str, ns: tuple[str, ...], key: str) -> str:
    """The stored JSON text of one store item's value."""
    if engine == "redis":
        item = StoreKeys.of(Layout(engines.prefix)).item(ns, key)
        return bytes(_redis(engines, "HGET", item, "v")).decode()
    rows = _sql(engines, engine, "SELECT value, ns FROM durastate_store WHERE key = %s", (key,))
    assert len(rows) == 1, rows
    value = rows[0][0]
    return value if isinstance(value, str) else json.dumps(value)


def poison_store(
    engines: Engines, engine: str, ns: tuple[str, ...], key: str, value: dict[str, Any]
) -> None:
    """Overwrite one existing store item's stored JSON value, bypassing ``put``."""
    text = json.dumps(value)
    if engine == "redis":
        item = StoreKeys.of(Layout(engines.prefix)).item(ns, key)
        assert _redis(engines, "EXISTS", item) == 1
        _redis(engines, "HSET", item, "v", text)
        return
    cast = "%s::jsonb" if engine == "postgres" else "%s"
    rows = _sql(
        engines,
        engine,
        f"UPDATE durastate_store SET value = {cast} WHERE key = %s RETURNING key",
        (text, key),
    )
    assert len(rows) == 1, rows


def all_stored_bytes(engines: Engines, engine: str) -> bytes:
    """Every byte the engine holds for these backends: the SQLite file (and its WAL), every
    Postgres column of every table in the schema, every Redis value under the prefix."""
    if engine == "sqlite":
        parts = [Path(engines.sqlite_path)]
        parts += [Path(f"{engines.sqlite_path}{suffix}") for suffix in ("-wal", "-journal")]
        return b"".join(p.read_bytes() for p in parts if p.exists())
    if engine == "postgres":
        tables = _sql(
            engines,
            engine,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (engines.schema,),
        )
        out = []
        for (table,) in tables:
            for row in _sql(engines, engine, f'SELECT * FROM "{table}"'):
                out += [
                    bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode() for v in row
                ]
        return b"\n".join(out)
    chunks: list[bytes] = []
    for key in admin(engines.redis_url).execute(Scan(f"{glob_escape(engines.prefix)}:*")):
        reply = _redis(engines, "TYPE", key)
        kind = reply.decode() if isinstance(reply, bytes) else str(reply)
        if kind == "string":
            chunks.append(bytes(_redis(engines, "GET", key)))
        elif kind == "hash":
            for field, value in _redis(engines, "HGETALL", key).items():
                chunks += [bytes(field), bytes(value)]
        elif kind == "zset":
            chunks += [bytes(m) for m in _redis(engines, "ZRANGE", key, 0, -1)]
        elif kind == "set":
            chunks += [bytes(m) for m in _redis(engines, "SMEMBERS", key)]
        else:
            raise AssertionError(f"unexpected Redis type {kind} of {key!r}")
    return b"\n".join(chunks)


@contextmanager
def reopened(
    engines: Engines, engine: str, serde: SerializerProtocol
) -> Iterator[tuple[BaseCheckpointSaver[Any], BaseCache[Any]]]:
    """A second saver and cache on the same storage as ``engines``' ones, with ``serde``."""
    if engine == "sqlite":
        path = engines.sqlite_path
        with (
            SqliteSaver.from_conn_string(path, serde=serde) as saver,
            SqliteCache.from_conn_string(path, serde=serde) as cache,
        ):
            yield saver, cache
    elif engine == "postgres":
        url, schema = engines.postgres_url, engines.schema
        with (
            PostgresSaver.from_conn_string(url, schema=schema, serde=serde) as pg_saver,
            PostgresCache.from_conn_string(url, schema=schema, serde=serde) as pg_cache,
        ):
            yield pg_saver, pg_cache
    else:
        url, prefix = engines.redis_url, engines.prefix
        with (
            RedisSaver.from_conn_string(url, key_prefix=prefix, serde=serde) as r_saver,
            RedisCache.from_conn_string(url, key_prefix=prefix, serde=serde) as r_cache,
        ):
            yield r_saver, r_cache
