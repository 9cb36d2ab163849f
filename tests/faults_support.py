"""Private Postgres and Redis servers for fault tests, plus graphs and backends they share."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypedDict

import psycopg
import pytest
import redis
from langgraph.graph import END, START, StateGraph

from durastate.cache.postgres import PostgresCache
from durastate.cache.redis import RedisCache
from durastate.cache.sqlite import SqliteCache
from durastate.checkpoint.postgres import PostgresSaver
from durastate.checkpoint.redis import RedisSaver
from durastate.checkpoint.sqlite import SqliteSaver
from durastate.store.postgres import PostgresStore
from durastate.store.redis import RedisStore
from durastate.store.sqlite import SqliteStore

REPO = Path(__file__).resolve().parents[1]
SERVERS_SCRIPT = REPO / "scripts" / "servers"


def _free_port(taken: set[int]) -> int:
    """A port below the ephemeral range that nothing listens on (client sockets never get it)."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        if port in taken:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port found between 20000 and 32000")


class PrivateServers:
    """A Postgres and a plain Redis of this test process only, safe to restart and stop."""

    _instance: PrivateServers | None = None
    _users = 0
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="durastate-faults-"))
        # The servers run as a service user: it must reach this directory, or pg_ctl stop
        # fails and the server is only stopped by SIGTERM (a smart shutdown, 15 s with clients).
        self.dir.chmod(0o755)
        pg = _free_port(set())
        rd = _free_port({pg})
        self.env = {
            **os.environ,
            "DURASTATE_SERVERS_DIR": str(self.dir),
            "DURASTATE_SERVERS_POSTGRES_PORT": str(pg),
            "DURASTATE_SERVERS_REDIS_PORT": str(rd),
        }
        self.postgres_url = f"postgresql://durastate:durastate@127.0.0.1:{pg}/durastate"
        self.redis_url = f"redis://127.0.0.1:{rd}/0"

    def _servers(self, *args: str) -> None:
        done = subprocess.run(
            [str(SERVERS_SCRIPT), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            pytest.fail(
                f"scripts/servers {' '.join(args)} failed ({done.returncode}):\n"
                f"{done.stdout}\n{done.stderr}",
                pytrace=False,
            )

    def start(self) -> None:
        self._servers("start", "postgres", "redis")

    def restart(self, name: str) -> None:
        """Restart ``postgres`` or ``redis`` in place (same port, same data)."""
        self._servers("restart", name)

    def stop(self) -> None:
        """Stop both servers and delete their data."""
        self._servers("stop", "postgres", "redis")
        for name in ("postgres", "redis"):
            link = self.dir / name
            if link.is_symlink():  # the service user's copy elsewhere (see scripts/servers)
                shutil.rmtree(link.resolve(), ignore_errors=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    @classmethod
    def acquire(cls) -> PrivateServers:
        with cls._lock:
            if cls._instance is None:
                inst = cls()
                inst.start()
                cls._instance = inst
            cls._users += 1
            return cls._instance

    @classmethod
    def release(cls) -> None:
        with cls._lock:
            cls._users -= 1
            if cls._users == 0 and cls._instance is not None:
                inst, cls._instance = cls._instance, None
                inst.stop()


@pytest.fixture(scope="session")
def private_servers() -> Iterator[PrivateServers]:
    """Private servers for the session (shared by every test module importing this fixture)."""
    servers = PrivateServers.acquire()
    try:
        yield servers
    finally:
        PrivateServers.release()


def terminate_postgres_clients(url: str) -> int:
    """``pg_terminate_backend`` every other client connection to the database; answers how many."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        ).fetchall()
    return len(rows)


def kill_redis_clients(url: str) -> int:
    """``CLIENT KILL TYPE normal`` (every normal client but the caller); answers how many."""
    client = redis.Redis.from_url(url)
    try:
        return int(client.execute_command("CLIENT", "KILL", "TYPE", "normal"))  # type: ignore[no-untyped-call]
    finally:
        client.close()


def postgres_connections(url: str, application_name: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            (application_name,),
        ).fetchone()
    assert row is not None
    return int(row[0])


def redis_connections(url: str, client_name: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        listing = client.execute_command("CLIENT", "LIST")  # type: ignore[no-untyped-call]
    finally:
        client.close()
    text = listing.decode() if isinstance(listing, bytes) else str(listing)
    return sum(1 for line in text.splitlines() if f" name={client_name} " in f" {line} ")


def new_schema() -> str:
    return f"f_{uuid.uuid4().hex[:12]}"


def new_prefix() -> str:
    return f"dsfault-{uuid.uuid4().hex[:10]}"


@contextmanager
def sync_backends(engine: str, target: str, name: str = "") -> Iterator[tuple[Any, Any, Any]]:
    """(saver, store, cache) of one engine on ``target``: a file path, or a server URL.

    Postgres uses a fresh schema and Redis a fresh key prefix; ``name`` becomes the
    connections' application name / client name (to count them on the server).
    """
    with ExitStack() as stack:
        if engine == "sqlite":
            saver: Any = SqliteSaver(target)
            store: Any = SqliteStore(target)
            cache: Any = SqliteCache(path=target)
        elif engine == "postgres":
            schema = new_schema()
            pool: dict[str, Any] = {"max_size": 4}
            if name:
                pool["kwargs"] = {"application_name": name}
            saver = PostgresSaver(target, schema=schema, pool_config=pool)
            store = PostgresStore(target, schema=schema, pool_config=pool)
            cache = PostgresCache(target, schema=schema, pool_config=pool)
        elif engine == "redis":
            prefix = new_prefix()
            args = {"client_name": name} if name else None
            saver = RedisSaver(target, key_prefix=prefix, connection_args=args)
            store = RedisStore(target, key_prefix=prefix, connection_args=args)
            cache = RedisCache(target, key_prefix=prefix, connection_args=args)
        else:
            raise ValueError(engine)
        for backend in (saver, store, cache):
            stack.callback(backend.close)
        yield saver, store, cache


class Counter(TypedDict):
    n: int
    trail: list[int]


def counting_graph(
    steps: int, on_step: Callable[[int], None] | None = None, checkpointer: Any = None
) -> Any:
    """A one-node loop that runs ``steps`` times; ``on_step(n)`` runs inside the node."""

    def tick(state: Counter) -> dict[str, Any]:
        n = state["n"] + 1
        if on_step is not None:
            on_step(n)
        return {"n": n, "trail": [*state["trail"], n]}

    def route(state: Counter) -> str:
        return END if state["n"] >= steps else "tick"

    builder: StateGraph[Counter] = StateGraph(Counter)
    builder.add_node("tick", tick)
    builder.add_edge(START, "tick")
    builder.add_conditional_edges("tick", route, ["tick", END])
    return builder.compile(checkpointer=checkpointer)


def _expected_writes(step: int, steps: int) -> list[tuple[str, Any]]:
    """The pending writes LangGraph stores on the counting run's checkpoint of ``step``."""
    if step >= steps:
        return []
    n = step + 1
    writes: list[tuple[str, Any]] = [("n", n), ("trail", list(range(1, n + 1)))]
    if step == -1:
        writes = [("n", 0), ("trail", [])]
    if n < steps or step == -1:
        writes.append(("branch:to:tick", None))
    return writes


def check_history(history: list[Any], steps: int, failed: bool = False) -> None:
    """A finished counting run: one checkpoint per step (-1 .. steps), ids unique, values
    exact, and on each checkpoint exactly the writes of its one task (none twice, none
    partial).

    ``failed``: a run of this thread raised. LangGraph's sync loop commits the next
    checkpoint without waiting for the previous step's ``put_writes``; when that call is
    the one that fails, the older checkpoint keeps no writes, which loses nothing (the next
    checkpoint holds their result) -- the writes are then all there or all absent.
    """
    ids = [t.config["configurable"]["checkpoint_id"] for t in history]
    assert len(ids) == len(set(ids)), "a checkpoint id appears twice"
    got = sorted(t.metadata["step"] for t in history)
    assert got == list(range(-1, steps + 1)), got
    for t in history:
        step = t.metadata["step"]
        if step >= 0:
            assert t.checkpoint["channel_values"]["n"] == step
            assert t.checkpoint["channel_values"]["trail"] == list(range(1, step + 1))
        writes = [(channel, value) for _, channel, value in t.pending_writes or []]
        expected = _expected_writes(step, steps)
        if failed and not writes:
            continue
        assert writes == expected, (step, t.pending_writes)
        assert len({task for task, _, _ in t.pending_writes or []}) <= 1, t.pending_writes
    assert history[0].metadata["step"] == steps


RESUMES = 8
"""Invocations of a run before it counts as stuck (waits between them add up to ~10 s)."""


def _pause(failures: int) -> float:
    return float(min(0.2 * 2**failures, 2.0))


def run_to_end(graph: Any, cfg: Any, steps: int, check: Callable[[BaseException], None]) -> int:
    """Start a counting run and resume it from its last checkpoint until it is done;
    answers how many of its invocations raised (each error passed to ``check``)."""
    failures = 0
    for attempt in range(RESUMES):
        if attempt and graph.get_state(cfg).values.get("n") == steps:
            return failures
        try:
            graph.invoke({"n": 0, "trail": []} if attempt == 0 else None, cfg)
        except Exception as exc:
            check(exc)
            failures += 1
            time.sleep(_pause(failures))
    if graph.get_state(cfg).values.get("n") == steps:
        return failures
    raise AssertionError(f"{cfg} did not finish, {failures} invocations failed")


async def arun_to_end(
    graph: Any, cfg: Any, steps: int, check: Callable[[BaseException], None]
) -> int:
    """``run_to_end`` with ``ainvoke``."""
    failures = 0
    for attempt in range(RESUMES):
        if attempt and (await graph.aget_state(cfg)).values.get("n") == steps:
            return failures
        try:
            await graph.ainvoke({"n": 0, "trail": []} if attempt == 0 else None, cfg)
        except Exception as exc:
            check(exc)
            failures += 1
            await asyncio.sleep(_pause(failures))
    if (await graph.aget_state(cfg)).values.get("n") == steps:
        return failures
    raise AssertionError(f"{cfg} did not finish, {failures} invocations failed")
