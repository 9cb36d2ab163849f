"""`durastate status`, `prune` and `sweep` on real SQLite files."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.types import Command
from migrate_support import config, graph, history, index_config, populate

from durastate.cli.main import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, run
from durastate.connect import open_backends


@pytest.fixture(autouse=True)
def _no_urls_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DURASTATE_URL", raising=False)


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/app.db"
    with open_backends(url, index=index_config()) as backends:
        populate(backends.checkpointer, backends.store)
        backends.cache.set({(("node",), "k1"): (1, None), (("node",), "k2"): (2, 60)})
    return url


def durastate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def as_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code, out, err = durastate(capsys, *args, "--json")
    assert code == EXIT_OK, err
    result: dict[str, Any] = json.loads(out)
    return result


def test_status_counts_what_the_backend_holds(
    capsys: pytest.CaptureFixture[str], url: str, tmp_path: Path
) -> None:
    result = as_json(capsys, "status", url)
    cp, store, cache = result["checkpointer"], result["store"], result["cache"]
    assert (cp["threads"], cp["checkpoints"]) == (2, 16)
    assert cp["pending_writes"] > 0 and cp["oldest"] <= cp["newest"]
    assert (store["items"], store["vectors"]) == (4, 3)
    assert cache["entries"] == 2
    assert all(result[p]["schema_version"] >= 1 for p in ("checkpointer", "store", "cache"))
    assert result["bytes"] >= (tmp_path / "app.db").stat().st_size > 0

    code, out, err = durastate(capsys, "status", url)
    assert code == EXIT_OK, err
    assert out.splitlines()[0].startswith(f"{url} (sqlite), ")
    assert "2 threads, 16 checkpoints" in out and "4 items, 3 vectors" in out
    assert "2 entries" in out
    memory = as_json(capsys, "status", "memory://")
    assert memory["bytes"] is None and memory["checkpointer"]["threads"] == 0
    code, _, err = durastate(capsys, "status", f"sqlite:///{tmp_path}/none.db")
    assert code == EXIT_FAILURE and "no such SQLite file" in err
    assert not (tmp_path / "none.db").exists()


def test_prune_dry_run_counts_then_prunes_and_threads_still_resume(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    dry = as_json(capsys, "prune", url, "--keep-latest", "--dry-run")
    assert dry["dry_run"] and dry["deleted"] > 0
    assert as_json(capsys, "status", url)["checkpointer"]["checkpoints"] == 16

    done = as_json(capsys, "prune", url, "--keep-latest")
    assert done["deleted"] == dry["deleted"]
    assert {r["thread_id"]: r["deleted"] for r in done["threads"]} == {
        r["thread_id"]: r["deleted"] for r in dry["threads"]
    }
    left = as_json(capsys, "status", url)["checkpointer"]["checkpoints"]
    assert left == 16 - done["deleted"]
    with open_backends(url) as backends:
        assert len(history(backends.checkpointer, "done")) >= 1
        out = graph(backends.checkpointer).invoke(Command(resume="yes"), config("waiting"))
        assert out["items"][-1] == "published"


def test_prune_keep_n_one_thread_and_delete(capsys: pytest.CaptureFixture[str], url: str) -> None:
    with open_backends(url) as backends:
        waiting = history(backends.checkpointer, "waiting")
    kept = as_json(capsys, "prune", url, "--keep", "3", "--thread", "done")
    assert [r["thread_id"] for r in kept["threads"]] == ["done"] and kept["deleted"] > 0
    with open_backends(url) as backends:
        root: RunnableConfig = {"configurable": {"thread_id": "done", "checkpoint_ns": ""}}
        assert len(list(backends.checkpointer.list(root))) == 3
        assert history(backends.checkpointer, "waiting") == waiting
    code, out, _ = durastate(capsys, "prune", url, "--delete", "--thread", "waiting")
    assert code == EXIT_OK and "deleted" in out
    assert as_json(capsys, "status", url)["checkpointer"]["threads"] == 1


@pytest.mark.parametrize(
    "args", [[], ["--keep", "2", "--keep-latest"], ["--keep", "0"], ["--delete", "--keep", "1"]]
)
def test_prune_needs_exactly_one_rule(
    capsys: pytest.CaptureFixture[str], url: str, args: list[str]
) -> None:
    assert durastate(capsys, "prune", url, *args)[0] == EXIT_USAGE


def test_sweep_removes_what_expired(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ttl.db"
    with open_backends(url, ttl={"default_ttl": 0.001}) as backends:
        backends.store.put(("n",), "old", {"v": 1})
        backends.store.put(("n",), "kept", {"v": 2}, ttl=None)
        backends.cache.set({(("c",), "k"): (1, 1)})
    time.sleep(1.1)
    result = as_json(capsys, "sweep", url)
    assert result["removed"]["store"] == 1 and result["removed"]["cache"] == 1
    assert result["removed"]["checkpointer"] == 0
    status = as_json(capsys, "status", url)
    assert status["store"]["items"] == 1 and status["cache"]["entries"] == 0
    code, out, _ = durastate(capsys, "sweep", url)
    assert code == EXIT_OK and "removed 0 expired threads, 0 expired items, 0 entries" in out


def test_age_selects_threads_and_items_for_copy_and_prune(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/aged.db"
    with open_backends(url) as backends:
        populate(backends.checkpointer, None, "old-")
        backends.store.put(("n",), "old", {"v": 1})
        time.sleep(1.2)
        populate(backends.checkpointer, None, "new-")
        backends.store.put(("n",), "new", {"v": 2})
    dest = f"sqlite:///{tmp_path}/recent.db"
    copied = as_json(capsys, "copy", url, dest, "--newer-than", "1s", "--verify")
    assert copied["copy"]["threads_copied"] == 2 and copied["copy"]["items_copied"] == 1
    assert copied["verify"]["ok"]
    with open_backends(dest) as backends:
        threads = {t.config["configurable"]["thread_id"] for t in backends.checkpointer.list(None)}
        assert threads == {"new-waiting", "new-done"}
        assert [i.key for i in backends.store.search(())] == ["new"]
    dropped = as_json(capsys, "prune", url, "--delete", "--older-than", "1s")
    assert sorted(r["thread_id"] for r in dropped["threads"]) == ["old-done", "old-waiting"]
    assert as_json(capsys, "status", url)["checkpointer"]["threads"] == 2
    code, _, err = durastate(capsys, "prune", url, "--delete", "--older-than", "soon")
    assert code == EXIT_USAGE and "not a duration" in err
