"""`durastate copy` between every ordered pair of engines (threads, items with vectors and TTL),
on the real servers."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from langgraph.types import Command
from migrate_support import config, graph, history, index_config, populate
from postgres_support import schema_pool, schemas

from durastate.cli.main import EXIT_OK, run
from durastate.connect import PartOptions, open_part

ENGINES = ("sqlite", "postgres", "redis")
__all__ = ["schema_pool", "schemas"]  # fixtures: each test gets its own Postgres schema


@pytest.fixture(autouse=True)
def _no_urls_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DURASTATE_URL", raising=False)


@pytest.fixture
def prefix() -> str:
    return f"migrate-{uuid.uuid4().hex[:10]}-"


def with_option(url: str, name: str, value: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{name}={value}"


@pytest.fixture
def urls(request: pytest.FixtureRequest, tmp_path: Path, prefix: str) -> Iterator[dict[str, str]]:
    """One URL per engine the test needs: its own schema on Postgres, key prefix on Redis."""
    wanted = set(request.node.callspec.params.values())
    found = {"sqlite": f"sqlite:///{tmp_path}/engine.db"}
    if "postgres" in wanted:
        schema = request.getfixturevalue("schemas").new(fresh=True)
        found["postgres"] = with_option(request.getfixturevalue("postgres_url"), "schema", schema)
    if "redis" in wanted:
        redis_url = request.getfixturevalue("redis_stack_url")  # semantic search needs it
        found["redis"] = with_option(redis_url, "key_prefix", prefix)
    yield found
    if "redis" in found:
        client = redis.Redis.from_url(request.getfixturevalue("redis_stack_url"))
        try:
            for name in client.execute_command("FT._LIST"):  # type: ignore[no-untyped-call]
                if prefix in (name.decode() if isinstance(name, bytes) else str(name)):
                    client.execute_command("FT.DROPINDEX", name)  # type: ignore[no-untyped-call]
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


def exported(store: Any) -> list[tuple[Any, ...]]:
    """Items as exported; expiry apart (Redis keeps it in milliseconds)."""
    return [
        (
            i.namespace,
            i.key,
            i.value,
            round(i.created_at, 5),
            round(i.updated_at, 5),
            i.expires_at is None,
            i.ttl_minutes,
            [v.vector.tobytes() for v in i.vectors or ()],
        )
        for i in store.export_items()
    ]


def expiries(store: Any) -> list[float]:
    return [i.expires_at for i in store.export_items() if i.expires_at is not None]


@pytest.mark.parametrize(
    ("source", "destination"), [(a, b) for a in ENGINES for b in ENGINES if a != b]
)
def test_everything_moves_between_engines_and_resumes(
    capsys: pytest.CaptureFixture[str],
    urls: dict[str, str],
    prefix: str,
    source: str,
    destination: str,
) -> None:
    src, dst = urls[source], urls[destination]
    threads = [f"{prefix}waiting", f"{prefix}done"]
    with (
        open_part(src, "checkpointer", setup=True) as saver,
        open_part(src, "store", PartOptions(index=index_config()), setup=True) as store,
    ):
        populate(saver, store, prefix)
    for attempt in ("first", "again"):
        code = run(["copy", src, dst, "--verify", "--json"])
        out, err = capsys.readouterr()
        assert code == EXIT_OK, err
        result = json.loads(out)
        assert result["verify"]["ok"], result
        assert (result["verify"]["checkpoints"], result["verify"]["items"]) == (16, 4)
        if attempt == "first":
            assert (result["copy"]["threads_copied"], result["copy"]["items_copied"]) == (2, 4)
        else:
            assert result["copy"]["threads_unchanged"] == 2
            assert result["copy"]["items_unchanged"] == 4
    with (
        open_part(src, "checkpointer") as old,
        open_part(dst, "checkpointer") as new,
        open_part(src, "store") as old_store,
        open_part(dst, "store") as new_store,
    ):
        assert exported(new_store) == exported(old_store)
        assert expiries(new_store) == pytest.approx(expiries(old_store), abs=0.002)
        for thread_id in threads:
            assert history(new, thread_id) == history(old, thread_id)
        resumed = graph(new).invoke(Command(resume="yes"), config(threads[0]))
        assert resumed == graph(old).invoke(Command(resume="yes"), config(threads[0]))
        assert resumed["items"][-1] == "published"
