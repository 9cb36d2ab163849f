"""Concurrent writers for every engine: what each writes, how it runs, how it is checked.

A writer is a plain generator of operations (one source for the blocking and the asyncio
executors) that records every checkpoint id the backend hands back. Writers run in
several processes, in several threads each and as many asyncio tasks; afterwards
``verify`` reads the backend and demands exactly what the writers reported: every
checkpoint, its values, parent and writes, every store item and cache entry, and
nothing else.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import traceback
from collections.abc import AsyncIterator, Generator, Iterator
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from langgraph.checkpoint.base import empty_checkpoint

from durastate.cache.base import encode_namespace
from durastate.checkpoint.base import next_version

Engine = Literal["memory", "sqlite", "postgres", "redis"]

PUTS = 6
"""Checkpoints each writer puts on its own thread."""
SHARED_PUTS = 3
"""Checkpoints each writer puts on the one thread every writer shares."""
SHARED_THREAD = "shared"
HOT = ("hot",)
"""The store namespace whose single key every writer overwrites."""

PRELOAD = [
    "durastate.checkpoint.sqlite",
    "durastate.store.sqlite",
    "durastate.cache.sqlite",
    "durastate.checkpoint.postgres",
    "durastate.store.postgres",
    "durastate.cache.postgres",
    "durastate.checkpoint.redis",
    "durastate.store.redis",
    "durastate.cache.redis",
    "langgraph.graph",
]


@dataclass(frozen=True)
class Target:
    """Where writers write: an engine, a file path or server URL, a schema or key prefix."""

    engine: Engine
    location: str = ""
    scope: str = ""


@dataclass
class Backend:
    saver: Any
    store: Any
    cache: Any


@dataclass
class Put:
    """One checkpoint a writer put, as the backend must give it back."""

    thread_id: str
    checkpoint_id: str
    parent_id: str | None
    values: dict[str, Any]
    step: int
    writes: list[tuple[str, str, Any]]


@dataclass
class Report:
    """Everything one writer did."""

    who: str
    puts: list[Put] = field(default_factory=list)
    items: dict[tuple[tuple[str, ...], str], dict[str, Any]] = field(default_factory=dict)
    deleted: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    hot_values: list[dict[str, Any]] = field(default_factory=list)
    entries: dict[tuple[tuple[str, ...], str], Any] = field(default_factory=dict)


# -- the writer: one generator, two executors -------------------------------------------
Op = tuple[Any, ...]


def _config(thread_id: str, checkpoint_id: str | None = None) -> Any:
    conf: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
    if checkpoint_id is not None:
        conf["checkpoint_id"] = checkpoint_id
    return {"configurable": conf}


class _Chain:
    """The checkpoints of one writer on one thread, each the child of the previous one."""

    def __init__(self, thread_id: str, who: str) -> None:
        self.thread_id = thread_id
        self.who = who
        self.versions: dict[str, str] = {}
        self.last: str | None = None

    def put(self, step: int) -> Generator[Op, Any, Put]:
        new = {"value": next_version(self.versions.get("value"))}
        if "who" not in self.versions:
            new["who"] = next_version(None)
        self.versions.update(new)
        cp = empty_checkpoint()
        cp["channel_values"] = {"who": self.who, "value": [self.who, step]}
        cp["channel_versions"] = dict(self.versions)
        metadata = {"source": "loop", "step": step, "who": self.who}
        config = yield ("put", _config(self.thread_id, self.last), cp, metadata, new)
        cid = config["configurable"]["checkpoint_id"]
        assert cid == cp["id"], (cid, cp["id"])
        put = Put(self.thread_id, cid, self.last, dict(cp["channel_values"]), step, [])
        self.last = cid
        return put

    def writes(self, put: Put, task_id: str, values: list[Any]) -> Generator[Op, Any, None]:
        writes = [("value", v) for v in values]
        yield ("writes", _config(self.thread_id, put.checkpoint_id), writes, task_id)
        put.writes.extend((task_id, "value", v) for v in values)


def writer(who: str) -> Generator[Op, Any, Report]:
    """What one writer does; checkpoint, store and cache traffic interleaved step by step."""
    report = Report(who)
    own = _Chain(who, who)
    shared = _Chain(SHARED_THREAD, who)
    ns = ("w", who)
    for step in range(PUTS):
        put = yield from own.put(step)
        yield from own.writes(put, f"{who}-a{step}", [[who, step, 0], [who, step, 1]])
        yield from own.writes(put, f"{who}-b{step}", [[who, step, 2]])
        report.puts.append(put)
        if step < SHARED_PUTS:
            put = yield from shared.put(step)
            yield from shared.writes(put, f"{who}-s{step}", [[who, "shared", step]])
            report.puts.append(put)
        value = {"who": who, "step": step}
        yield ("sput", ns, f"k{step}", value)
        report.items[(ns, f"k{step}")] = value
        if step % 3 == 2:
            yield ("sdel", ns, f"k{step - 1}")
            del report.items[(ns, f"k{step - 1}")]
            report.deleted.append((ns, f"k{step - 1}"))
        yield ("sput", ("shared",), f"{who}-{step}", value)
        report.items[(("shared",), f"{who}-{step}")] = value
        yield ("sput", HOT, "hot", value)
        report.hot_values.append(value)
        pairs = {(ns, f"k{step}"): [who, step], (("scratch", who), f"k{step}"): [step]}
        yield ("cset", pairs)
        report.entries[(ns, f"k{step}")] = [who, step]
    yield ("cclear", [("scratch", who)])
    return report


def run_sync(backend: Backend, who: str) -> Report:
    op = writer(who)
    answer: Any = None
    try:
        while True:
            request = op.send(answer)
            answer = _execute(backend, request)
    except StopIteration as done:
        result: Report = done.value
        return result


async def run_async(backend: Backend, who: str) -> Report:
    op = writer(who)
    answer: Any = None
    try:
        while True:
            request = op.send(answer)
            answer = await _aexecute(backend, request)
    except StopIteration as done:
        result: Report = done.value
        return result


def _execute(b: Backend, request: Op) -> Any:
    kind, *args = request
    if kind == "put":
        return b.saver.put(*args)
    if kind == "writes":
        return b.saver.put_writes(*args)
    if kind == "sput":
        return b.store.put(*args)
    if kind == "sdel":
        return b.store.delete(*args)
    if kind == "cset":
        return b.cache.set({k: (v, None) for k, v in args[0].items()})
    if kind == "cclear":
        return b.cache.clear(args[0])
    raise AssertionError(kind)


async def _aexecute(b: Backend, request: Op) -> Any:
    kind, *args = request
    if kind == "put":
        return await b.saver.aput(*args)
    if kind == "writes":
        return await b.saver.aput_writes(*args)
    if kind == "sput":
        return await b.store.aput(*args)
    if kind == "sdel":
        return await b.store.adelete(*args)
    if kind == "cset":
        return await b.cache.aset({k: (v, None) for k, v in args[0].items()})
    if kind == "cclear":
        return await b.cache.aclear(args[0])
    raise AssertionError(kind)


# -- opening the backends -----------------------------------------------------------------
POOL = {"min_size": 1, "max_size": 4}


@contextmanager
def open_sync(target: Target) -> Iterator[Backend]:
    """Blocking saver, store and cache on ``target`` (closed on exit)."""
    with ExitStack() as stack:
        e, loc, scope = target.engine, target.location, target.scope
        if e == "sqlite":
            from durastate.cache.sqlite import SqliteCache
            from durastate.checkpoint.sqlite import SqliteSaver
            from durastate.store.sqlite import SqliteStore

            parts: tuple[Any, ...] = (SqliteSaver(loc), SqliteStore(loc), SqliteCache(path=loc))
        elif e == "postgres":
            from durastate.cache.postgres import PostgresCache
            from durastate.checkpoint.postgres import PostgresSaver
            from durastate.store.postgres import PostgresStore

            parts = (
                PostgresSaver(loc, schema=scope, pool_config=POOL),
                PostgresStore(loc, schema=scope, pool_config=POOL),
                PostgresCache(loc, schema=scope, pool_config=POOL),
            )
        elif e == "redis":
            from durastate.cache.redis import RedisCache
            from durastate.checkpoint.redis import RedisSaver
            from durastate.store.redis import RedisStore

            parts = (
                RedisSaver(loc, key_prefix=scope),
                RedisStore(loc, key_prefix=scope),
                RedisCache(loc, key_prefix=scope),
            )
        else:
            raise AssertionError(f"{e}: in-process engines are shared, not opened")
        for part in parts:
            stack.enter_context(part)
        yield Backend(*parts)


@asynccontextmanager
async def open_async(target: Target) -> AsyncIterator[Backend]:
    """The asyncio-native saver, store and cache on ``target`` (closed on exit)."""
    async with AsyncExitStack() as stack:
        e, loc, scope = target.engine, target.location, target.scope
        if e == "sqlite":
            from durastate.cache.sqlite import SqliteCache
            from durastate.checkpoint.sqlite import AsyncSqliteSaver
            from durastate.store.sqlite import AsyncSqliteStore

            cache: Any = stack.enter_context(SqliteCache(path=loc))
            saver: Any = await stack.enter_async_context(AsyncSqliteSaver(loc))
            store: Any = await stack.enter_async_context(AsyncSqliteStore(loc))
        elif e == "postgres":
            from durastate.cache.postgres import PostgresCache
            from durastate.checkpoint.postgres import AsyncPostgresSaver
            from durastate.store.postgres import AsyncPostgresStore

            saver = await stack.enter_async_context(
                AsyncPostgresSaver(loc, schema=scope, pool_config=POOL)
            )
            store = await stack.enter_async_context(
                AsyncPostgresStore(loc, schema=scope, pool_config=POOL)
            )
            cache = await stack.enter_async_context(
                PostgresCache(loc, schema=scope, pool_config=POOL)
            )
        elif e == "redis":
            from durastate.cache.redis import RedisCache
            from durastate.checkpoint.redis import AsyncRedisSaver
            from durastate.store.redis import AsyncRedisStore

            saver = await stack.enter_async_context(AsyncRedisSaver(loc, key_prefix=scope))
            store = await stack.enter_async_context(AsyncRedisStore(loc, key_prefix=scope))
            cache = await stack.enter_async_context(RedisCache(loc, key_prefix=scope))
        else:
            raise AssertionError(f"{e}: in-process engines are shared, not opened")
        yield Backend(saver, store, cache)


# -- running writers ----------------------------------------------------------------------
def run_threads_and_tasks(
    sync: Backend, make_async: Any, prefix: str, threads: int, tasks: int
) -> tuple[list[Report], list[str]]:
    """``threads`` blocking writers sharing ``sync`` and, on one more thread, ``tasks``
    asyncio writers sharing the backend ``make_async()`` opens (an async context manager)."""
    reports: list[Report] = []
    failures: list[str] = []
    start = threading.Barrier(threads + 1)

    def blocking(i: int) -> None:
        try:
            start.wait(60)
            reports.append(run_sync(sync, f"{prefix}t{i}"))
        except BaseException:
            failures.append(traceback.format_exc())

    async def tasks_main() -> None:
        async with make_async() as backend:
            await asyncio.to_thread(start.wait, 60)
            done = await asyncio.gather(
                *(run_async(backend, f"{prefix}a{i}") for i in range(tasks)),
                return_exceptions=True,
            )
        for r in done:
            if isinstance(r, BaseException):
                failures.append("".join(traceback.format_exception(r)))
            else:
                reports.append(r)

    def in_loop() -> None:
        try:
            asyncio.run(tasks_main())
        except BaseException:
            failures.append(traceback.format_exc())

    workers = [threading.Thread(target=blocking, args=(i,)) for i in range(threads)]
    workers.append(threading.Thread(target=in_loop))
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return reports, failures


def process_main(
    target: Target, index: int, threads: int, tasks: int, barrier: Any, out: Any
) -> None:
    """One process: open its own backend, wait for the others, write, report."""
    try:
        with open_sync(target) as sync:
            barrier.wait(120)
            reports, failures = run_threads_and_tasks(
                sync, lambda: open_async(target), f"p{index}", threads, tasks
            )
        out.put((index, reports, failures))
    except BaseException:
        out.put((index, [], [traceback.format_exc()]))


def run_processes(
    target: Target, processes: int, threads: int, tasks: int
) -> tuple[list[Report], list[str]]:
    """``processes`` fresh processes (forked from a server that preloaded durastate)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    barrier = ctx.Barrier(processes)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=process_main, args=(target, i, threads, tasks, barrier, out))
        for i in range(processes)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    reports = [r for _, rs, _ in results for r in rs]
    failures = [f for _, _, fs in results for f in fs]
    failures += [f"process exit code {p.exitcode}" for p in procs if p.exitcode != 0]
    return reports, failures


# -- checking -------------------------------------------------------------------------------
@dataclass
class Verified:
    """What ``verify`` found exactly as reported."""

    writers: int
    checkpoints: int
    writes: int
    items: int
    entries: int

    def __str__(self) -> str:
        return (
            f"{self.writers} writers: {self.checkpoints} checkpoints, {self.writes} writes, "
            f"{self.items} store items, {self.entries} cache entries"
        )


def verify(backend: Backend, reports: list[Report], writers: int) -> Verified:
    """Demand exactly what the writers reported, read back through blocking classes."""
    assert len(reports) == writers, f"{len(reports)} reports from {writers} writers"
    saver, store, cache = backend.saver, backend.store, backend.cache
    expected = {(p.thread_id, p.checkpoint_id): p for r in reports for p in r.puts}
    assert len(expected) == sum(len(r.puts) for r in reports), "a checkpoint id came twice"
    listed = list(saver.list(None))
    found = {(t.config["configurable"]["thread_id"], t.checkpoint["id"]): t for t in listed}
    assert len(found) == len(listed), "list() gave a checkpoint twice"
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    assert not missing and not extra, f"missing {missing[:5]} ({len(missing)}), extra {extra[:5]}"
    writes = 0
    for key, put in expected.items():
        tup = found[key]
        assert tup.checkpoint["channel_values"] == put.values, key
        assert tup.metadata["step"] == put.step and tup.metadata["who"] == put.values["who"]
        parent = tup.parent_config["configurable"]["checkpoint_id"] if tup.parent_config else None
        assert parent == put.parent_id, key
        got = sorted(tup.pending_writes or [], key=repr)
        assert got == sorted(put.writes, key=repr), (key, got, put.writes)
        writes += len(got)
    shared = [t for t in listed if t.config["configurable"]["thread_id"] == SHARED_THREAD]
    assert len(shared) == writers * SHARED_PUTS
    for r in reports:
        latest = saver.get_tuple(_config(r.who))
        own = [p for p in r.puts if p.thread_id == r.who]
        assert len(own) == PUTS and latest is not None
        assert latest.checkpoint["id"] == own[-1].checkpoint_id

    items = {k: v for r in reports for k, v in r.items.items()}
    stored = [*store.search(("w",), limit=100_000), *store.search(("shared",), limit=100_000)]
    got_items = {(i.namespace, i.key): i.value for i in stored}
    assert len(got_items) == len(stored)
    assert got_items == items
    for r in reports:
        for ns, gone in r.deleted:
            assert store.get(ns, gone) is None
    hot = store.search(HOT, limit=10)
    assert len(hot) == 1
    assert hot[0].value in [r.hot_values[-1] for r in reports]

    entries = {k: v for r in reports for k, v in r.entries.items()}
    exported = {(e.ns_text, e.key) for e in cache.export_entries()}
    assert exported == {(encode_namespace(ns), key) for ns, key in entries}
    assert cache.get(list(entries)) == entries
    return Verified(writers, len(expected), writes, len(items) + 1, len(entries))
