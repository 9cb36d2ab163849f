"""Node caches on every engine; engine classes load their driver on first use."""

from __future__ import annotations

import importlib
from typing import Any

from durastate.cache.base import CacheBase
from durastate.cache.memory import InMemoryCache

_LAZY = {
    "SqliteCache": "durastate.cache.sqlite",
    "PostgresCache": "durastate.cache.postgres",
    "RedisCache": "durastate.cache.redis",
}

__all__ = ["CacheBase", "InMemoryCache", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
