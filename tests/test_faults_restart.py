"""Server restarts and server-side connection kills in the middle of running graphs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
import redis
from faults_support import (
    PrivateServers,
    arun_to_end,
    check_history,
    counting_graph,
    kill_redis_clients,
    new_prefix,
    new_schema,
    private_servers,
    run_to_end,
    terminate_postgres_clients,
)

from durastate.checkpoint.postgres import AsyncPostgresSaver, PostgresSaver
from durastate.checkpoint.redis import AsyncRedisSaver, RedisSaver

__all__ = ["private_servers"]

STEPS = 8
FAULT_AT = 4
CLEAR_ERRORS = (psycopg.OperationalError, redis.ConnectionError, redis.TimeoutError)
ENGINES = ["postgres", "redis"]
KINDS = ["restart", "kill-connections"]


class Fault:
    """One fault, injected from inside a node the first time it reaches a step."""

    def __init__(self, servers: PrivateServers, engine: str, kind: str) -> None:
        self.servers, self.engine, self.kind = servers, engine, kind
        self.injected = 0
        self.clients_killed = 0

    def inject(self) -> None:
        if self.kind == "restart":
            self.servers.restart(self.engine)
        elif self.engine == "postgres":
            self.clients_killed += terminate_postgres_clients(self.servers.postgres_url)
        else:
            self.clients_killed += kill_redis_clients(self.servers.redis_url)
        self.injected += 1

    def at(self, step: int) -> Callable[[int], None]:
        def on_step(n: int) -> None:
            if n == step and not self.injected:
                self.inject()

        return on_step

    def check(self) -> None:
        """The fault really happened (a kill that finds no client tests nothing)."""
        assert self.injected == 1
        if self.kind != "restart":
            assert self.clients_killed >= 1


def _check_clear(exc: BaseException) -> None:
    """A failed run says what broke, and never shows the password of the URL."""
    assert isinstance(exc, CLEAR_ERRORS), f"unclear error: {type(exc).__name__}: {exc}"
    assert str(exc)
    assert "durastate:durastate@" not in str(exc)


def _sync_saver(servers: PrivateServers, engine: str) -> Any:
    if engine == "postgres":
        return PostgresSaver(servers.postgres_url, schema=new_schema())
    return RedisSaver(servers.redis_url, key_prefix=new_prefix())


def _async_saver(servers: PrivateServers, engine: str) -> Any:
    if engine == "postgres":
        return AsyncPostgresSaver.from_conn_string(servers.postgres_url, schema=new_schema())
    return AsyncRedisSaver.from_conn_string(servers.redis_url, key_prefix=new_prefix())


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("engine", ENGINES)
def test_sync_graph_survives_fault(private_servers: PrivateServers, engine: str, kind: str) -> None:
    """A fault at step 4 of 8: the run goes on after a retry, or fails with a clear error
    and resumes from its last checkpoint; every step and write is stored exactly once."""
    fault = Fault(private_servers, engine, kind)
    saver = _sync_saver(private_servers, engine)
    try:
        graph = counting_graph(STEPS, fault.at(FAULT_AT), saver)
        cfg: dict[str, Any] = {"configurable": {"thread_id": f"fault-{engine}-{kind}"}}
        failures = run_to_end(graph, cfg, STEPS, _check_clear)
        fault.check()
        assert failures <= 1
        if engine == "postgres":
            assert failures == 0  # a broken pool connection is replaced and the call retried
        state = graph.get_state(cfg)
        assert state.values == {"n": STEPS, "trail": list(range(1, STEPS + 1))}
        assert not state.next
        check_history(list(saver.list(cfg)), STEPS, failed=failures > 0)
    finally:
        saver.close()


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("engine", ENGINES)
async def test_async_graph_survives_fault(
    private_servers: PrivateServers, engine: str, kind: str
) -> None:
    """The same with the asyncio savers (the fault runs in the node's worker thread)."""
    fault = Fault(private_servers, engine, kind)
    async with _async_saver(private_servers, engine) as saver:
        graph = counting_graph(STEPS, fault.at(FAULT_AT), saver)
        cfg: dict[str, Any] = {"configurable": {"thread_id": f"afault-{engine}-{kind}"}}
        failures = await arun_to_end(graph, cfg, STEPS, _check_clear)
        fault.check()
        assert failures <= 1
        if engine == "postgres":
            assert failures == 0
        state = await graph.aget_state(cfg)
        assert state.values == {"n": STEPS, "trail": list(range(1, STEPS + 1))}
        assert not state.next
        check_history([t async for t in saver.alist(cfg)], STEPS, failed=failures > 0)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
async def test_async_runs_in_flight_during_restart(
    private_servers: PrivateServers, engine: str
) -> None:
    """Twenty async runs on one saver while its server restarts: each finishes (after a
    resume where its run failed) with its full history, every write stored exactly once.
    Postgres runs never fail: their calls wait for the pool to reconnect and retry."""
    opened: Any
    if engine == "postgres":
        opened = AsyncPostgresSaver.from_conn_string(
            private_servers.postgres_url, schema=new_schema(), pool_config={"max_size": 4}
        )
    else:
        opened = AsyncRedisSaver.from_conn_string(
            private_servers.redis_url, key_prefix=new_prefix()
        )
    async with opened as saver:
        ticks: list[float] = []

        def tick(n: int) -> None:
            ticks.append(time.monotonic())
            time.sleep(0.15)

        graph = counting_graph(STEPS, tick, saver)
        cfgs: list[Any] = [{"configurable": {"thread_id": f"inflight-{i}"}} for i in range(20)]
        restarted: list[float] = []

        async def restart_soon() -> None:
            await asyncio.sleep(1.0)
            restarted.append(time.monotonic())
            await asyncio.to_thread(private_servers.restart, engine)
            restarted.append(time.monotonic())

        restart = asyncio.create_task(restart_soon())
        runs = (arun_to_end(graph, c, STEPS, _check_clear) for c in cfgs)
        failures = await asyncio.gather(*runs)
        await restart
        # the restart fell in the middle of the runs: steps ran before it and after it
        assert min(ticks) < restarted[0] and max(ticks) > restarted[1]
        for cfg, failed in zip(cfgs, failures, strict=True):
            state = await graph.aget_state(cfg)
            assert state.values == {"n": STEPS, "trail": list(range(1, STEPS + 1))}, cfg
            check_history([t async for t in saver.alist(cfg)], STEPS, failed=failed > 0)
        if engine == "postgres":
            assert sum(failures) == 0
