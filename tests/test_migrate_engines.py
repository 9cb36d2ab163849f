"""`durastate copy` between every ordered pair of engines, on the real servers."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph.types import Command
from migrate_support import config, graph, history, populate
from postgres_support import schema_pool, schemas

from durastate.cli.main import EXIT_OK, run
from durastate.connect import open_part

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
        found["redis"] = with_option(request.getfixturevalue("redis_url"), "key_prefix", prefix)
    yield found
    if "redis" in found:
        with open_part(found["redis"], "checkpointer") as saver:
            for name in ("waiting", "done"):
                saver.delete_thread(f"{prefix}{name}")


@pytest.mark.parametrize(
    ("source", "destination"), [(a, b) for a in ENGINES for b in ENGINES if a != b]
)
def test_threads_move_between_engines_and_resume(
    capsys: pytest.CaptureFixture[str],
    urls: dict[str, str],
    prefix: str,
    source: str,
    destination: str,
) -> None:
    src, dst = urls[source], urls[destination]
    threads = [f"{prefix}waiting", f"{prefix}done"]
    with open_part(src, "checkpointer", setup=True) as saver:
        populate(saver, None, prefix)
    selection = ["--only", "checkpoints", "--thread", threads[0], "--thread", threads[1]]
    for attempt in ("first", "again"):
        code = run(["copy", src, dst, *selection, "--verify", "--json"])
        out, err = capsys.readouterr()
        assert code == EXIT_OK, err
        result = json.loads(out)
        assert result["verify"]["ok"] and result["verify"]["checkpoints"] == 16
        key = "threads_copied" if attempt == "first" else "threads_unchanged"
        assert result["copy"][key] == 2
    with (
        open_part(src, "checkpointer") as old,
        open_part(dst, "checkpointer") as new,
    ):
        for thread_id in threads:
            assert history(new, thread_id) == history(old, thread_id)
        resumed = graph(new).invoke(Command(resume="yes"), config(threads[0]))
        assert resumed == graph(old).invoke(Command(resume="yes"), config(threads[0]))
        assert resumed["items"][-1] == "published"
