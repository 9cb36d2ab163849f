"""Moving data between backends through their public APIs: exact, idempotent, resumable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.types import Command
from migrate_support import config, graph, history, index_config, populate, search_results

from durastate.checkpoint import InMemorySaver
from durastate.checkpoint.sqlite import SqliteSaver
from durastate.connect import Backends, open_backends
from durastate.migrate import BackendSide, CopyOptions, Selection, copy_data, verify
from durastate.store import InMemoryStore


@pytest.fixture
def source(tmp_path: Path) -> Iterator[Backends]:
    with open_backends(f"sqlite:///{tmp_path}/source.db", index=index_config()) as backends:
        populate(backends.checkpointer, backends.store)
        yield backends


def side(backends: Backends) -> BackendSide:
    return BackendSide(backends.checkpointer, backends.store)


def memory_side() -> BackendSide:
    return BackendSide(InMemorySaver(), InMemoryStore(index=index_config()))


def test_sqlite_to_memory_to_sqlite_keeps_history_search_and_resumes(
    source: Backends, tmp_path: Path
) -> None:
    middle = memory_side()
    first = copy_data(side(source), middle, CopyOptions())
    assert (first.threads_copied, first.items_copied) == (2, 4)
    with open_backends(f"sqlite:///{tmp_path}/dest.db", index=index_config()) as dest:
        second = copy_data(middle, side(dest), CopyOptions())
        assert second.checkpoints_written == first.checkpoints_written > 8
        assert second.writes_written == first.writes_written > 0
        for thread_id in ("waiting", "done"):
            assert history(dest.checkpointer, thread_id) == history(source.checkpointer, thread_id)
        assert search_results(dest.store) == search_results(source.store)
        checked = verify(side(source), side(dest), CopyOptions())
        assert checked.ok and checked.source_digest == checked.destination_digest
        assert (checked.threads, checked.items) == (2, 4)

        resumed = graph(dest.checkpointer).invoke(Command(resume="yes"), config("waiting"))
        expected = graph(source.checkpointer).invoke(Command(resume="yes"), config("waiting"))
        assert resumed == expected and resumed["items"][-1] == "published"


def test_store_items_keep_timestamps_ttl_and_vectors(source: Backends, tmp_path: Path) -> None:
    with open_backends(f"sqlite:///{tmp_path}/dest.db") as dest:  # no index: vectors kept as is
        copy_data(side(source), side(dest), CopyOptions())
        before = list(source.store.export_items())  # type: ignore[attr-defined]
        after = list(dest.store.export_items())  # type: ignore[attr-defined]
    assert [(i.namespace, i.key) for i in after] == [(i.namespace, i.key) for i in before]
    for old, new in zip(before, after, strict=True):
        assert (new.value, new.created_at, new.updated_at) == (
            old.value,
            old.created_at,
            old.updated_at,
        )
        assert (new.expires_at, new.ttl_minutes) == (old.expires_at, old.ttl_minutes)
        assert [(v.field, v.vector.tobytes()) for v in new.vectors or ()] == [
            (v.field, v.vector.tobytes()) for v in old.vectors or ()
        ]
    assert [i.ttl_minutes for i in after if i.key == "temp"] == [60.0]
    assert [len(i.vectors or ()) for i in after] == [0, 1, 1, 1]


def test_rerun_changes_nothing_and_an_interrupted_copy_completes(
    source: Backends, tmp_path: Path
) -> None:
    class FailingSaver(SqliteSaver):
        puts = 0

        def put(self, *args: Any, **kwargs: Any) -> Any:
            FailingSaver.puts += 1
            if FailingSaver.puts == 5:
                raise ConnectionError("lost the destination")
            return super().put(*args, **kwargs)

    path = tmp_path / "dest.db"
    with FailingSaver.from_conn_string(str(path)) as broken:
        with pytest.raises(ConnectionError):
            copy_data(side(source), BackendSide(broken, None), CopyOptions())
    with open_backends(f"sqlite:///{path}", index=index_config()) as dest:
        partial = len(list(dest.checkpointer.list(None)))
        assert 0 < partial < 16
        done = copy_data(side(source), side(dest), CopyOptions())
        assert done.threads_completed == 1 and done.conflicts == 0
        assert done.checkpoints_written == 16 - partial
        again = copy_data(side(source), side(dest), CopyOptions())
        assert (again.threads_unchanged, again.items_unchanged) == (2, 4)
        assert again.checkpoints_written == again.writes_written == again.items_copied == 0
        assert len(list(dest.checkpointer.list(None))) == 16
        assert verify(side(source), side(dest), CopyOptions()).ok
        for thread_id in ("waiting", "done"):
            assert history(dest.checkpointer, thread_id) == history(source.checkpointer, thread_id)


def test_a_destination_thread_with_other_data_is_refused_skipped_or_replaced(
    source: Backends, tmp_path: Path
) -> None:
    with open_backends(f"sqlite:///{tmp_path}/dest.db", index=index_config()) as dest:
        graph(dest.checkpointer).invoke({"items": ["other"]}, config("waiting"))
        dest.store.put(("users", "bob"), "pref", {"text": "something else"})
        mine = history(dest.checkpointer, "waiting")

        refused = copy_data(side(source), side(dest), CopyOptions())
        assert refused.conflicting_threads == ["waiting"] and refused.threads_copied == 1
        assert refused.conflicting_items == [[["users", "bob"], "pref"]]
        assert history(dest.checkpointer, "waiting") == mine
        assert dest.store.get(("users", "bob"), "pref").value == {"text": "something else"}  # type: ignore[union-attr]
        checked = verify(side(source), side(dest), CopyOptions(), *refused.left_alone())
        assert checked.ok and (checked.excluded_threads, checked.excluded_items) == (1, 1)
        assert not verify(side(source), side(dest), CopyOptions()).ok

        skipped = copy_data(side(source), side(dest), CopyOptions(on_conflict="skip"))
        assert (skipped.threads_skipped, skipped.items_skipped, skipped.conflicts) == (1, 1, 0)
        assert history(dest.checkpointer, "waiting") == mine

        replaced = copy_data(side(source), side(dest), CopyOptions(on_conflict="replace"))
        assert (replaced.threads_replaced, replaced.items_replaced) == (1, 1)
        assert history(dest.checkpointer, "waiting") == history(source.checkpointer, "waiting")
        assert verify(side(source), side(dest), CopyOptions()).ok


def test_selection_by_thread_and_namespace_prefix(source: Backends) -> None:
    dest = memory_side()
    chosen = Selection(thread_ids=["done"], namespace_prefixes=[("users", "alice")])
    report = copy_data(side(source), dest, CopyOptions(selection=chosen))
    assert (report.threads_copied, report.items_copied) == (1, 2)
    assert dest.saver is not None and dest.store is not None
    threads = {t.config["configurable"]["thread_id"] for t in dest.saver.list(None)}
    assert threads == {"done"}
    assert sorted(i.key for i in dest.store.search(())) == ["pref", "temp"]
    assert verify(side(source), dest, CopyOptions(selection=chosen)).ok
    missing = copy_data(side(source), dest, CopyOptions(selection=Selection(thread_ids=["nope"])))
    assert missing.warnings == ["thread 'nope' has no checkpoints in the source"]


def test_a_copy_cut_between_a_checkpoint_and_its_writes_is_completed(
    source: Backends, tmp_path: Path
) -> None:
    class FailingWrites(SqliteSaver):
        calls = 0

        def put_writes(self, *args: Any, **kwargs: Any) -> None:
            FailingWrites.calls += 1
            if FailingWrites.calls == 3:
                raise ConnectionError("lost the destination")
            super().put_writes(*args, **kwargs)

    path = tmp_path / "dest.db"
    with FailingWrites.from_conn_string(str(path)) as broken:
        with pytest.raises(ConnectionError):
            copy_data(side(source), BackendSide(broken, None), CopyOptions())
    with open_backends(f"sqlite:///{path}") as dest:
        assert not verify(side(source), BackendSide(dest.checkpointer, None), CopyOptions()).ok
        done = copy_data(side(source), BackendSide(dest.checkpointer, None), CopyOptions())
        assert done.threads_completed == 1 and done.writes_written > 0
        assert verify(side(source), BackendSide(dest.checkpointer, None), CopyOptions()).ok
