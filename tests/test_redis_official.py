"""LangGraph's own checkpointer conformance suite at FULL for both Redis savers, both APIs."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from redis_support import SERVERS, delete_prefix, server_fixture_name

from durastate.checkpoint.redis import AsyncRedisSaver, RedisSaver
from durastate.conformance import assert_official_full


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("api", ["async", "sync"])
@pytest.mark.parametrize("cls", [RedisSaver, AsyncRedisSaver], ids=lambda c: c.__name__)
async def test_official_conformance_is_full(
    request: pytest.FixtureRequest, cls: Any, api: str, server: str
) -> None:
    url = str(request.getfixturevalue(server_fixture_name(server)))
    prefixes: list[str] = []

    def opener(**kw: Any) -> Any:
        prefixes.append(f"dstest-official-{uuid.uuid4().hex[:12]}")
        return cls.from_conn_string(url, key_prefix=prefixes[-1], **kw)

    try:
        await assert_official_full(opener, api=api, name=f"{cls.__name__}-{server}")
    finally:
        for prefix in prefixes:
            delete_prefix(url, prefix)
