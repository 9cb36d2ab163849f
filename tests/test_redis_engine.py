"""Redis engine specifics: round trips per operation, memory, key layout, scripts, clients."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.asyncio as aredis
from langgraph.checkpoint.base import BaseCheckpointSaver, empty_checkpoint
from redis_support import admin, delete_prefix, keys_under

from durastate._engines.redis.clients import AsyncDriver, SyncDriver
from durastate._engines.redis.keys import Layout, escape, unescape
from durastate._engines.redis.requests import Request
from durastate.cache.redis import RedisCache
from durastate.checkpoint.redis import AsyncRedisSaver, RedisSaver
from durastate.errors import InvalidInputError
from durastate.serde import default_serializer


@pytest.fixture
def prefix(redis_url: str, redis_cluster_url: str) -> Iterator[str]:
    name = f"dstest-engine-{uuid.uuid4().hex[:10]}"
    yield name
    delete_prefix(redis_url, name)
    delete_prefix(redis_cluster_url, name)


class Counting(SyncDriver):
    """A driver that counts the requests it sends: each one is one round trip."""

    sent: list[str]

    def execute(self, req: Request) -> Any:
        self.sent.append(type(req).__name__)
        return super().execute(req)


class AsyncCounting(AsyncDriver):
    sent: list[str]

    async def execute(self, req: Request) -> Any:
        self.sent.append(type(req).__name__)
        return await super().execute(req)


def _checkpoint(step: int, versions: dict[str, Any], values: dict[str, Any]) -> Any:
    cp = empty_checkpoint()
    cp["channel_values"] = dict(values)
    cp["channel_versions"] = dict(versions)
    return cp


class Steps:
    """Puts successive checkpoints as LangGraph does, changing only the given channels."""

    def __init__(self, saver: Any, thread_id: str) -> None:
        self.saver = saver
        self.config: Any = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
        self.values: dict[str, Any] = {}
        self.versions: dict[str, Any] = {}

    def next(self, changes: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
        new = {}
        for channel, value in changes.items():
            new[channel] = self.saver.get_next_version(self.versions.get(channel), None)
            self.versions[channel] = new[channel]
            self.values[channel] = value
        cp = _checkpoint(len(self.values), self.versions, self.values)
        return self.config, cp, {"source": "loop", "step": 0}, new


def _round_trips(saver: RedisSaver) -> list[str]:
    driver = saver._driver
    driver.__class__ = Counting
    counting: Any = driver
    counting.sent = []
    return counting.sent  # type: ignore[no-any-return]


@pytest.mark.parametrize("server", ["redis", "redis-cluster"])
def test_round_trips_per_operation(
    request: pytest.FixtureRequest, prefix: str, server: str
) -> None:
    """put and put_writes: one pipeline (the thread registry's SADD, then the script);
    get_tuple: one script; a list page: one script, whatever the page size."""
    url = request.getfixturevalue(server.replace("-", "_") + "_url")
    with RedisSaver.from_conn_string(url, key_prefix=prefix) as saver:
        sent = _round_trips(saver)
        steps = Steps(saver, "rt")
        steps.config = saver.put(*steps.next({"a": 1, "b": "x"}))
        assert sent == ["Pipe"]
        for n in range(20):
            sent.clear()
            steps.config = saver.put(*steps.next({"a": n}))
            assert sent == ["Pipe"]
            sent.clear()
            saver.put_writes(steps.config, [("a", n), ("b", "y")], f"task-{n}")
            assert sent == ["Pipe"]
        sent.clear()
        assert saver.get_tuple({"configurable": {"thread_id": "rt"}}) is not None
        assert sent == ["Call"]
        sent.clear()
        page = list(saver.list({"configurable": {"thread_id": "rt"}}, limit=10))
        assert len(page) == 10 and all(len(t.pending_writes or []) == 2 for t in page)
        assert sent == ["Call"]
        sent.clear()
        everything = list(saver.list({"configurable": {"thread_id": "rt"}}))
        assert len(everything) == 21
        assert sent == ["Call"]
        sent.clear()
        older = list(saver.list(None, before=page[-1].config, limit=5, filter={"source": "loop"}))
        assert [t.config for t in older] == [t.config for t in everything[10:15]]
        assert sent == ["Cmd", "Pipe"]  # the thread registry, then one script per thread


async def test_async_round_trips_match(redis_url: str, prefix: str) -> None:
    async with AsyncRedisSaver.from_conn_string(redis_url, key_prefix=prefix) as saver:
        driver: Any = saver._driver
        driver.__class__ = AsyncCounting
        driver.sent = []
        steps = Steps(saver, "rt")
        steps.config = await saver.aput(*steps.next({"a": 1}))
        driver.sent.clear()
        steps.config = await saver.aput(*steps.next({"a": 2}))
        await saver.aput_writes(steps.config, [("a", 3)], "t")
        assert await saver.aget_tuple(steps.config) is not None
        assert len([t async for t in saver.alist(steps.config, limit=2)]) == 1
        assert driver.sent == ["Pipe", "Pipe", "Call", "Call"]


def _memory(url: str, keys: list[bytes]) -> int:
    client = admin(url).client
    return sum(int(client.memory_usage(k, samples=0) or 0) for k in keys)


def test_a_long_thread_stores_unchanged_channels_once(redis_url: str, prefix: str) -> None:
    """200 steps that change a small counter next to a large, unchanged document: the
    saver keeps the document once, where storing the full state per step keeps it 200x."""
    document = {"text": "lorem ipsum " * 1500, "tags": list(range(200))}
    serde = default_serializer()
    with RedisSaver.from_conn_string(redis_url, key_prefix=prefix) as saver:
        steps = Steps(saver, "long")
        full_state_bytes = 0
        for n in range(200):
            changes: dict[str, Any] = {"step": n}
            if n == 0:
                changes["document"] = document
            steps.config = saver.put(*steps.next(changes))
            full_state_bytes += len(serde.dumps_typed(dict(steps.values))[1])
        ours = _memory(redis_url, keys_under(redis_url, prefix))
        baseline_keys = [f"{prefix}:baseline:{n}" for n in range(200)]
        client = admin(redis_url).client
        for key in baseline_keys:
            client.set(key, serde.dumps_typed(dict(steps.values))[1])
        baseline = _memory(redis_url, [k.encode() for k in baseline_keys])
        print(f"200-step thread: {ours} bytes in Redis; full state per step: {baseline} bytes")
        assert full_state_bytes > 150 * len(serde.dumps_typed(document)[1])
        assert ours * 10 < baseline
        latest = saver.get_tuple({"configurable": {"thread_id": "long"}})
        assert latest is not None and latest.checkpoint["channel_values"]["document"] == document


def test_ids_that_look_like_key_syntax_stay_apart(redis_cluster_url: str, prefix: str) -> None:
    """Thread ids and namespaces with braces, colons, globs and escapes never collide, and
    every key of a thread sits in one cluster slot."""
    awkward = ["{a}", "a:b", "a", "*", "%7Ba%7D", "a}b{c", "", "ü{", "x\\y"]
    with RedisSaver.from_conn_string(redis_cluster_url, key_prefix=prefix) as saver:
        for i, tid in enumerate(awkward):
            for ns in ["", "sub:1", "{ns}"]:
                config: Any = {"configurable": {"thread_id": tid, "checkpoint_ns": ns}}
                stored = saver.put(
                    config, _checkpoint(i, {"v": "1"}, {"v": [tid, ns]}), {}, {"v": "1"}
                )
                saver.put_writes(stored, [("v", tid)], "task")
        for tid in awkward:
            listed = list(saver.list({"configurable": {"thread_id": tid}}))
            assert sorted(t.checkpoint["channel_values"]["v"][1] for t in listed) == [
                "",
                "sub:1",
                "{ns}",
            ]
            assert all(t.checkpoint["channel_values"]["v"][0] == tid for t in listed)
        client = admin(redis_cluster_url).client
        layout = Layout(prefix)
        for tid in awkward:
            base = layout.thread(tid).base.encode()
            keys = [k for k in keys_under(redis_cluster_url, prefix) if k.startswith(base + b":")]
            assert len(keys) >= 8
            assert len({client.keyslot(k) for k in keys}) == 1
        saver.delete_thread("{a}")
        assert saver.get_tuple({"configurable": {"thread_id": "{a}"}}) is None
        assert saver.get_tuple({"configurable": {"thread_id": "%7Ba%7D"}}) is not None


def test_escaping_is_reversible_and_injective() -> None:
    texts = ["", "a", "%", "%25", "{", "}", ":", "a:b", "*?[]\\", " \t\n", "\x00", "日本"]
    escaped = [escape(t) for t in texts]
    assert len(set(escaped)) == len(texts)
    assert [unescape(e) for e in escaped] == texts
    assert not any(ch in e for e in escaped for ch in "{}:*?[]")
    with pytest.raises(InvalidInputError, match="key_prefix"):
        Layout("app{1}")


def test_scripts_are_loaded_again_after_a_flush(redis_cluster_url: str, prefix: str) -> None:
    with RedisSaver.from_conn_string(redis_cluster_url, key_prefix=prefix) as saver:
        config: Any = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
        stored = saver.put(config, _checkpoint(0, {}, {}), {}, {})
        admin(redis_cluster_url).client.script_flush()
        saver.put_writes(stored, [("x", 1)], "task")
        found = saver.get_tuple(stored)
        assert found is not None and found.pending_writes == [("task", "x", 1)]
    with RedisCache.from_conn_string(redis_cluster_url, key_prefix=prefix) as cache:
        cache.set({(("n",), "k"): (1, None)})
        admin(redis_cluster_url).client.script_flush()
        cache.set({(("n",), "k2"): (2, None), (("m",), "k"): (3, None)})
        assert cache.get([(("n",), "k2"), (("m",), "k")]) == {(("n",), "k2"): 2, (("m",), "k"): 3}


def test_given_clients_are_used_and_left_open(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        with RedisSaver(redis_client=client, key_prefix=prefix) as saver:
            saver.put({"configurable": {"thread_id": "t"}}, _checkpoint(0, {}, {}), {}, {})
        cache: RedisCache[Any] = RedisCache(client, key_prefix=prefix)
        with cache:
            cache.set({(("a",), "b"): (1, None)})
        assert client.ping()
        assert RedisSaver(client, key_prefix=prefix).get_tuple({"configurable": {"thread_id": "t"}})
    finally:
        client.close()


async def test_async_clients_are_used_and_left_open(redis_url: str, prefix: str) -> None:
    client = aredis.Redis.from_url(redis_url)
    try:
        async with AsyncRedisSaver(redis_client=client, key_prefix=prefix) as saver:
            await saver.aput({"configurable": {"thread_id": "t"}}, _checkpoint(0, {}, {}), {}, {})
        cache: RedisCache[Any] = RedisCache(client, key_prefix=prefix)
        await cache.aset({(("a",), "b"): (1, None)})
        # Sync calls on an asyncio client run on its loop from another thread.
        assert await asyncio.to_thread(cache.get, [(("a",), "b")]) == {(("a",), "b"): 1}
        await cache.aclose()
        assert await client.ping()
    finally:
        await client.aclose()


def test_wrong_clients_are_refused_with_a_reason(redis_url: str) -> None:
    decoding = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        with pytest.raises(InvalidInputError, match="decode_responses"):
            RedisSaver(redis_client=decoding)
        with pytest.raises(InvalidInputError, match="decode_responses"):
            RedisCache(decoding)
    finally:
        decoding.close()
    with pytest.raises(InvalidInputError, match="Async"):
        RedisSaver(redis_client=aredis.Redis.from_url(redis_url))  # type: ignore[arg-type]


def test_server_errors_are_raised_not_swallowed(redis_url: str, prefix: str) -> None:
    with pytest.raises(redis.ConnectionError):
        RedisCache("redis://127.0.0.1:1/0")
    with RedisCache.from_conn_string(redis_url, key_prefix=prefix) as cache:
        # Something else wrote a list where the namespace index lives: the server's error
        # reaches the caller.
        admin(redis_url).client.rpush(Layout(prefix).cache('["n"]').index, "x")
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            cache.set({(("n",), "k"): (1, None)})


def test_no_keys_command_is_ever_used(redis_url: str, prefix: str) -> None:
    client = admin(redis_url).client

    def keys_calls() -> int:
        return int(client.info("commandstats").get("cmdstat_keys", {}).get("calls", 0))

    before = keys_calls()
    with RedisCache.from_conn_string(redis_url, key_prefix=prefix) as cache:
        cache.set({(("a",), str(i)): (i, 60) for i in range(50)})
        cache.clear([("a",)])
        cache.set({(("b",), "x"): (1, None)})
        cache.clear()
        cache.sweep_ttl()
        assert cache.get([(("a",), "1"), (("b",), "x")]) == {}
    with RedisSaver.from_conn_string(redis_url, key_prefix=prefix) as saver:
        saver.put({"configurable": {"thread_id": "t"}}, _checkpoint(0, {}, {}), {}, {})
        list(saver.list(None))
        saver.delete_for_runs(["r"])
        saver.prune(["t"])
        saver.sweep_ttl()
        saver.delete_thread("t")
    assert keys_calls() == before


def test_thread_ttl_covers_every_key_and_reads_refresh_them_all(
    redis_url: str, prefix: str
) -> None:
    with RedisSaver.from_conn_string(redis_url, key_prefix=prefix, ttl={"default_ttl": 1}) as saver:
        steps = Steps(saver, "t")
        steps.config = saver.put(*steps.next({"a": 1}))
        saver.put_writes(steps.config, [("a", 2)], "task")
        sub: Any = {"configurable": {"thread_id": "t", "checkpoint_ns": "child"}}
        saver.put(sub, _checkpoint(0, {}, {}), {}, {})
        client = admin(redis_url).client
        keys = [k for k in keys_under(redis_url, prefix) if b":threads" not in k]
        assert len(keys) >= 10
        assert all(0 < client.pttl(k) <= 60_000 for k in keys)
        for k in keys:
            client.pexpire(k, 5_000)
        assert saver.get_tuple({"configurable": {"thread_id": "t", "checkpoint_ns": "child"}})
        assert all(client.pttl(k) > 50_000 for k in keys)


@pytest.mark.parametrize("server", ["redis", "redis-cluster"])
def test_delta_history_is_one_script_and_matches_the_generic_walk(
    request: pytest.FixtureRequest, prefix: str, server: str
) -> None:
    url = request.getfixturevalue(server.replace("-", "_") + "_url")
    with RedisSaver.from_conn_string(url, key_prefix=prefix) as saver:
        steps = Steps(saver, "delta")
        configs = []
        for n in range(12):
            changes: dict[str, Any] = {"other": n}
            if n in (0, 7):
                changes["d"] = [f"seed-{n}"]
            if n == 4:
                changes["e"] = "set"
            config, cp, meta, new = steps.next(changes)
            if n == 9:
                cp["channel_values"].pop("e")  # a cleared channel has a version, no value
            steps.config = saver.put(config, cp, meta, new)
            saver.put_writes(steps.config, [("d", f"w{n}"), ("e", n), ("other", -n)], f"t{n}")
            saver.put_writes(steps.config, [("d", f"x{n}")], f"a{n}")
            configs.append(steps.config)
        sent = _round_trips(saver)
        generic = BaseCheckpointSaver.get_delta_channel_history
        for config in [*configs, {"configurable": {"thread_id": "delta"}}]:
            for channels in (["d"], ["d", "e", "missing"], ["e", "e"]):
                sent.clear()
                ours = saver.get_delta_channel_history(config=config, channels=channels)
                assert sent == ["Call"]
                assert ours == generic(saver, config=config, channels=channels)
        gone: Any = {"configurable": {"thread_id": "delta", "checkpoint_id": "nope"}}
        assert saver.get_delta_channel_history(config=gone, channels=["d"]) == {"d": {"writes": []}}


def test_long_lists_come_in_pages_of_one_round_trip(redis_url: str, prefix: str) -> None:
    """A list without limit fetches 100 checkpoints per script call, only as the caller
    iterates; across threads, copied checkpoints (equal ids) are never lost at a page end."""
    with RedisSaver.from_conn_string(redis_url, key_prefix=prefix) as saver:
        steps = Steps(saver, "a")
        made = []
        for n in range(230):
            steps.config = saver.put(*steps.next({"n": n}))
            made.append(steps.config["configurable"]["checkpoint_id"])
        sent = _round_trips(saver)
        history = saver.list({"configurable": {"thread_id": "a"}})
        first = next(history)
        assert first.checkpoint["channel_values"] == {"n": 229} and sent == ["Call"]
        rest = list(history)
        assert [t.config["configurable"]["checkpoint_id"] for t in [first, *rest]] == made[::-1]
        assert sent == ["Call", "Call", "Call"]
        sent.clear()
        assert len(list(saver.list({"configurable": {"thread_id": "a"}}, limit=150))) == 150
        assert sent == ["Call", "Call"]
        saver.copy_thread("a", "b")
        everything = list(saver.list(None))
        ids = [t.config["configurable"]["checkpoint_id"] for t in everything]
        assert ids == [cid for cid in made[::-1] for _ in range(2)]
        assert [t.config["configurable"]["thread_id"] for t in everything[:4]] == [
            "a",
            "b",
            "a",
            "b",
        ]
        assert len(list(saver.list(None, limit=201))) == 201


def test_a_cache_from_a_url_serves_one_event_loop_after_another(
    redis_url: str, prefix: str
) -> None:
    """Scripts that call asyncio.run twice keep working: each loop gets its own client."""
    cache: RedisCache[Any] = RedisCache(redis_url, key_prefix=prefix)

    async def roundtrip(value: int) -> Any:
        await cache.aset({(("n",), "k"): (value, None)})
        return await cache.aget([(("n",), "k")])

    assert asyncio.run(roundtrip(1)) == {(("n",), "k"): 1}
    assert asyncio.run(roundtrip(2)) == {(("n",), "k"): 2}
    asyncio.run(cache.aclose())


def test_cache_takes_langgraphs_argument_names(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        cache: RedisCache[Any] = RedisCache(redis=client, prefix=f"{prefix}:")
        cache.set({(("node",), "k"): ({"v": 1}, None)})
        assert cache.get([(("node",), "k")]) == {(("node",), "k"): {"v": 1}}
        assert keys_under(redis_url, prefix), "the keys live under the given prefix"
        assert client.ping(), "a given client is left open"
        with pytest.raises(ValueError, match="not both"):
            RedisCache(redis=client, prefix="a", key_prefix="b")
        with pytest.raises(ValueError, match="one of"):
            RedisCache(redis_url, redis=client)
    finally:
        client.close()
