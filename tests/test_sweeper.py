"""The background sweepers start, sweep, report failures and stop cleanly."""

from __future__ import annotations

import asyncio
import threading

from durastate._sweeper import TaskSweeper, ThreadSweeper


def test_thread_sweeper_runs_and_stops_without_leaking_threads() -> None:
    calls = threading.Event()
    count = 0

    def sweep() -> int:
        nonlocal count
        count += 1
        if count >= 2:
            calls.set()
        return 3

    sweeper = ThreadSweeper(sweep, 0.01, "test-sweeper")
    future = sweeper.start()
    assert calls.wait(5)
    assert sweeper.stop(5)
    assert future.result(5) is None
    assert sweeper.swept >= 6
    assert not any(t.name == "test-sweeper" for t in threading.enumerate())


def test_thread_sweeper_keeps_going_after_a_failed_sweep() -> None:
    done = threading.Event()
    attempts = 0

    def sweep() -> int:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("boom")
        done.set()
        return 1

    sweeper = ThreadSweeper(sweep, 0.01, "failing-sweeper")
    sweeper.start()
    assert done.wait(5)
    assert sweeper.stop(5)
    assert isinstance(sweeper.last_error, RuntimeError)


async def test_task_sweeper_runs_and_stops() -> None:
    swept = asyncio.Event()

    async def sweep() -> int:
        swept.set()
        return 2

    sweeper = TaskSweeper(sweep, 0.01, "task-sweeper")
    task = sweeper.start()
    await asyncio.wait_for(swept.wait(), 5)
    assert await sweeper.stop(5)
    assert task.done() and not task.cancelled()
    assert sweeper.swept >= 2
