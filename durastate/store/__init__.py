"""Long-term memory stores on every engine; engine classes load their driver on first use."""

from __future__ import annotations

import importlib
from typing import Any

from durastate.store.base import StoreBase
from durastate.store.index import DurastateIndexConfig
from durastate.store.memory import InMemoryStore

_LAZY = {
    "SqliteStore": "durastate.store.sqlite",
    "AsyncSqliteStore": "durastate.store.sqlite",
    "PostgresStore": "durastate.store.postgres",
    "AsyncPostgresStore": "durastate.store.postgres",
    "RedisStore": "durastate.store.redis",
    "AsyncRedisStore": "durastate.store.redis",
}

__all__ = ["DurastateIndexConfig", "InMemoryStore", "StoreBase", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
