"""Background TTL sweepers: a thread for sync backends, an asyncio task for async ones."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Awaitable, Callable

logger = logging.getLogger("durastate.sweeper")


class ThreadSweeper:
    """Calls ``sweep`` every ``interval`` seconds on a daemon thread until stopped."""

    def __init__(self, sweep: Callable[[], int], interval: float, name: str) -> None:
        if interval <= 0:
            raise ValueError(f"sweep interval must be positive, got {interval!r}")
        self._sweep = sweep
        self._interval = interval
        self._name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._future: concurrent.futures.Future[None] | None = None
        self.last_error: BaseException | None = None
        self.swept = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> concurrent.futures.Future[None]:
        """Start the thread (idempotent); the future resolves when it has stopped."""
        if self.running and self._future is not None:
            return self._future
        self._stop.clear()
        self._future = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
        self._thread.start()
        return self._future

    def stop(self, timeout: float | None = None) -> bool:
        """Ask the thread to stop and wait; True when it has stopped."""
        self._stop.set()
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        stopped = not thread.is_alive()
        if stopped:
            self._thread = None
        return stopped

    def _loop(self) -> None:
        future = self._future
        try:
            while not self._stop.wait(self._interval):
                try:
                    self.swept += self._sweep()
                except Exception as exc:  # a failed sweep is logged and retried next tick
                    self.last_error = exc
                    logger.exception("TTL sweep failed in %s", self._name)
        finally:
            if future is not None and not future.done():
                future.set_result(None)


class TaskSweeper:
    """Awaits ``sweep`` every ``interval`` seconds in an asyncio task until stopped."""

    def __init__(self, sweep: Callable[[], Awaitable[int]], interval: float, name: str) -> None:
        if interval <= 0:
            raise ValueError(f"sweep interval must be positive, got {interval!r}")
        self._sweep = sweep
        self._interval = interval
        self._name = name
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self.last_error: BaseException | None = None
        self.swept = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> asyncio.Task[None]:
        """Start the task on the running loop (idempotent)."""
        if self._task is not None and not self._task.done():
            return self._task
        self._stop = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._loop(self._stop), name=self._name)
        return self._task

    async def stop(self, timeout: float | None = None) -> bool:
        """Ask the task to stop and wait; True when it has stopped."""
        task, event = self._task, self._stop
        if task is None or event is None:
            return True
        event.set()
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            task.cancel()
            return False
        self._task = None
        return True

    async def _loop(self, stop: asyncio.Event) -> None:
        while True:
            try:
                await asyncio.wait_for(stop.wait(), self._interval)
                return
            except asyncio.TimeoutError:
                pass
            try:
                self.swept += await self._sweep()
            except Exception as exc:  # a failed sweep is logged and retried next tick
                self.last_error = exc
                logger.exception("TTL sweep failed in %s", self._name)
