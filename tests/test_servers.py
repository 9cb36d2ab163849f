"""The real test servers answer, with the features the backends rely on."""

from __future__ import annotations

import uuid

import psycopg
import pytest
import redis
from redis.cluster import RedisCluster


def test_postgres_has_pgvector_with_iterative_index_scans(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        major = conn.execute("SHOW server_version_num").fetchone()
        assert major is not None and int(major[0]) >= 170000
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        version = row.fetchone()
        assert version is not None
        assert tuple(int(p) for p in version[0].split(".")[:2]) >= (0, 8)
        conn.execute("SET hnsw.iterative_scan = relaxed_order")
        distance = conn.execute("SELECT '[1,0]'::vector <=> '[0,1]'::vector").fetchone()
        assert distance is not None and distance[0] == pytest.approx(1.0)


def test_pgbouncer_pools_transactions(pgbouncer_url: str, postgres_url: str) -> None:
    table = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pgbouncer_url, autocommit=True, prepare_threshold=None) as conn:
        conn.execute(f"CREATE TABLE {table} (v int)")
        with conn.transaction():
            conn.execute(f"INSERT INTO {table} VALUES (%s)", (7,))
    with psycopg.connect(postgres_url, autocommit=True) as direct:
        row = direct.execute(f"SELECT v FROM {table}").fetchone()
        assert row == (7,)
        direct.execute(f"DROP TABLE {table}")


def _modules(url: str) -> set[str]:
    """Loaded server modules, leaving out Valkey's built-in scripting engine."""
    client = redis.Redis.from_url(url, decode_responses=True)
    return {str(m["name"]).lower() for m in client.module_list()} - {"lua"}


def test_redis_stack_has_the_query_engine(redis_stack_url: str) -> None:
    assert "search" in _modules(redis_stack_url)
    redis.Redis.from_url(redis_stack_url).execute_command("FT._LIST")


@pytest.mark.parametrize("fixture", ["redis_url", "valkey_url"])
def test_plain_servers_have_no_modules(fixture: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(fixture)
    client = redis.Redis.from_url(url)
    assert client.ping()
    assert _modules(url) == set()
    with pytest.raises(redis.ResponseError):
        client.execute_command("FT._LIST")


def test_valkey_is_valkey(valkey_url: str) -> None:
    info = redis.Redis.from_url(valkey_url).info("server")
    assert "valkey_version" in info or info.get("server_name") == "valkey"


def test_cluster_has_three_masters_and_routes_keys(redis_cluster_url: str) -> None:
    client = RedisCluster.from_url(redis_cluster_url)
    try:
        info = client.cluster_info()
        assert info["cluster_state"] == "ok"
        assert int(info["cluster_size"]) == 3
        keys = [f"servers-test:{uuid.uuid4().hex}" for _ in range(30)]
        for k in keys:
            client.set(k, k, ex=60)
        assert len({client.get_node_from_key(k).name for k in keys}) == 3
        assert all(client.get(k) == k.encode() for k in keys)
        client.delete(*keys)
    finally:
        client.close()
