"""Runs one contract test through a backend's sync API or its async API."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

Mode = Literal["sync", "async"]
Opener = Callable[..., Any]
"""Returns a context manager (sync or async) that opens a backend on the test's storage.

Every call opens the *same* storage again, so a test can close a backend and reopen it.
Keyword arguments configure the backend (``ttl=``, ``index=``, ``serde=`` ...)."""

ITERATING = frozenset({"list"})


@contextlib.asynccontextmanager
async def opened(opener: Opener, /, **kwargs: Any) -> AsyncIterator[Any]:
    """Enter what ``opener(**kwargs)`` returns, whether it is a sync or async manager."""
    manager = opener(**kwargs)
    if hasattr(manager, "__aenter__"):
        async with manager as backend:
            yield backend
    else:
        with manager as backend:
            yield backend


class Api:
    """Calls a backend's methods in one mode.

    ``sync``: the plain method, in a worker thread (so an async backend's sync methods are
    exercised from another thread, as LangGraph's sync runners do). ``async``: the ``a``
    method on the test's event loop. Iterators (``list``) come back as lists.
    """

    def __init__(self, mode: Mode) -> None:
        self.mode = mode

    def __repr__(self) -> str:
        return f"Api({self.mode!r})"

    async def call(self, backend: Any, name: str, /, *args: Any, **kwargs: Any) -> Any:
        if self.mode == "sync":
            method = getattr(backend, name)
            if name in ITERATING:
                return await asyncio.to_thread(lambda: list(method(*args, **kwargs)))
            result = await asyncio.to_thread(method, *args, **kwargs)
            # Async classes keep some maintenance methods (``sweep_ttl``) as coroutines.
            return await result if inspect.isawaitable(result) else result
        method = getattr(backend, "a" + name)
        if name in ITERATING:
            return [item async for item in method(*args, **kwargs)]
        return await method(*args, **kwargs)

    def bind(self, backend: Any) -> Bound:
        """``await api.bind(saver).get_tuple(config)`` reads better than ``call``."""
        return Bound(self, backend)


class Bound:
    """A backend seen through one mode: every attribute is an awaitable method."""

    def __init__(self, api: Api, backend: Any) -> None:
        self.api = api
        self.backend = backend

    def __getattr__(self, name: str) -> Callable[..., Any]:
        async def invoke(*args: Any, **kwargs: Any) -> Any:
            return await self.api.call(self.backend, name, *args, **kwargs)

        invoke.__name__ = name
        return invoke


async def maybe_await(value: Any) -> Any:
    """Await ``value`` when a method answered a coroutine (async classes' sweeper calls)."""
    return await value if inspect.isawaitable(value) else value


async def start_sweeper(backend: Any, interval: float) -> Any:
    """Start a backend's TTL sweeper whichever flavour it is (interval in its own unit)."""
    return await maybe_await(backend.start_ttl_sweeper(interval))


async def stop_sweeper(backend: Any, timeout: float | None = 10.0) -> bool:
    """Stop a backend's TTL sweeper and answer whether it stopped in time."""
    return bool(await maybe_await(backend.stop_ttl_sweeper(timeout)))
