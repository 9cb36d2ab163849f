"""Bridges between the sync and async APIs of one backend."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_DONE = object()


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking call in a worker thread so the event loop keeps running."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def iterate_in_thread(make: Callable[[], Iterator[T]]) -> AsyncIterator[T]:
    """Drive a blocking iterator from worker threads, one item per hop."""
    iterator = await asyncio.to_thread(make)
    try:
        while True:
            item = await asyncio.to_thread(next, iterator, _DONE)
            if item is _DONE:
                return
            yield item  # type: ignore[misc]
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            await asyncio.to_thread(close)


def run_on_loop(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T], owner: str) -> T:
    """Run an async method from a thread other than the loop's and wait for it."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        coro.close()
        raise asyncio.InvalidStateError(
            f"Synchronous calls to {owner} are only allowed from a thread other than its "
            "event loop's; use the async methods (e.g. `await saver.aget_tuple(...)`) there."
        )
    if loop.is_closed():
        coro.close()
        raise RuntimeError(f"{owner}'s event loop is closed")
    return asyncio.run_coroutine_threadsafe(coro, loop).result()


def main_thread_loop() -> asyncio.AbstractEventLoop:
    """The running loop; async backends remember it to serve their sync methods."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        if threading.current_thread() is threading.main_thread():
            return asyncio.get_event_loop_policy().get_event_loop()
        raise
