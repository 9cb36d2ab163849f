"""Test helpers for the Redis backends: one fresh key prefix per test, deleted afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from durastate._engines.redis.clients import SyncDriver
from durastate._engines.redis.keys import Layout
from durastate._engines.redis.requests import Cmd, Pipe, Scan

SERVERS = ["redis", "valkey", "redis-cluster"]
"""Plain Redis 7 (no modules), Valkey and the 3-master Redis Cluster."""


def server_fixture_name(server: str) -> str:
    return server.replace("-", "_") + "_url"


def delete_prefix(url: str, prefix: str) -> int:
    """Delete every key under ``prefix`` on the server (every node of a cluster)."""
    driver = SyncDriver.open(url)
    try:
        keys = driver.execute(Scan(Layout(prefix).everything()))
        if keys:
            driver.execute(Pipe(tuple(Cmd(("DEL", k)) for k in keys)))
        return len(keys)
    finally:
        driver.close()


def keys_under(url: str, prefix: str) -> list[bytes]:
    driver = SyncDriver.open(url)
    try:
        return sorted(driver.execute(Scan(Layout(prefix).everything())))
    finally:
        driver.close()


@pytest.fixture
def key_prefix(request: pytest.FixtureRequest, server_url: str) -> Iterator[str]:
    """A prefix no other test uses; its keys are deleted when the test ends."""
    prefix = f"dstest-{uuid.uuid4().hex[:12]}"
    yield prefix
    delete_prefix(server_url, prefix)
