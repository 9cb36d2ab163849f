"""LangGraph's own checkpointer conformance suite, at FULL level, for both Postgres savers."""

from __future__ import annotations

from typing import Any

import postgres_support
import pytest
from postgres_support import Schemas

from durastate.checkpoint.postgres import AsyncPostgresSaver, PostgresSaver
from durastate.conformance import assert_official_full

pytestmark = pytest.mark.asyncio
schemas = postgres_support.schemas
schema_pool = postgres_support.schema_pool


@pytest.mark.parametrize("api", ["async", "sync"])
@pytest.mark.parametrize("cls", [PostgresSaver, AsyncPostgresSaver], ids=lambda c: c.__name__)
async def test_official_conformance_is_full(
    postgres_url: str, schemas: Schemas, cls: Any, api: str
) -> None:
    def opener() -> Any:
        return cls.from_conn_string(postgres_url, schema=schemas.new())

    await assert_official_full(opener, api=api, name=cls.__name__)
