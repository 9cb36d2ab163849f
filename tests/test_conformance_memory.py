"""The whole conformance contract, and LangGraph's own suite, on the in-memory backends."""

from __future__ import annotations

from typing import Any

import pytest

from durastate.cache.memory import InMemoryCache, MemoryCacheData
from durastate.checkpoint.memory import InMemorySaver, MemoryCheckpointData
from durastate.conformance import (
    BadInputContract,
    CacheContract,
    CheckpointerContract,
    GraphScenarioContract,
    StoreContract,
    assert_official_full,
)
from durastate.conformance.harness import Opener
from durastate.store.memory import InMemoryStore, MemoryStoreData


@pytest.fixture
def checkpointer_opener() -> Opener:
    data = MemoryCheckpointData()
    return lambda **kw: InMemorySaver(data=data, **kw)


@pytest.fixture
def store_opener() -> Opener:
    data = MemoryStoreData()
    return lambda **kw: InMemoryStore(data=data, **kw)


@pytest.fixture
def cache_opener() -> Opener:
    data = MemoryCacheData()
    return lambda **kw: InMemoryCache(data=data, **kw)


class TestMemoryCheckpointer(CheckpointerContract):
    pass


class TestMemoryStore(StoreContract):
    pass


class TestMemoryCache(CacheContract):
    pass


class TestMemoryBadInput(BadInputContract):
    pass


class TestMemoryGraphs(GraphScenarioContract):
    pass


@pytest.mark.parametrize("api", ["async", "sync"])
async def test_official_conformance_is_full(api: str) -> None:
    def fresh(**kw: Any) -> InMemorySaver:
        return InMemorySaver(**kw)

    await assert_official_full(fresh, api=api, name="InMemorySaver")
