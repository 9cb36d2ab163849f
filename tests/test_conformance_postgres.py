"""The conformance contract on the Postgres savers, stores and cache, a schema per test."""

from __future__ import annotations

from typing import Any

import postgres_support
import pytest
from postgres_support import Schemas

from durastate.cache.postgres import PostgresCache
from durastate.checkpoint.postgres import AsyncPostgresSaver, PostgresSaver
from durastate.conformance import (
    CacheContract,
    CheckpointerContract,
    GraphScenarioContract,
    StoreContract,
)
from durastate.conformance.bad_input_saver import CacheBadInput, CheckpointerBadInput
from durastate.conformance.bad_input_store import StoreBadInput
from durastate.conformance.harness import Opener
from durastate.store.postgres import AsyncPostgresStore, PostgresStore

schemas = postgres_support.schemas
schema_pool = postgres_support.schema_pool


@pytest.fixture(params=[PostgresSaver, AsyncPostgresSaver], ids=lambda c: c.__name__)
def checkpointer_opener(
    request: pytest.FixtureRequest, postgres_url: str, schemas: Schemas
) -> Opener:
    cls: Any = request.param
    schema = schemas.new()
    return lambda **kw: cls.from_conn_string(postgres_url, schema=schema, **kw)


class TestPostgresCheckpointer(CheckpointerContract):
    pass


class TestPostgresCheckpointerBadInput(CheckpointerBadInput):
    pass


@pytest.fixture(params=[PostgresStore, AsyncPostgresStore], ids=lambda c: c.__name__)
def store_opener(request: pytest.FixtureRequest, postgres_url: str, schemas: Schemas) -> Opener:
    cls: Any = request.param
    schema = schemas.new()
    return lambda **kw: cls.from_conn_string(postgres_url, schema=schema, **kw)


@pytest.fixture
def cache_opener(postgres_url: str, schemas: Schemas) -> Opener:
    schema = schemas.new()
    return lambda **kw: PostgresCache.from_conn_string(postgres_url, schema=schema, **kw)


class TestPostgresStore(StoreContract):
    pass


class TestPostgresStoreBadInput(StoreBadInput):
    pass


class TestPostgresCache(CacheContract):
    pass


class TestPostgresCacheBadInput(CacheBadInput):
    pass


class TestPostgresGraphs(GraphScenarioContract):
    pass
