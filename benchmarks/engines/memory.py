"""In-memory engine: durastate's InMemory* against langgraph's InMemory* classes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from benchmarks.engines import Engine, Side


def _durastate() -> Side:
    from durastate.cache import InMemoryCache
    from durastate.checkpoint import InMemorySaver
    from durastate.store import InMemoryStore

    @contextmanager
    def saver(workdir: Path) -> Iterator[Any]:
        yield InMemorySaver()

    @asynccontextmanager
    async def asaver(workdir: Path) -> AsyncIterator[Any]:
        yield InMemorySaver()

    @contextmanager
    def store(workdir: Path, index: Mapping[str, Any]) -> Iterator[Any]:
        yield InMemoryStore(index=index)

    @asynccontextmanager
    async def astore(workdir: Path, index: Mapping[str, Any]) -> AsyncIterator[Any]:
        yield InMemoryStore(index=index)

    @contextmanager
    def cache(workdir: Path) -> Iterator[Any]:
        yield InMemoryCache()

    return Side(saver=saver, asaver=asaver, store=store, astore=astore, cache=cache, acache=cache)


def _official() -> Side:
    from langgraph.cache.memory import InMemoryCache
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.store.memory import InMemoryStore

    @contextmanager
    def saver(workdir: Path) -> Iterator[Any]:
        yield InMemorySaver()

    @asynccontextmanager
    async def asaver(workdir: Path) -> AsyncIterator[Any]:
        yield InMemorySaver()

    @contextmanager
    def store(workdir: Path, index: Mapping[str, Any]) -> Iterator[Any]:
        yield InMemoryStore(index=dict(index))  # type: ignore[arg-type]

    @asynccontextmanager
    async def astore(workdir: Path, index: Mapping[str, Any]) -> AsyncIterator[Any]:
        yield InMemoryStore(index=dict(index))  # type: ignore[arg-type]

    @contextmanager
    def cache(workdir: Path) -> Iterator[Any]:
        yield InMemoryCache()

    return Side(saver=saver, asaver=asaver, store=store, astore=astore, cache=cache, acache=cache)


def engine() -> Engine:
    return Engine("memory", _durastate(), _official())
