"""`durastate copy SRC DST`: copies, verifies, refuses conflicts, exits as documented."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from langgraph.types import Command
from migrate_support import (
    EMBEDDED,
    config,
    graph,
    history,
    index_config,
    populate,
    search_results,
)

from durastate.cli.main import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, run
from durastate.connect import open_backends


@pytest.fixture(autouse=True)
def _no_urls_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DURASTATE_URL", raising=False)


@pytest.fixture
def source_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/source.db"
    with open_backends(url, index=index_config()) as backends:
        populate(backends.checkpointer, backends.store)
    return url


def durastate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def copy_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code, out, err = durastate(capsys, "copy", *args, "--json")
    assert code == EXIT_OK, err
    result: dict[str, Any] = json.loads(out)
    return result


def test_copy_verifies_and_the_destination_resumes_the_interrupted_thread(
    capsys: pytest.CaptureFixture[str], source_url: str, tmp_path: Path
) -> None:
    dest_url = f"sqlite:///{tmp_path}/dest.db"
    result = copy_json(capsys, source_url, dest_url, "--verify")
    assert result["copy"]["threads_copied"] == 2 and result["copy"]["items_copied"] == 4
    assert result["verify"]["ok"] and result["verify"]["checkpoints"] == 16
    assert result["verify"]["source_digest"] == result["verify"]["destination_digest"]

    again = copy_json(capsys, source_url, dest_url, "--verify")
    assert again["copy"]["threads_unchanged"] == 2 and again["copy"]["items_unchanged"] == 4
    assert again["copy"]["checkpoints_written"] == 0

    with (
        open_backends(source_url, index=index_config()) as src,
        open_backends(dest_url, index=index_config()) as dst,
    ):
        for thread_id in ("waiting", "done"):
            assert history(dst.checkpointer, thread_id) == history(src.checkpointer, thread_id)
        assert search_results(dst.store) == search_results(src.store)
        out = graph(dst.checkpointer).invoke(Command(resume="yes"), config("waiting"))
        assert out["items"][-2:] == ["review:yes", "published"]


def test_copy_prints_a_summary(
    capsys: pytest.CaptureFixture[str], source_url: str, tmp_path: Path
) -> None:
    code, out, err = durastate(
        capsys, "copy", source_url, f"sqlite:///{tmp_path}/d.db", "--only", "store", "-q"
    )
    assert code == EXIT_OK, err
    lines = out.splitlines()
    assert lines[0] == f"{source_url} -> sqlite:///{tmp_path}/d.db"
    assert lines[1].split()[:2] == ["threads", "0"]
    assert "store items  4 copied" in out


def test_copy_selects_threads_and_namespaces(
    capsys: pytest.CaptureFixture[str], source_url: str, tmp_path: Path
) -> None:
    dest_url = f"sqlite:///{tmp_path}/dest.db"
    result = copy_json(
        capsys, source_url, dest_url, "--thread", "done", "--namespace", "users.bob", "--verify"
    )
    assert result["copy"]["threads_copied"] == 1 and result["copy"]["items_copied"] == 1
    with open_backends(dest_url) as dst:
        assert {t.config["configurable"]["thread_id"] for t in dst.checkpointer.list(None)} == {
            "done"
        }
        assert [i.key for i in dst.store.search(())] == ["pref"]


def test_copy_refuses_a_conflicting_thread_unless_told(
    capsys: pytest.CaptureFixture[str], source_url: str, tmp_path: Path
) -> None:
    dest_url = f"sqlite:///{tmp_path}/dest.db"
    with open_backends(dest_url) as dst:
        graph(dst.checkpointer).invoke({"items": ["other"]}, config("waiting"))
    code, out, err = durastate(capsys, "copy", source_url, dest_url)
    assert code == EXIT_FAILURE
    assert "1 thread(s) ('waiting')" in err and "--on-conflict=replace" in err
    assert "threads      1 copied" in out

    skipped = copy_json(capsys, source_url, dest_url, "--on-conflict", "skip", "--verify")
    assert skipped["copy"]["threads_skipped"] == 1
    assert skipped["verify"]["ok"] and skipped["verify"]["excluded_threads"] == 1
    replaced = copy_json(capsys, source_url, dest_url, "--on-conflict=replace", "--verify")
    assert replaced["copy"]["threads_replaced"] == 1 and replaced["verify"]["ok"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["sqlite:///nowhere/missing.db", "memory://"], EXIT_FAILURE, "no such SQLite file"),
        (["sqlite:///a.db", "sqlite:///a.db"], EXIT_USAGE, "the same backend"),
        (["sqlite:///a.db", "sqlite:///./x/../a.db"], EXIT_USAGE, "the same backend"),
        (["mysql://u:pw-Secret@h/db", "memory://"], EXIT_USAGE, "unknown scheme"),
        (["memory://", "memory://", "--on-conflict", "merge"], EXIT_USAGE, "'merge' is not"),
        (["memory://", "memory://", "--namespace", "a..b"], EXIT_USAGE, "must not be empty"),
    ],
)
def test_copy_errors(
    capsys: pytest.CaptureFixture[str], args: list[str], code: int, message: str
) -> None:
    got, _, err = durastate(capsys, "copy", *args)
    assert got == code
    assert message in err
    assert "pw-Secret" not in err


def test_cache_entries_are_copied_only_when_asked(
    capsys: pytest.CaptureFixture[str], source_url: str, tmp_path: Path
) -> None:
    with open_backends(source_url) as src:
        src.cache.set({(("node", "a"), "k1"): ({"x": 1}, None), (("node",), "k2"): ([2], 60)})
        expiry = [e.expires_at for e in src.cache.export_entries()]  # type: ignore[attr-defined]
    dest_url = f"sqlite:///{tmp_path}/dest.db"
    without = copy_json(capsys, source_url, dest_url, "--only", "store")
    assert without["copy"]["cache_entries_copied"] == 0
    with_cache = copy_json(capsys, source_url, dest_url, "--only", "store", "--cache")
    assert with_cache["copy"]["cache_entries_copied"] == 2
    with open_backends(dest_url) as dst:
        got = dst.cache.get([(("node", "a"), "k1"), (("node",), "k2")])
        assert got == {(("node", "a"), "k1"): {"x": 1}, (("node",), "k2"): [2]}
        assert [e.expires_at for e in dst.cache.export_entries()] == expiry  # type: ignore[attr-defined]


def test_an_unreachable_destination_fails_without_its_password(
    capsys: pytest.CaptureFixture[str], source_url: str
) -> None:
    code, _, err = durastate(
        capsys, "copy", source_url, "redis://:pw-Secret9@127.0.0.1:1/0", "--only", "checkpoints"
    )
    assert code == EXIT_FAILURE
    assert err.startswith("Error: cannot reach the destination redis://:***@127.0.0.1:1/0: ")
    assert "Connection refused" in err
    assert "pw-Secret9" not in err


def test_a_source_schema_newer_than_this_durastate_is_refused(
    capsys: pytest.CaptureFixture[str], source_url: str, tmp_path: Path
) -> None:
    with sqlite3.connect(tmp_path / "source.db") as conn:
        conn.execute("UPDATE durastate_schema SET version = 99 WHERE component = 'checkpoint'")
    code, _, err = durastate(capsys, "copy", source_url, f"sqlite:///{tmp_path}/d.db")
    assert code == EXIT_FAILURE
    assert "schema is at version 99, newer than" in err and "upgrade durastate" in err


def test_small_batches_page_through_every_item_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/many.db"
    with open_backends(url) as backends:
        for n in range(25):
            backends.store.put(("ns", f"g{n % 3}"), f"k{n:02d}", {"n": n})
    dest = f"sqlite:///{tmp_path}/copy.db"
    result = copy_json(capsys, url, dest, "--batch-size", "4", "--verify")
    assert result["copy"]["items_copied"] == 25 and result["verify"]["items"] == 25
    again = copy_json(capsys, url, dest, "--batch-size", "3")
    assert again["copy"]["items_unchanged"] == 25
    with open_backends(dest) as backends:
        assert sorted(i.value["n"] for i in backends.store.search((), limit=100)) == list(range(25))


def test_copy_embeds_again_for_a_destination_index_of_other_dimensions(
    capsys: pytest.CaptureFixture[str], source_url: str, tmp_path: Path
) -> None:
    EMBEDDED.clear()
    dest = f"sqlite:///{tmp_path}/dest.db"
    index = ["--embed", "migrate_support:embed8", "--index-dims", "8", "--index-field", "text"]
    result = copy_json(capsys, source_url, dest, "--only", "store", *index, "--verify")
    assert result["copy"]["items_copied"] == 4 and result["verify"]["ok"]
    assert sorted(EMBEDDED) == sorted(
        ["likes trains to Lisbon", "short lived", "museum opening hours", "durastate moves data"]
    )
    with open_backends(dest) as dst:
        dims = {len(v.vector) for i in dst.store.export_items() for v in i.vectors or ()}  # type: ignore[attr-defined]
    assert dims == {8}
    EMBEDDED.clear()
    again = copy_json(
        capsys, source_url, dest, "--only", "store", *index, "--on-conflict", "replace", "--reembed"
    )
    assert again["copy"]["items_unchanged"] == 4 and EMBEDDED == []
    code, _, err = durastate(capsys, "copy", source_url, dest, "--reembed")
    assert code == EXIT_USAGE and "--reembed needs --embed" in err
    code, _, err = durastate(capsys, "copy", source_url, dest, "--embed", "migrate_support:embed8")
    assert code == EXIT_USAGE and "--embed needs --index-dims" in err
    code, _, err = durastate(
        capsys, "copy", source_url, dest, "--embed", "migrate_support:nope", "--index-dims", "8"
    )
    assert code == EXIT_USAGE and "has no attribute 'nope'" in err
