"""The whole conformance contract on the SQLite backends, sync and async classes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from durastate.cache.sqlite import SqliteCache
from durastate.checkpoint.sqlite import AsyncSqliteSaver, SqliteSaver
from durastate.conformance import (
    BadInputContract,
    CacheContract,
    CheckpointerContract,
    GraphScenarioContract,
    StoreContract,
)
from durastate.conformance.harness import Opener
from durastate.store.sqlite import AsyncSqliteStore, SqliteStore


def _db(tmp_path: Path) -> str:
    return str(tmp_path / "conformance.sqlite")


@pytest.fixture(params=[SqliteSaver, AsyncSqliteSaver], ids=lambda c: c.__name__)
def checkpointer_opener(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    cls: Any = request.param
    return lambda **kw: cls.from_conn_string(_db(tmp_path), **kw)


@pytest.fixture(params=[SqliteStore, AsyncSqliteStore], ids=lambda c: c.__name__)
def store_opener(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    cls: Any = request.param
    return lambda **kw: cls.from_conn_string(_db(tmp_path), **kw)


@pytest.fixture
def cache_opener(tmp_path: Path) -> Opener:
    return lambda **kw: SqliteCache.from_conn_string(_db(tmp_path), **kw)


class TestSqliteCheckpointer(CheckpointerContract):
    pass


class TestSqliteStore(StoreContract):
    pass


class TestSqliteCache(CacheContract):
    pass


class TestSqliteBadInput(BadInputContract):
    pass


class TestSqliteGraphs(GraphScenarioContract):
    pass
