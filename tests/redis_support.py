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


_DRIVERS: dict[str, SyncDriver] = {}


def admin(url: str) -> SyncDriver:
    """One blocking client per server for the whole session (cleanup and inspection)."""
    if url not in _DRIVERS:
        _DRIVERS[url] = SyncDriver.open(url)
    return _DRIVERS[url]


def keys_under(url: str, prefix: str) -> list[bytes]:
    """Every key under ``prefix`` on the server (every node of a cluster)."""
    layout = Layout(prefix)
    found = {k for pattern in layout.patterns() for k in admin(url).execute(Scan(pattern))}
    return sorted(k for k in found if layout.owns(k))


def delete_prefix(url: str, prefix: str) -> int:
    """Delete every key under ``prefix``; answers how many there were."""
    keys = keys_under(url, prefix)
    if keys:
        admin(url).execute(Pipe(tuple(Cmd(("DEL", k)) for k in keys)))
    return len(keys)


@pytest.fixture
def key_prefix(request: pytest.FixtureRequest, server_url: str) -> Iterator[str]:
    """A prefix no other test uses; its keys are deleted when the test ends."""
    prefix = f"dstest-{uuid.uuid4().hex[:12]}"
    yield prefix
    delete_prefix(server_url, prefix)
