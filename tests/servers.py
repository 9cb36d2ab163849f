"""Fixtures naming the real test servers that `scripts/servers` starts on 127.0.0.1.

Each fixture answers the server's URL from its ``DURASTATE_TEST_*_URL`` variable
(`scripts/test` exports them; by hand: ``eval "$(scripts/servers env)"``). A server
that is not configured fails the test: a backend that cannot be reached is never skipped.
"""

from __future__ import annotations

import os

import pytest

URL_VARS = {
    "postgres": "DURASTATE_TEST_POSTGRES_URL",
    "pgbouncer": "DURASTATE_TEST_PGBOUNCER_URL",
    "redis-stack": "DURASTATE_TEST_REDIS_STACK_URL",
    "redis": "DURASTATE_TEST_REDIS_URL",
    "valkey": "DURASTATE_TEST_VALKEY_URL",
    "redis-cluster": "DURASTATE_TEST_REDIS_CLUSTER_URL",
}


def server_url(name: str) -> str:
    """The URL of test server ``name``; fails the calling test when it is not set."""
    var = URL_VARS[name]
    url = os.environ.get(var)
    if not url:
        pytest.fail(
            f"{name}: {var} is not set; run the suite with scripts/test, or start the "
            f'servers with scripts/servers start and eval "$(scripts/servers env)"',
            pytrace=False,
        )
    return url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return server_url("postgres")


@pytest.fixture(scope="session")
def pgbouncer_url() -> str:
    return server_url("pgbouncer")


@pytest.fixture(scope="session")
def redis_stack_url() -> str:
    return server_url("redis-stack")


@pytest.fixture(scope="session")
def redis_url() -> str:
    return server_url("redis")


@pytest.fixture(scope="session")
def valkey_url() -> str:
    return server_url("valkey")


@pytest.fixture(scope="session")
def redis_cluster_url() -> str:
    return server_url("redis-cluster")
