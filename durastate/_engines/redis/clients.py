"""Redis clients from a URL or a caller's client, and the drivers that run operations on them.

A URL gives a client durastate owns (and closes); a cluster is recognised by asking the
server (``INFO cluster``) so ``redis://`` works for both. A ``redis.Redis``,
``redis.asyncio.Redis`` or ``RedisCluster`` handed in is used as is and never closed.
Scripts run with ``EVALSHA`` and are loaded again when the server answers NOSCRIPT (after
a restart, failover or ``SCRIPT FLUSH``). A driver lets at most as many requests run at
once as its client's pool has connections (redis-py's pools raise ``MaxConnectionsError``
instead of waiting), so any number of threads or tasks can share one.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, TypeVar

import redis
import redis.asyncio as aredis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.cluster import RedisCluster
from redis.exceptions import NoScriptError
from redis.retry import Retry

from durastate._engines.redis.requests import Body, Call, Cmd, Pipe, Request, Scan
from durastate.errors import InvalidInputError

T = TypeVar("T")

SyncSource = str | redis.Redis | RedisCluster
AsyncSource = str | aredis.Redis | AsyncRedisCluster

_SCAN_COUNT = 1000
_DEFAULT_MAX_CONNECTIONS = 100
"""redis-py's pool size when nothing says otherwise."""


def _check_binary(client: Any) -> None:
    encoder = client.get_encoder()
    if getattr(encoder, "decode_responses", False):
        raise InvalidInputError(
            "the Redis client decodes responses (decode_responses=True); durastate stores "
            "binary values, so give it a client created with decode_responses=False"
        )


def _max_connections(client: Any) -> int:
    """How many connections the client may open (per node on a cluster)."""
    if isinstance(client, (redis.Redis, aredis.Redis)):
        pool = client.connection_pool
        return int(getattr(pool, "max_connections", None) or _DEFAULT_MAX_CONNECTIONS)
    sizes = []
    for node in client.get_nodes():
        if isinstance(client, RedisCluster):
            node = node.redis_connection.connection_pool
        sizes.append(getattr(node, "max_connections", None))
    return int(min((s for s in sizes if s), default=_DEFAULT_MAX_CONNECTIONS))


def _is_cluster_info(info: Any) -> bool:
    return bool(isinstance(info, dict) and int(info.get("cluster_enabled", 0) or 0))


def _errors(replies: list[Any], items: tuple[Cmd | Call, ...]) -> list[int]:
    """Indexes of replies that failed with NOSCRIPT; raises any other failure."""
    missing = []
    for i, reply in enumerate(replies):
        if isinstance(reply, NoScriptError) and isinstance(items[i], Call):
            missing.append(i)
        elif isinstance(reply, Exception):
            raise reply
    return missing


RETRIES = 5
"""Resends of a command whose connection failed (0.05 s doubling to 0.8 s: ~1.5 s in all)."""


def standalone_args(
    connection_args: dict[str, Any] | None, *, asyncio_client: bool
) -> dict[str, Any]:
    """Client options for a URL: a connection the server closed (restart, ``CLIENT KILL``)
    is reopened and the command sent again, with backoff, since every operation is
    idempotent (upserts, keep-first writes, deletes). redis-py sends once by default.
    The caller's ``connection_args`` win."""
    backoff = ExponentialBackoff(cap=1.0, base=0.05)
    retry = AsyncRetry(backoff, RETRIES) if asyncio_client else Retry(backoff, RETRIES)
    args: dict[str, Any] = {
        "retry": retry,
        "retry_on_error": [redis.ConnectionError, redis.TimeoutError],
    }
    args.update(connection_args or {})
    return args


class SyncDriver:
    """A blocking client (plain or cluster) and how to run operation bodies on it."""

    def __init__(self, client: redis.Redis | RedisCluster, *, owned: bool) -> None:
        _check_binary(client)
        self.client: Any = client
        self.owned = owned
        self.is_cluster = isinstance(client, RedisCluster)
        slots = _max_connections(client)
        if self.is_cluster:
            # A blocking cluster pipeline asks its default node for a script's keys
            # (COMMAND GETKEYS) while holding the connections it has taken: two of one
            # node's connections for one request.
            slots = max(1, slots // 2)
        self._slots = threading.BoundedSemaphore(slots)

    @classmethod
    def open(
        cls,
        source: SyncSource,
        connection_args: dict[str, Any] | None = None,
        *,
        cluster: bool | None = None,
    ) -> SyncDriver:
        """A driver on a caller's client, or on a new one for a URL.

        ``cluster``: None asks the server whether it is a cluster; True or False says so.
        """
        if isinstance(source, (redis.Redis, RedisCluster)):
            return cls(source, owned=False)
        if isinstance(source, (aredis.Redis, AsyncRedisCluster)):
            raise InvalidInputError(
                "this class takes a blocking redis client; use the Async... class with "
                "redis.asyncio clients"
            )
        if not isinstance(source, str):
            raise InvalidInputError(f"expected a Redis URL or client, got {type(source).__name__}")
        args = dict(connection_args or {})
        if cluster:
            return cls(RedisCluster.from_url(source, **args), owned=True)
        client = redis.Redis.from_url(source, **standalone_args(args, asyncio_client=False))
        if cluster is None:
            try:
                found = _is_cluster_info(client.info("cluster"))
            except BaseException:
                client.close()
                raise
            if found:
                client.close()
                return cls(RedisCluster.from_url(source, **args), owned=True)
        return cls(client, owned=True)

    def _call(self, call: Call) -> Any:
        client = self.client
        try:
            return client.evalsha(call.script.sha, len(call.keys), *call.keys, *call.args)
        except NoScriptError:
            client.script_load(call.script.source)
            return client.evalsha(call.script.sha, len(call.keys), *call.keys, *call.args)

    def _pipe(self, pipe: Pipe) -> list[Any]:
        if len(pipe.items) <= 1:
            return [self._one(item) for item in pipe.items]
        p = self.client.pipeline(transaction=False)
        for item in pipe.items:
            if isinstance(item, Call):
                p.execute_command(
                    "EVALSHA", item.script.sha, len(item.keys), *item.keys, *item.args
                )
            else:
                p.execute_command(*item.args)
        replies = list(p.execute(raise_on_error=False))
        for i in _errors(replies, pipe.items):
            replies[i] = self._one(pipe.items[i])
        return replies

    def _one(self, item: Cmd | Call) -> Any:
        if isinstance(item, Call):
            return self._call(item)
        return self.client.execute_command(*item.args)

    def execute(self, req: Request) -> Any:
        with self._slots:
            return self._execute(req)

    def _execute(self, req: Request) -> Any:
        if isinstance(req, Call):
            return self._call(req)
        if isinstance(req, Cmd):
            return self.client.execute_command(*req.args)
        if isinstance(req, Pipe):
            return self._pipe(req)
        if isinstance(req, Scan):
            return list(self.client.scan_iter(match=req.pattern, count=_SCAN_COUNT))
        raise TypeError(f"unknown request {req!r}")

    def run(self, body: Body[T]) -> T:
        """Run a body to completion, feeding it replies and errors."""
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                req = body.throw(error) if error is not None else body.send(value)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            error = value = None
            try:
                value = self.execute(req)
            except Exception as exc:
                error = exc

    def close(self) -> None:
        if self.owned:
            self.client.close()


class AsyncDriver:
    """An asyncio client (plain or cluster), connected on first use when given a URL."""

    def __init__(
        self,
        client: aredis.Redis | AsyncRedisCluster | None,
        *,
        url: str | None = None,
        connection_args: dict[str, Any] | None = None,
        cluster: bool | None = None,
    ) -> None:
        if client is not None:
            _check_binary(client)
        self._client = client
        self.url = url
        self.connection_args = dict(connection_args or {})
        self.owned = client is None
        self.cluster = cluster
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    @classmethod
    def open(
        cls,
        source: AsyncSource,
        connection_args: dict[str, Any] | None = None,
        *,
        cluster: bool | None = None,
    ) -> AsyncDriver:
        if isinstance(source, (aredis.Redis, AsyncRedisCluster)):
            return cls(source)
        if isinstance(source, (redis.Redis, RedisCluster)):
            raise InvalidInputError(
                "this class takes a redis.asyncio client; use the sync class with a blocking "
                "redis client"
            )
        if not isinstance(source, str):
            raise InvalidInputError(f"expected a Redis URL or client, got {type(source).__name__}")
        return cls(None, url=source, connection_args=connection_args, cluster=cluster)

    @property
    def client(self) -> aredis.Redis | AsyncRedisCluster | None:
        """The client (None until first use when opened from a URL)."""
        return self._client

    async def connect(self) -> aredis.Redis | AsyncRedisCluster:
        """The client, connecting on first use (again when used from a new event loop)."""
        loop = asyncio.get_running_loop()
        if self.owned and self._loop is not loop:
            # asyncio connections belong to the loop that opened them; an earlier loop's
            # client (e.g. a previous asyncio.run) cannot serve this one.
            self._client, self._lock, self._loop = None, None, loop
        if self._client is not None:
            return self._client
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._client is None:
                assert self.url is not None
                cluster = self.cluster
                client: aredis.Redis | None = None
                if not cluster:
                    args = standalone_args(self.connection_args, asyncio_client=True)
                    client = aredis.Redis.from_url(self.url, **args)
                if cluster is None and client is not None:
                    try:
                        cluster = _is_cluster_info(await client.info("cluster"))
                    except BaseException:
                        await client.aclose()
                        raise
                if cluster:
                    if client is not None:
                        await client.aclose()
                    cluster_client = AsyncRedisCluster.from_url(self.url, **self.connection_args)
                    # Learn the slots once here rather than in every first concurrent call.
                    await cluster_client.initialize()
                    self._client = cluster_client
                else:
                    self._client = client
        assert self._client is not None
        return self._client

    async def _call(self, client: Any, call: Call) -> Any:
        try:
            return await client.evalsha(call.script.sha, len(call.keys), *call.keys, *call.args)
        except NoScriptError:
            await client.script_load(call.script.source)
            return await client.evalsha(call.script.sha, len(call.keys), *call.keys, *call.args)

    async def _one(self, client: Any, item: Cmd | Call) -> Any:
        if isinstance(item, Call):
            return await self._call(client, item)
        return await client.execute_command(*item.args)

    async def _pipe(self, client: Any, pipe: Pipe) -> list[Any]:
        if len(pipe.items) <= 1:
            return [await self._one(client, item) for item in pipe.items]
        p = client.pipeline(transaction=False)
        for item in pipe.items:
            if isinstance(item, Call):
                p.execute_command(
                    "EVALSHA", item.script.sha, len(item.keys), *item.keys, *item.args
                )
            else:
                p.execute_command(*item.args)
        replies = list(await p.execute(raise_on_error=False))
        for i in _errors(replies, pipe.items):
            replies[i] = await self._one(client, pipe.items[i])
        return replies

    def _slot(self, client: aredis.Redis | AsyncRedisCluster) -> asyncio.Semaphore:
        """One permit per pooled connection, for requests on the running loop."""
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(_max_connections(client)))
        return self._slots[1]

    async def execute(self, req: Request) -> Any:
        client = await self.connect()
        async with self._slot(client):
            return await self._execute(client, req)

    async def _execute(self, client: Any, req: Request) -> Any:
        if isinstance(req, Call):
            return await self._call(client, req)
        if isinstance(req, Cmd):
            return await client.execute_command(*req.args)
        if isinstance(req, Pipe):
            return await self._pipe(client, req)
        if isinstance(req, Scan):
            return [k async for k in client.scan_iter(match=req.pattern, count=_SCAN_COUNT)]
        raise TypeError(f"unknown request {req!r}")

    async def run(self, body: Body[T]) -> T:
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                req = body.throw(error) if error is not None else body.send(value)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            error = value = None
            try:
                value = await self.execute(req)
            except Exception as exc:
                error = exc

    async def close(self) -> None:
        """Close the client if it was opened here (one from a finished loop is let go)."""
        if self.owned and self._client is not None:
            client, self._client = self._client, None
            if self._loop is asyncio.get_running_loop():
                await client.aclose()
