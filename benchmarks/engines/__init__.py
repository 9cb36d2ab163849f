"""What an engine module gives the harness: factories for both implementations."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph.cache.base import BaseCache
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore

IMPLS = ("durastate", "official")

SaverFactory = Callable[[Path], AbstractContextManager[BaseCheckpointSaver[Any]]]
AsyncSaverFactory = Callable[[Path], AbstractAsyncContextManager[BaseCheckpointSaver[Any]]]
StoreFactory = Callable[[Path, Mapping[str, Any]], AbstractContextManager[BaseStore]]
AsyncStoreFactory = Callable[[Path, Mapping[str, Any]], AbstractAsyncContextManager[BaseStore]]
CacheFactory = Callable[[Path], AbstractContextManager[BaseCache[Any]]]


@dataclass(frozen=True)
class Side:
    """How one implementation opens its backends, each call on fresh, empty storage.

    ``workdir`` is an empty directory the run owns. A factory left ``None`` means the
    implementation has no such backend on this engine (rows needing it are skipped).
    ``saver_bytes(workdir)`` answers the storage the last saver used, after it closed.
    """

    saver: SaverFactory | None = None
    asaver: AsyncSaverFactory | None = None
    store: StoreFactory | None = None
    astore: AsyncStoreFactory | None = None
    cache: CacheFactory | None = None
    acache: CacheFactory | None = None
    saver_bytes: Callable[[Path], int] | None = None
    storage_unit: str = "bytes on disk"


@dataclass(frozen=True)
class Engine:
    """Both implementations on one engine; a side is a ``Side`` or why it is missing."""

    name: str
    durastate: Side | str
    official: Side | str
    notes: tuple[str, ...] = ()

    def side(self, impl: str) -> Side | str:
        return self.durastate if impl == "durastate" else self.official


MODULES = {
    "memory": "benchmarks.engines.memory",
    "sqlite": "benchmarks.engines.sqlite",
    "postgres": "benchmarks.engines.postgres",
    "redis": "benchmarks.engines.redis",
}


def load(name: str) -> Engine:
    """Import ``benchmarks/engines/<name>.py`` and answer its ``engine()``."""
    if name not in MODULES:
        raise SystemExit(f"unknown engine {name!r}; known: {', '.join(MODULES)}")
    try:
        module = importlib.import_module(MODULES[name])
    except ImportError as exc:
        return Engine(name, reason(exc), reason(exc))
    engine: Engine = module.engine()
    return engine


def reason(exc: BaseException) -> str:
    """A one-line reason a side is unavailable."""
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
