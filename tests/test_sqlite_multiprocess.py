"""Several processes and threads on one SQLite file: no lost writes, no 'database is locked'.

Four processes open the same brand-new file at the same moment (so WAL switching and
migrations race), then write checkpoints, store items and cache entries from several
threads each: two threads with their own saver, two threads sharing one saver, and one
thread driving the async classes. Every write must be readable afterwards.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
import threading
import traceback
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.base import empty_checkpoint

PROCESSES = 4
PUTS = 12
_PRELOAD = ["durastate.checkpoint.sqlite", "durastate.store.sqlite", "durastate.cache.sqlite"]


def _context() -> Any:
    """Fresh processes (no inherited connections), forked from a server that preloaded us."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    return ctx


def _checkpoint(value: list[int]) -> Any:
    cp = empty_checkpoint()
    cp["channel_values"] = {"items": list(value), "owner": "x"}
    return cp


def _write_thread(saver: Any, store: Any, cache: Any, thread_id: str) -> None:
    config: Any = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    version = None
    values: list[int] = []
    for step in range(PUTS):
        values.append(step)
        cp = _checkpoint(values)
        version = saver.get_next_version(version, None)
        cp["channel_versions"] = {"items": version, "owner": "1"}
        new = {"items": version} if step else {"items": version, "owner": "1"}
        config = saver.put(config, cp, {"source": "loop", "step": step}, new)
        saver.put_writes(config, [("items", step)], f"task-{step}")
        store.put(("mp", thread_id), f"k{step}", {"step": step})
        cache.set({(("mp", thread_id), f"k{step}"): (step, None)})
    shared: Any = {"configurable": {"thread_id": "shared", "checkpoint_ns": thread_id}}
    cp = _checkpoint([1])
    cp["channel_versions"] = {"items": "1"}
    saver.put(shared, cp, {"source": "loop", "step": 0}, {"items": "1"})


async def _async_thread(path: str, thread_id: str) -> None:
    from durastate.checkpoint.sqlite import AsyncSqliteSaver
    from durastate.store.sqlite import AsyncSqliteStore

    async with (
        AsyncSqliteSaver.from_conn_string(path) as saver,
        AsyncSqliteStore.from_conn_string(path) as store,
    ):
        config: Any = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
        version = None
        values: list[int] = []
        for step in range(PUTS):
            values.append(step)
            cp = _checkpoint(values)
            version = saver.get_next_version(version, None)
            cp["channel_versions"] = {"items": version, "owner": "1"}
            new = {"items": version} if step else {"items": version, "owner": "1"}
            config = await saver.aput(config, cp, {"source": "loop", "step": step}, new)
            await saver.aput_writes(config, [("items", step)], f"task-{step}")
            await store.aput(("mp", thread_id), f"k{step}", {"step": step})


def _worker(path: str, index: int, barrier: Any, errors: Any) -> None:
    try:
        from durastate.cache.sqlite import SqliteCache
        from durastate.checkpoint.sqlite import SqliteSaver
        from durastate.store.sqlite import SqliteStore

        barrier.wait(timeout=60)
        own = [(SqliteSaver(path), SqliteStore(path), SqliteCache(path=path)) for _ in range(2)]
        shared_conn = sqlite3.connect(path, check_same_thread=False)
        shared = (SqliteSaver(shared_conn), SqliteStore(shared_conn), SqliteCache(shared_conn))
        failures: list[str] = []

        def run(target: Any, *args: Any) -> None:
            try:
                target(*args)
            except BaseException:
                failures.append(traceback.format_exc())

        threads = [
            threading.Thread(target=run, args=(_write_thread, *own[0], f"p{index}-own0")),
            threading.Thread(target=run, args=(_write_thread, *own[1], f"p{index}-own1")),
            threading.Thread(target=run, args=(_write_thread, *shared, f"p{index}-shared0")),
            threading.Thread(target=run, args=(_write_thread, *shared, f"p{index}-shared1")),
            threading.Thread(
                target=run, args=(lambda: asyncio.run(_async_thread(path, f"p{index}-async")),)
            ),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        errors.put((index, failures))
    except BaseException:
        errors.put((index, [traceback.format_exc()]))


THREAD_NAMES = ("own0", "own1", "shared0", "shared1", "async")


def test_four_processes_share_one_new_file(tmp_path: Path) -> None:
    from durastate.cache.sqlite import SqliteCache
    from durastate.checkpoint.sqlite import SqliteSaver
    from durastate.store.sqlite import SqliteStore

    path = str(tmp_path / "shared.db")
    ctx = _context()
    barrier = ctx.Barrier(PROCESSES)
    errors = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(path, i, barrier, errors)) for i in range(PROCESSES)]
    for p in procs:
        p.start()
    reports = [errors.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    problems = [f for _, failures in reports for f in failures]
    assert problems == [], "\n".join(problems)

    with (
        SqliteSaver.from_conn_string(path) as saver,
        SqliteStore.from_conn_string(path) as store,
        SqliteCache.from_conn_string(path) as cache,
    ):
        for index in range(PROCESSES):
            for name in THREAD_NAMES:
                thread_id = f"p{index}-{name}"
                history = list(saver.list({"configurable": {"thread_id": thread_id}}))
                assert len(history) == PUTS, thread_id
                for tup in history:
                    step = tup.metadata["step"]
                    assert tup.checkpoint["channel_values"]["items"] == list(range(step + 1))
                    assert tup.checkpoint["channel_values"]["owner"] == "x"
                    assert tup.pending_writes == [(f"task-{step}", "items", step)]
                items = store.search(("mp", thread_id), limit=100)
                assert sorted(i.value["step"] for i in items) == list(range(PUTS))
                if name != "async":
                    keys = [(("mp", thread_id), f"k{s}") for s in range(PUTS)]
                    assert sorted(cache.get(keys).values()) == list(range(PUTS))
        shared = list(saver.list({"configurable": {"thread_id": "shared"}}))
        assert len(shared) == PROCESSES * len(THREAD_NAMES) - PROCESSES  # async threads skip it
        assert saver.schema_version() == 1
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert check.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
        versions = dict(check.execute("SELECT component, version FROM durastate_schema"))
        assert versions == {"checkpoint": 1, "store": 1, "cache": 1}


@pytest.mark.parametrize("round_", range(3))
def test_processes_opening_a_new_file_together(tmp_path: Path, round_: int) -> None:
    """The race that once failed: connection setup and migrations on a brand-new file."""
    path = str(tmp_path / f"race{round_}.db")
    ctx = _context()
    barrier = ctx.Barrier(PROCESSES)
    errors = ctx.Queue()
    procs = [ctx.Process(target=_open_only, args=(path, barrier, errors)) for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    results = [errors.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert results == ["ok"] * PROCESSES


def _open_only(path: str, barrier: Any, errors: Any) -> None:
    try:
        from durastate.cache.sqlite import SqliteCache
        from durastate.checkpoint.sqlite import SqliteSaver
        from durastate.store.sqlite import SqliteStore

        barrier.wait(timeout=60)
        for cls in (SqliteSaver, SqliteStore):
            with cls.from_conn_string(path) as obj:  # type: ignore[attr-defined]
                obj.setup()
        with SqliteCache.from_conn_string(path) as cache:
            cache.set({(("race",), "k"): (1, None)})
        errors.put("ok")
    except BaseException:
        errors.put(traceback.format_exc())
