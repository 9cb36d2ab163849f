"""The checkpointer contract on both Postgres savers, each test in a schema of its own."""

from __future__ import annotations

from typing import Any

import postgres_support
import pytest
from postgres_support import Schemas

from durastate.checkpoint.postgres import AsyncPostgresSaver, PostgresSaver
from durastate.conformance import CheckpointerContract
from durastate.conformance.harness import Opener

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
