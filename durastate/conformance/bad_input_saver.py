"""Bad input to checkpointers and caches: clear exceptions, what was stored stays intact."""

from __future__ import annotations

import math
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import Checkpoint, CheckpointTuple, empty_checkpoint

from durastate.conformance._modes import BothModes
from durastate.conformance.harness import Bound, Opener, opened
from durastate.errors import InvalidInputError, SerializationError

THREAD = "thread-1"


@contextmanager
def unserializable_values() -> Iterator[list[Any]]:
    """Values no serializer can store: a function, an open socket, a bare object."""
    sock = socket.socket()
    try:
        yield [lambda: 1, sock, object()]
    finally:
        sock.close()


def config(thread_id: str = THREAD, checkpoint_id: str | None = None) -> RunnableConfig:
    conf: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
    if checkpoint_id is not None:
        conf["checkpoint_id"] = checkpoint_id
    return {"configurable": conf}


class Thread:
    """Puts checkpoints into one thread as LangGraph does (parents, bumped versions)."""

    def __init__(self, saver: Bound) -> None:
        self.saver = saver
        self.config = config()
        self.values: dict[str, Any] = {}
        self.versions: dict[str, Any] = {}

    def next(self, values: Mapping[str, Any]) -> tuple[Checkpoint, dict[str, Any]]:
        """The next checkpoint with ``values`` changed, and its new versions (not stored)."""
        checkpoint = empty_checkpoint()
        new_versions = {
            ch: self.saver.backend.get_next_version(self.versions.get(ch), None) for ch in values
        }
        checkpoint["channel_values"] = {**self.values, **values}
        checkpoint["channel_versions"] = {**self.versions, **new_versions}
        return checkpoint, new_versions

    async def put(
        self, values: Mapping[str, Any], metadata: Mapping[str, Any] | None = None
    ) -> RunnableConfig:
        checkpoint, new_versions = self.next(values)
        meta = dict(metadata) if metadata is not None else {"source": "loop", "step": 1}
        self.config = await self.saver.put(self.config, checkpoint, meta, new_versions)
        self.values = dict(checkpoint["channel_values"])
        self.versions = dict(checkpoint["channel_versions"])
        return self.config


def summary(t: CheckpointTuple | None) -> tuple[Any, ...]:
    """What a reader sees of a checkpoint: id, values, metadata, pending writes."""
    assert t is not None
    return (
        t.config["configurable"]["checkpoint_id"],
        t.checkpoint["channel_values"],
        t.metadata,
        t.pending_writes,
    )


async def history(s: Bound) -> list[tuple[Any, ...]]:
    return [summary(t) for t in await s.list(config())]


class CheckpointerBadInput(BothModes):
    """Needs fixtures: checkpointer_opener."""

    async def test_unserializable_channel_value_names_its_path(
        self, api: Any, checkpointer_opener: Opener
    ) -> None:
        """The error names the channel and the path inside it; the thread's previous
        checkpoint stays the latest and nothing of the failed one is stored."""
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            thread = Thread(s)
            await thread.put({"messages": ["hi"], "count": 1})
            before = await history(s)
            with unserializable_values() as bad_values:
                for bad in bad_values:
                    checkpoint, versions = thread.next(
                        {"messages": ["hi", {"artifact": bad}], "count": 2}
                    )
                    with pytest.raises(SerializationError) as exc:
                        await s.put(thread.config, checkpoint, {"step": 2}, versions)
                    message = str(exc.value)
                    assert "'messages'" in message and "'artifact'" in message, message
                    assert type(bad).__name__ in message, message
                    failed = config(checkpoint_id=checkpoint["id"])
                    assert await s.get_tuple(failed) is None
            assert summary(await s.get_tuple(config())) == before[0]
            assert await history(s) == before

    async def test_unserializable_metadata_is_rejected(
        self, api: Any, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            thread = Thread(s)
            await thread.put({"a": 1})
            before = await history(s)
            checkpoint, versions = thread.next({"a": 2})
            with pytest.raises(SerializationError, match="metadata") as exc:
                await s.put(thread.config, checkpoint, {"step": 2, "hook": lambda: 0}, versions)
            assert "'hook'" in str(exc.value)
            assert await history(s) == before

    async def test_unserializable_write_is_rejected_whole(
        self, api: Any, checkpointer_opener: Opener
    ) -> None:
        """``put_writes`` names the channel and task; none of that call's writes are
        stored (not even the good ones before the bad one) and earlier writes stay."""
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            thread = Thread(s)
            cfg = await thread.put({"a": 1})
            await s.put_writes(cfg, [("a", 10), ("b", "x")], "task-ok")
            before = await history(s)
            with unserializable_values() as bad_values:
                for bad in bad_values:
                    with pytest.raises(SerializationError) as exc:
                        await s.put_writes(cfg, [("a", 2), ("bad", {"k": bad})], "task-bad")
                    message = str(exc.value)
                    assert "'bad'" in message and "task-bad" in message, message
            assert await history(s) == before
            assert [w[0] for w in before[0][3]] == ["task-ok", "task-ok"]

    async def test_malformed_writes_are_rejected(
        self, api: Any, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            thread = Thread(s)
            cfg = await thread.put({"a": 1})
            before = await history(s)
            cases: list[tuple[Any, Any, str]] = [
                ([("a",)], "t", "#0"),
                ([("a", 1), ("b", 2, 3)], "t", "#1"),
                ([(7, "x")], "t", "channel"),
                ([("a", 1)], 42, "task_id"),
            ]
            for writes, task_id, fragment in cases:
                with pytest.raises(InvalidInputError) as exc:
                    await s.put_writes(cfg, writes, task_id)
                assert fragment in str(exc.value), str(exc.value)
            assert await history(s) == before

    async def test_config_without_thread_id_is_rejected(
        self, api: Any, checkpointer_opener: Opener
    ) -> None:
        """``put``, ``put_writes`` and ``get_tuple`` say which config key is missing."""
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            thread = Thread(s)
            cfg = await thread.put({"a": 1})
            before = await history(s)
            cid = cfg["configurable"]["checkpoint_id"]
            bad_configs: list[Any] = [
                {},
                {"configurable": {}},
                {"configurable": {"checkpoint_ns": ""}},
                {"configurable": {"thread_id": None, "checkpoint_id": cid}},
            ]
            for bad in bad_configs:
                checkpoint, versions = thread.next({"a": 2})
                calls: list[tuple[Any, tuple[Any, ...]]] = [
                    (s.put, (bad, checkpoint, {}, versions)),
                    (s.put_writes, (bad, [("a", 1)], "task")),
                    (s.get_tuple, (bad,)),
                ]
                for method, args in calls:
                    with pytest.raises(InvalidInputError, match="thread_id"):
                        await method(*args)
            assert await history(s) == before

    async def test_bad_thread_ids_and_namespaces_are_rejected(
        self, api: Any, checkpointer_opener: Opener
    ) -> None:
        """NUL in ``thread_id`` or ``checkpoint_ns`` (no engine stores it identically) and
        ids that are not text (ints and UUIDs are text enough) are refused by name."""
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            thread = Thread(s)
            await thread.put({"a": 1})
            before = await history(s)
            cases: list[tuple[dict[str, Any], str]] = [
                ({"thread_id": "t\x00"}, "thread_id"),
                ({"thread_id": THREAD, "checkpoint_ns": "sub\x00"}, "checkpoint_ns"),
                ({"thread_id": 1.5}, "thread_id"),
                ({"thread_id": [THREAD]}, "thread_id"),
                ({"thread_id": THREAD, "checkpoint_ns": 3.0}, "checkpoint_ns"),
            ]
            for conf, name in cases:
                checkpoint, versions = thread.next({"a": 2})
                bad = {"configurable": {"checkpoint_ns": "", **conf}}
                for method, args in [
                    (s.put, (bad, checkpoint, {}, versions)),
                    (s.get_tuple, (bad,)),
                ]:
                    with pytest.raises(InvalidInputError, match=name):
                        await method(*args)
            assert await history(s) == before

    async def test_nul_and_nan_in_channel_values_round_trip(
        self, api: Any, checkpointer_opener: Opener
    ) -> None:
        """Channel values are not JSON: NUL characters and NaN are stored exactly."""
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            thread = Thread(s)
            cfg = await thread.put({"text": "a\x00b", "nums": [math.nan, math.inf, -0.0]})
            await s.put_writes(cfg, [("text", {"k\x00": "v\x00"})], "task")
            got = await s.get_tuple(config())
            assert got is not None
            values = got.checkpoint["channel_values"]
            assert values["text"] == "a\x00b"
            nan, inf, zero = values["nums"]
            assert math.isnan(nan) and inf == math.inf and math.copysign(1, zero) == -1
            assert got.pending_writes == [("task", "text", {"k\x00": "v\x00"})]

    async def test_put_writes_needs_a_checkpoint_id(
        self, api: Any, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            thread = Thread(s)
            await thread.put({"a": 1})
            before = await history(s)
            with pytest.raises(InvalidInputError, match="checkpoint_id"):
                await s.put_writes(config(), [("a", 1)], "task")
            assert await history(s) == before

    async def test_large_channel_values_round_trip_exactly(
        self, api: Any, checkpointer_opener: Opener
    ) -> None:
        """A 5 MB text channel and a 1 MB pending write come back byte for byte, also
        after the next checkpoint carries the unchanged channel forward and a reopen."""
        big_text = ("ünïcødé ✓ lorem ipsum " * 250_000)[:5_000_000]
        big_bytes = bytes(range(256)) * 4096
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            thread = Thread(s)
            cfg = await thread.put({"doc": big_text, "raw": big_bytes, "n": 0})
            await s.put_writes(cfg, [("doc", big_text[:1_000_000])], "task")
            got = await s.get_tuple(config())
            assert got is not None
            assert got.checkpoint["channel_values"]["doc"] == big_text
            assert got.checkpoint["channel_values"]["raw"] == big_bytes
            assert got.pending_writes == [("task", "doc", big_text[:1_000_000])]
            await thread.put({"n": 1})
        async with opened(checkpointer_opener) as saver:
            got = await api.bind(saver).get_tuple(config())
            assert got is not None
            assert got.checkpoint["channel_values"] == {"doc": big_text, "raw": big_bytes, "n": 1}


FK = tuple[tuple[str, ...], str]
KEPT: FK = (("node", "kept"), "key")


class CacheBadInput(BothModes):
    """Needs fixtures: cache_opener."""

    async def test_unserializable_cache_value_is_rejected(
        self, api: Any, cache_opener: Opener
    ) -> None:
        """The error names the entry; nothing of that ``set`` is written."""
        async with opened(cache_opener) as cache:
            c = api.bind(cache)
            await c.set({KEPT: ("old", None)})
            fresh: FK = (("node", "kept"), "fresh")
            with unserializable_values() as bad_values:
                for bad in bad_values:
                    with pytest.raises(SerializationError) as exc:
                        await c.set({fresh: ("new", None), KEPT: ({"v": [bad]}, None)})
                    assert str(KEPT) in str(exc.value), str(exc.value)
                    assert type(bad).__name__ in str(exc.value)
            assert await c.get([KEPT, fresh]) == {KEPT: "old"}

    async def test_bad_cache_namespaces_and_keys_are_rejected(
        self, api: Any, cache_opener: Opener
    ) -> None:
        """Namespaces are tuples of strings without NUL; keys are strings without NUL.

        ``set``, ``get`` and ``clear`` all refuse them with a message naming the culprit.
        """
        async with opened(cache_opener) as cache:
            c = api.bind(cache)
            await c.set({KEPT: ("old", None)})
            bad_namespaces: list[Any] = ["node", None, 5, ("node", 1), ("node", None), ("a\x00",)]
            for ns in bad_namespaces:
                ns_calls: list[tuple[Any, Any]] = [
                    (c.set, {(ns, "k"): (1, None)}),
                    (c.get, [(ns, "k")]),
                    (c.clear, [ns]),
                ]
                for method, arg in ns_calls:
                    with pytest.raises(InvalidInputError) as exc:
                        await method(arg)
                    assert repr(ns) in str(exc.value) or str(ns) in str(exc.value)
            bad_keys: list[Any] = [5, None, b"k", "k\x00"]
            for key in bad_keys:
                key_calls: list[tuple[Any, Any]] = [
                    (c.set, {(("node",), key): (1, None)}),
                    (c.get, [(("node",), key)]),
                ]
                for method, arg in key_calls:
                    with pytest.raises(InvalidInputError) as exc:
                        await method(arg)
                    assert "('node',)" in str(exc.value), str(exc.value)
            for full_key in ("just-a-string", ("a", "b", "c"), None):
                with pytest.raises(InvalidInputError, match="pair"):
                    await c.get([full_key])
            assert await c.get([KEPT]) == {KEPT: "old"}

    async def test_clear_takes_a_list_of_namespaces(self, api: Any, cache_opener: Opener) -> None:
        """``clear(("node", "kept"))`` (one namespace, not a list) would otherwise clear
        the namespaces ``("n","o","d","e")``... or nothing: it is refused instead."""
        async with opened(cache_opener) as cache:
            c = api.bind(cache)
            await c.set({KEPT: ("old", None)})
            for bad in (("node", "kept"), "node"):
                with pytest.raises(InvalidInputError):
                    await c.clear(bad)
            assert await c.get([KEPT]) == {KEPT: "old"}

    async def test_bad_cache_ttl_and_pairs_are_rejected(
        self, api: Any, cache_opener: Opener
    ) -> None:
        """TTL is positive seconds or None; each value is a ``(value, ttl)`` pair."""
        async with opened(cache_opener) as cache:
            c = api.bind(cache)
            await c.set({KEPT: ("old", None)})
            for ttl in (0, -1, math.nan, math.inf, "10", True):
                with pytest.raises(InvalidInputError, match="ttl") as exc:
                    await c.set({KEPT: ("new", ttl)})
                assert str(KEPT) in str(exc.value)
            for pair in ("new", ("new",), ("new", None, 1), None):
                with pytest.raises(InvalidInputError, match="pair"):
                    await c.set({KEPT: pair})
            assert await c.get([KEPT]) == {KEPT: "old"}
