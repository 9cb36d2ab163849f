"""`durastate export` / `durastate import`: a versioned archive that round-trips exactly."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest
from langgraph.types import Command
from migrate_support import config, graph, history, index_config, populate, search_results

from durastate.cli.main import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, run
from durastate.connect import open_backends
from durastate.migrate import BackendSide, CopyOptions
from durastate.migrate.archive import ArchiveSource, export_archive, verify_archive
from durastate.migrate.archive_format import RecordWriter, header
from durastate.serde import default_serializer


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


def as_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code, out, err = durastate(capsys, *args, "--json")
    assert code == EXIT_OK, err
    result: dict[str, Any] = json.loads(out)
    return result


def stored_bytes(url: str) -> list[Any]:
    """Every checkpoint's channel values and pending writes, serialized."""
    serde = default_serializer()
    with open_backends(url) as backends:
        tuples = sorted(
            backends.checkpointer.list(None), key=lambda t: str(t.config["configurable"])
        )
        return [
            (
                t.config["configurable"],
                {ch: serde.dumps_typed(v) for ch, v in t.checkpoint["channel_values"].items()},
                [(task, ch, serde.dumps_typed(v)) for task, ch, v in t.pending_writes or ()],
            )
            for t in tuples
        ]


def test_export_then_import_round_trips_exactly_and_resumes(
    capsys: pytest.CaptureFixture[str], source_url: str, tmp_path: Path
) -> None:
    archive = tmp_path / "backup.dsa"
    exported = as_json(capsys, "export", source_url, str(archive), "--verify")
    assert exported["export"]["threads"] == 2 and exported["export"]["checkpoints"] == 16
    assert exported["verify"]["ok"] and exported["verify"]["items"] == 4
    assert exported["export"]["items"] == 4 and exported["export"]["bytes"] > 0
    with gzip.open(archive) as raw:
        assert b"durastate-archive" in raw.read(100)

    dest_url = f"sqlite:///{tmp_path}/dest.db"
    imported = as_json(capsys, "import", str(archive), dest_url, "--verify")
    assert imported["copy"]["threads_copied"] == 2 and imported["copy"]["items_copied"] == 4
    assert imported["verify"]["ok"] and imported["archive"]["version"] == 1
    assert stored_bytes(dest_url) == stored_bytes(source_url)
    again = as_json(capsys, "import", str(archive), dest_url)
    assert again["copy"]["threads_unchanged"] == 2 and again["copy"]["checkpoints_written"] == 0

    with (
        open_backends(source_url, index=index_config()) as src,
        open_backends(dest_url, index=index_config()) as dst,
    ):
        before = list(src.store.export_items())  # type: ignore[attr-defined]
        after = list(dst.store.export_items())  # type: ignore[attr-defined]
        assert [(i.expires_at, i.ttl_minutes) for i in after] == [
            (i.expires_at, i.ttl_minutes) for i in before
        ]
        for thread_id in ("waiting", "done"):
            assert history(dst.checkpointer, thread_id) == history(src.checkpointer, thread_id)
        assert search_results(dst.store) == search_results(src.store)
        out = graph(dst.checkpointer).invoke(Command(resume="yes"), config("waiting"))
        assert out["items"][-1] == "published"


def test_export_and_import_a_selection(
    capsys: pytest.CaptureFixture[str], source_url: str, tmp_path: Path
) -> None:
    archive = tmp_path / "part.dsa"
    exported = as_json(
        capsys, "export", source_url, str(archive), "--thread", "waiting", "--only", "checkpoints"
    )
    assert (exported["export"]["threads"], exported["export"]["items"]) == (1, 0)
    code, _, err = durastate(capsys, "export", source_url, str(archive))
    assert code == EXIT_USAGE and "--force" in err
    assert durastate(capsys, "export", source_url, str(archive), "--force", "-q")[0] == EXIT_OK
    dest_url = f"sqlite:///{tmp_path}/dest.db"
    imported = as_json(
        capsys, "import", str(archive), dest_url, "--namespace", "users", "--thread", "done"
    )
    assert imported["copy"]["threads_copied"] == 1 and imported["copy"]["items_copied"] == 3


def write_archive(path: Path, records: list[dict[str, Any]]) -> None:
    buffer = io.BytesIO()
    out = RecordWriter(buffer)
    for record in records:
        out.write(record)
    out.close()
    path.write_bytes(buffer.getvalue())


def test_import_refuses_unknown_versions_and_damaged_files(
    capsys: pytest.CaptureFixture[str], source_url: str, tmp_path: Path
) -> None:
    dest = f"sqlite:///{tmp_path}/dest.db"
    future = tmp_path / "future.dsa"
    write_archive(future, [{**header(), "version": 2}, {"type": "end"}])
    code, _, err = durastate(capsys, "import", str(future), dest)
    assert code == EXIT_FAILURE
    assert "archive format version 2 is not supported" in err and "reads version 1" in err

    plain = tmp_path / "plain.txt"
    plain.write_text("hello")
    code, _, err = durastate(capsys, "import", str(plain), dest)
    assert code == EXIT_FAILURE and "not a gzip-compressed durastate archive" in err

    other = tmp_path / "other.dsa"
    write_archive(other, [{"format": "something-else"}])
    code, _, err = durastate(capsys, "import", str(other), dest)
    assert code == EXIT_FAILURE and "not a durastate archive" in err

    good = tmp_path / "good.dsa"
    assert durastate(capsys, "export", source_url, str(good))[0] == EXIT_OK
    with gzip.open(good) as raw:
        content = raw.read()
    cut = tmp_path / "cut.dsa"
    cut.write_bytes(gzip.compress(content[: len(content) - 40]))
    code, _, err = durastate(capsys, "import", str(cut), dest)
    assert code == EXIT_FAILURE and "truncated" in err
    done = as_json(capsys, "import", str(good), dest, "--verify")
    assert done["verify"]["ok"]


def test_archive_carries_cache_entries_with_cache(
    capsys: pytest.CaptureFixture[str], source_url: str, tmp_path: Path
) -> None:
    with open_backends(source_url) as src:
        src.cache.set({(("node",), "k"): ({"answer": 42}, None)})
    archive = tmp_path / "with-cache.dsa"
    exported = as_json(capsys, "export", source_url, str(archive), "--cache", "--only", "store")
    assert exported["export"]["cache_entries"] == 1 and exported["export"]["threads"] == 0
    dest_url = f"sqlite:///{tmp_path}/dest.db"
    imported = as_json(capsys, "import", str(archive), dest_url, "--cache")
    assert imported["copy"]["cache_entries_copied"] == 1
    with open_backends(dest_url) as dst:
        assert dst.cache.get([(("node",), "k")]) == {(("node",), "k"): {"answer": 42}}


def test_verifying_an_archive_finds_what_changed_since(source_url: str, tmp_path: Path) -> None:
    archive = tmp_path / "old.dsa"
    options = CopyOptions()
    with open_backends(source_url) as src:
        side = BackendSide(src.checkpointer, src.store)
        export_archive(side, archive, options, {})
        assert verify_archive(side, ArchiveSource(archive), options).ok
        graph(src.checkpointer).invoke(Command(resume="no"), config("waiting"))
        src.store.put(("users", "bob"), "pref", {"text": "changed"})
        checked = verify_archive(side, ArchiveSource(archive), options)
    assert checked.mismatched_threads == ["waiting"]
    assert checked.mismatched_items == [[["users", "bob"], "pref"]]
    assert checked.source_digest != checked.destination_digest
