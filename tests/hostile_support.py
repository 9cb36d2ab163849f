"""One saver, store and cache per engine on private storage, for the hostile-input tests."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from langgraph.cache.base import BaseCache
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore
from redis_support import delete_prefix

from durastate.cache import InMemoryCache
from durastate.cache.postgres import PostgresCache
from durastate.cache.redis import RedisCache
from durastate.cache.sqlite import SqliteCache
from durastate.checkpoint import InMemorySaver
from durastate.checkpoint.postgres import PostgresSaver
from durastate.checkpoint.redis import RedisSaver
from durastate.checkpoint.sqlite import SqliteSaver
from durastate.store import InMemoryStore
from durastate.store.postgres import PostgresStore
from durastate.store.redis import RedisStore
from durastate.store.sqlite import SqliteStore


@dataclass
class Engines:
    """Backends of every engine, plus where their storage lives (for raw access)."""

    sqlite_path: str
    postgres_url: str
    schema: str
    redis_url: str
    prefix: str
    savers: dict[str, BaseCheckpointSaver[Any]] = field(default_factory=dict)
    stores: dict[str, BaseStore] = field(default_factory=dict)
    caches: dict[str, BaseCache[Any]] = field(default_factory=dict)


@contextmanager
def engines(postgres_url: str, redis_url: str, **serde: Any) -> Iterator[Engines]:
    """Memory, SQLite (one file), Postgres (one fresh schema) and plain Redis (one fresh key
    prefix); the schema and the keys are gone afterwards. ``serde=`` goes to savers and caches."""
    schema = f"t_hostile_{uuid.uuid4().hex[:12]}"
    prefix = f"dstest-hostile-{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        stack.callback(delete_prefix, redis_url, prefix)
        stack.callback(drop_schema, postgres_url, schema)
        path = str(Path(tmp) / "hostile.db")
        out = Engines(path, postgres_url, schema, redis_url, prefix)
        enter = stack.enter_context
        out.savers = {
            "memory": InMemorySaver(**serde),
            "sqlite": enter(SqliteSaver.from_conn_string(path, **serde)),
            "postgres": enter(PostgresSaver.from_conn_string(postgres_url, schema=schema, **serde)),
            "redis": enter(RedisSaver.from_conn_string(redis_url, key_prefix=prefix, **serde)),
        }
        out.stores = {
            "memory": InMemoryStore(),
            "sqlite": enter(SqliteStore.from_conn_string(path)),
            "postgres": enter(PostgresStore.from_conn_string(postgres_url, schema=schema)),
            "redis": enter(RedisStore.from_conn_string(redis_url, key_prefix=prefix)),
        }
        out.caches = {
            "memory": InMemoryCache(**serde),
            "sqlite": enter(SqliteCache.from_conn_string(path, **serde)),
            "postgres": enter(PostgresCache.from_conn_string(postgres_url, schema=schema, **serde)),
            "redis": enter(RedisCache.from_conn_string(redis_url, key_prefix=prefix, **serde)),
        }
        yield out


def drop_schema(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def outcome(fn: Any, *args: Any, **kw: Any) -> Any:
    """What a call answers, or the type of what it raised (to compare engines)."""
    try:
        return fn(*args, **kw)
    except Exception as exc:  # the exception's type is the answer compared across engines
        return type(exc)
