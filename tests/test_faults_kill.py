"""Kill -9 of a process in the middle of writing checkpoints and store items.

A child process writes checkpoints (``put`` and ``put_writes``) and store items in a loop
through the durastate classes, and appends each step to a report file once all three
calls returned; the test SIGKILLs it, opens the backend itself and checks that every
reported step is intact, that nothing half-written is visible, and that the thread goes
on (another child resumes it, then a LangGraph graph runs on it).

Run as a script, this file is the child: ``python test_faults_kill.py ENGINE TARGET
NAME THREAD REPORT FLAVOUR``.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

STEPS_BEFORE_KILL = (5, 15)
"""Each child is killed after a random number of reported steps in this range."""
ROUNDS = ("sync", "async", "sync")
"""One child per round, each resuming the thread the previous one left."""
KILL_WAIT = 60.0
"""Seconds a child may take to report its steps (the machine is loaded)."""


def expected_values(step: int) -> dict[str, Any]:
    """The channel values of the checkpoint of ``step``; ``blob`` changes every 3 steps."""
    blob_id = (step - 1) // 3
    return {
        "n": step,
        "trail": list(range(1, step + 1)),
        "blob": f"blob-{blob_id}-".encode() * 1500,
    }


def expected_writes(step: int) -> list[tuple[str, Any]]:
    return [("n", step + 1), ("note", f"after {step}")]


def expected_item(step: int) -> dict[str, Any]:
    return {"i": step, "pad": "x" * 500}


def task_id(step: int) -> str:
    return f"task-{step}"


def item_namespace(thread_id: str) -> tuple[str, ...]:
    return ("kill", thread_id)


# --- the child ------------------------------------------------------------------------


def _open(engine: str, target: str, name: str, flavour: str) -> tuple[Any, Any]:
    """(saver, store) of the engine in the child, sync or asyncio classes."""
    if engine == "sqlite":
        if flavour == "sync":
            from durastate.checkpoint.sqlite import SqliteSaver
            from durastate.store.sqlite import SqliteStore

            return SqliteSaver(target), SqliteStore(target)
        from durastate.checkpoint.sqlite.aio import AsyncSqliteSaver
        from durastate.store.sqlite.aio import AsyncSqliteStore

        return AsyncSqliteSaver(target), AsyncSqliteStore(target)
    if engine == "postgres":
        if flavour == "sync":
            from durastate.checkpoint.postgres import PostgresSaver
            from durastate.store.postgres import PostgresStore

            return PostgresSaver(target, schema=name), PostgresStore(target, schema=name)
        from durastate.checkpoint.postgres.aio import AsyncPostgresSaver
        from durastate.store.postgres.aio import AsyncPostgresStore

        return AsyncPostgresSaver(target, schema=name), AsyncPostgresStore(target, schema=name)
    if flavour == "sync":
        from durastate.checkpoint.redis import RedisSaver
        from durastate.store.redis import RedisStore

        return RedisSaver(target, key_prefix=name), RedisStore(target, key_prefix=name)
    from durastate.checkpoint.redis.aio import AsyncRedisSaver
    from durastate.store.redis.aio import AsyncRedisStore

    return AsyncRedisSaver(target, key_prefix=name), AsyncRedisStore(target, key_prefix=name)


def _checkpoint(step: int, versions: dict[str, Any]) -> Any:
    from langgraph.checkpoint.base import empty_checkpoint
    from langgraph.checkpoint.base.id import uuid6

    checkpoint = empty_checkpoint()
    checkpoint["id"] = str(uuid6(clock_seq=step))
    checkpoint["channel_values"] = expected_values(step)
    checkpoint["channel_versions"] = dict(versions)
    return checkpoint


async def _child(engine: str, target: str, name: str, thread_id: str, report: str) -> None:
    """Write steps until killed: put, put_writes, store put, then report the step."""
    flavour = sys.argv[6]
    saver, store = _open(engine, target, name, flavour)
    fd = os.open(report, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    config: Any = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    if flavour == "sync":
        latest = saver.get_tuple(config)
    else:
        latest = await saver.aget_tuple(config)
    step, versions = 1, {}
    if latest is not None:
        step = latest.metadata["step"] + 1
        versions = dict(latest.checkpoint["channel_versions"])
        config = latest.config
    while True:
        changed = ["n", "trail"] + (["blob"] if step % 3 == 1 else [])
        new_versions = {ch: saver.get_next_version(versions.get(ch), None) for ch in changed}
        versions.update(new_versions)
        checkpoint = _checkpoint(step, versions)
        metadata: Any = {"source": "loop", "step": step, "parents": {}}
        key, item = f"k{step}", expected_item(step)
        if flavour == "sync":
            config = saver.put(config, checkpoint, metadata, new_versions)
            saver.put_writes(config, expected_writes(step), task_id(step))
            store.put(item_namespace(thread_id), key, item)
        else:
            config = await saver.aput(config, checkpoint, metadata, new_versions)
            await saver.aput_writes(config, expected_writes(step), task_id(step))
            await store.aput(item_namespace(thread_id), key, item)
        os.write(fd, f"{step}\n".encode())
        step += 1


# --- the parent -----------------------------------------------------------------------


def _reported(report: Path) -> list[int]:
    if not report.exists():
        return []
    return [int(line) for line in report.read_text().split()]


def _kill_mid_way(args: list[str], report: Path, done: int) -> list[int]:
    """Start a child, SIGKILL it once it reported a few more steps; answers every step
    reported so far (all rounds)."""
    want = done + random.randint(*STEPS_BEFORE_KILL)
    child = subprocess.Popen(
        [sys.executable, __file__, *args],
        cwd=Path(__file__).parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + KILL_WAIT
        while len(_reported(report)) < want:
            if child.poll() is not None:
                assert child.stderr is not None
                pytest.fail(f"the child exited ({child.returncode}):\n{child.stderr.read()!r}")
            if time.monotonic() > deadline:
                pytest.fail(f"the child reported {len(_reported(report))} of {want} steps")
            time.sleep(0.002)
        time.sleep(random.uniform(0, 0.01))  # land anywhere inside the next step's writes
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        if child.stderr is not None:
            child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    return _reported(report)


def _check_backend(
    saver: Any, store: Any, thread_id: str, reported: list[int], unsure: set[int]
) -> int:
    """Every reported step intact, no step half-written; answers the newest step.

    ``unsure``: steps written but not reported (the kill came after ``put`` returned and
    before the report); their writes and item are all there or all absent.
    """
    config: Any = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    history = list(saver.list(config))
    steps = [t.metadata["step"] for t in history]
    last = reported[-1]
    newest = steps[0]
    assert newest in (last, last + 1), (newest, last)
    assert steps == list(range(newest, 0, -1)), "the history has a gap or a stray step"
    assert set(reported) <= set(steps)
    if newest == last + 1:
        unsure.add(newest)
    latest = saver.get_tuple(config)
    assert latest is not None
    assert latest.config["configurable"]["checkpoint_id"] == history[0].checkpoint["id"]
    ids = {t.metadata["step"]: t.checkpoint["id"] for t in history}
    for t in [latest, *history]:
        step = t.metadata["step"]
        # every channel of the checkpoint decodes to what was written (its blobs exist)
        assert t.checkpoint["channel_values"] == expected_values(step), step
        writes = [(w[0], w[1], w[2]) for w in t.pending_writes or []]
        full = [(task_id(step), ch, value) for ch, value in expected_writes(step)]
        if step in unsure:
            assert writes in ([], full), (step, writes)
        else:
            assert writes == full, (step, writes)
        parent = t.parent_config["configurable"]["checkpoint_id"] if t.parent_config else None
        assert parent == ids.get(step - 1), step
        again = saver.get_tuple(t.config)
        assert again is not None and again.checkpoint == t.checkpoint
    items = {it.key: it.value for it in store.search(item_namespace(thread_id), limit=10_000)}
    for step in steps:
        key = f"k{step}"
        if step in unsure and key not in items:
            continue
        assert items.pop(key) == expected_item(step), step
    assert not items, f"store items of steps never written: {sorted(items)}"
    return int(newest)


def _sqlite_intact(path: str) -> None:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


@contextmanager
def _parent_backends(engine: str, target: str, name: str) -> Iterator[tuple[Any, Any]]:
    """The test's own saver and store on the child's storage; cleaned up afterwards."""
    from durastate.checkpoint.postgres import PostgresSaver
    from durastate.checkpoint.redis import RedisSaver
    from durastate.checkpoint.sqlite import SqliteSaver
    from durastate.store.postgres import PostgresStore
    from durastate.store.redis import RedisStore
    from durastate.store.sqlite import SqliteStore

    saver: Any
    store: Any
    if engine == "sqlite":
        saver, store = SqliteSaver(target), SqliteStore(target)
    elif engine == "postgres":
        saver, store = PostgresSaver(target, schema=name), PostgresStore(target, schema=name)
    else:
        saver, store = RedisSaver(target, key_prefix=name), RedisStore(target, key_prefix=name)
    try:
        yield saver, store
    finally:
        saver.close()
        store.close()
        if engine == "postgres":
            with psycopg.connect(target, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        elif engine == "redis":
            from redis_support import delete_prefix

            delete_prefix(target, name)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["sqlite", "postgres", "redis"])
def test_kill_9_mid_write_leaves_last_commit_intact(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Three children (sync, asyncio, sync classes) killed mid-write on one thread: after
    each kill every reported step reads back exactly, nothing half-written shows, the
    next child resumes the thread; then a LangGraph graph continues it."""
    from faults_support import counting_graph

    if engine == "sqlite":
        target, name = str(tmp_path / "kill.db"), ""
    elif engine == "postgres":
        target, name = request.getfixturevalue("postgres_url"), f"k_{uuid.uuid4().hex[:12]}"
    else:
        target, name = request.getfixturevalue("redis_url"), f"dskill-{uuid.uuid4().hex[:10]}"
    thread_id = f"kill-{engine}"
    report = tmp_path / "report.txt"
    reported: list[int] = []
    unsure: set[int] = set()
    with _parent_backends(engine, target, name) as (saver, store):
        for flavour in ROUNDS:
            args = [engine, target, name, thread_id, str(report), flavour]
            reported = _kill_mid_way(args, report, len(reported))
            if engine == "sqlite":
                _sqlite_intact(target)
            newest = _check_backend(saver, store, thread_id, reported, unsure)
        # a real graph goes on from the newest checkpoint the children left
        graph = counting_graph(3, None, saver)
        cfg: Any = {"configurable": {"thread_id": thread_id}}
        before = saver.get_tuple(cfg)
        assert before is not None and before.metadata["step"] == newest
        graph.invoke({"n": 0, "trail": []}, cfg)
        assert graph.get_state(cfg).values == {"n": 3, "trail": [1, 2, 3]}
        history = list(saver.list(cfg))
        assert [t.metadata["step"] for t in history[:5]] == [newest + k for k in (5, 4, 3, 2, 1)]
        assert history[5].checkpoint["id"] == before.checkpoint["id"]
        first_new = history[4]
        assert first_new.parent_config is not None
        assert first_new.parent_config["configurable"]["checkpoint_id"] == before.checkpoint["id"]
        assert len(history) == newest + 5


if __name__ == "__main__":
    asyncio.run(_child(*sys.argv[1:6]))
