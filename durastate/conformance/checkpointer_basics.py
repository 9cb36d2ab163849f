"""Checkpointer contract: put and get_tuple, value and metadata round trips, reopening."""

from __future__ import annotations

import copy
import datetime
import uuid
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import (  # type: ignore[attr-defined]
    ERROR,
    empty_checkpoint,
)

from durastate.conformance._modes import BothModes
from durastate.conformance.checkpointer_support import (
    Chain,
    Point,
    Secret,
    cid,
    ids,
    thread_config,
)
from durastate.conformance.harness import Api, Opener, opened
from durastate.errors import DeserializationError
from durastate.serde import DurastateSerializer

VALUES: dict[str, Any] = {
    "text": "héllo \U0001f30d",
    "int": 2**40,
    "float": 0.25,
    "flag": False,
    "nothing": None,
    "items": [1, "two", {"three": [3.0]}],
    "mapping": {"nested": {"deep": [True, None]}},
    "raw": b"\x00\x01\xff",
    "when": datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.timezone.utc),
    "uid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "tags": {"a", "b"},
    "point": Point(1, 2),
    "messages": [HumanMessage(content="hi", id="h1"), AIMessage(content="hello", id="a1")],
}


class CheckpointerBasics(BothModes):
    """put / get_tuple on the public BaseCheckpointSaver API."""

    async def test_put_answers_the_stored_config(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            chain = Chain(api.bind(saver), "t1", "")
            stored = await chain.put({"a": 1})
        conf = stored["configurable"]
        assert conf["thread_id"] == "t1"
        assert conf["checkpoint_ns"] == ""
        assert conf["checkpoint_id"]

    async def test_get_tuple_latest_and_by_id(self, api: Api, checkpointer_opener: Opener) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            chain = Chain(s, "t1")
            first, second, third = [await chain.put({"n": i}) for i in range(3)]
            latest = await s.get_tuple(thread_config("t1"))
            assert cid(latest) == cid(third)
            assert latest.checkpoint["channel_values"] == {"n": 2}
            old = await s.get_tuple(thread_config("t1", checkpoint_id=cid(first)))
            assert cid(old) == cid(first)
            assert old.checkpoint["channel_values"] == {"n": 0}
            assert old.checkpoint["id"] == cid(first)
            mid = await s.get_tuple(second)
            assert mid.checkpoint["channel_values"] == {"n": 1}

    async def test_get_tuple_of_unknown_thread_or_id_is_none(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            stored = await Chain(s, "t1").put({"n": 1})
            assert await s.get_tuple(thread_config("nobody")) is None
            assert await s.get_tuple(thread_config("t1", "other-ns")) is None
            elsewhere = thread_config("t1", "other-ns", checkpoint_id=cid(stored))
            assert await s.get_tuple(elsewhere) is None
            assert await s.get_tuple(thread_config("t2", checkpoint_id=cid(stored))) is None
            missing = thread_config("t1", checkpoint_id=str(uuid.uuid4()))
            assert await s.get_tuple(missing) is None
            assert await s.get_tuple(thread_config("t1", checkpoint_id=cid(stored))) is not None

    async def test_parent_config_links_each_checkpoint_to_the_previous(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            chain = Chain(s, "t1", "child:1")
            first, second = await chain.many(2)
            root = await s.get_tuple(first)
            assert root.parent_config is None
            tup = await s.get_tuple(second)
            assert tup.parent_config is not None
            assert tup.parent_config["configurable"] == {
                "thread_id": "t1",
                "checkpoint_ns": "child:1",
                "checkpoint_id": cid(first),
            }

    async def test_metadata_round_trips(self, api: Api, checkpointer_opener: Opener) -> None:
        metadata = {
            "source": "update",
            "step": 7,
            "parents": {"": "abc"},
            "run_id": "run-1",
            "score": 0.5,
            "ok": True,
            "none": None,
            "tags": ["x", "y"],
            "nested": {"a": {"b": [1, 2]}},
            "unicode": "日本語",
        }
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            stored = await Chain(s, "t1").put({"n": 1}, metadata)
            tup = await s.get_tuple(stored)
            listed = await s.list(thread_config("t1"))
        for meta in (tup.metadata, listed[0].metadata):
            assert {k: meta.get(k, "<missing>") for k in metadata} == metadata

    async def test_channel_values_of_many_types_round_trip(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            stored = await Chain(s, "t1").put(VALUES)
            tup = await s.get_tuple(stored)
            listed = await s.list(thread_config("t1"))
        for values in (tup.checkpoint["channel_values"], listed[0].checkpoint["channel_values"]):
            assert values == VALUES
            assert type(values["point"]) is Point
            assert type(values["messages"][1]) is AIMessage

    async def test_unchanged_channels_are_carried_forward(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """A channel written once stays readable in every later checkpoint that names it."""
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            chain = Chain(s, "t1")
            await chain.put({"big": "x" * 5000, "n": 0})
            for i in range(1, 4):
                await chain.put({"n": i})
            tup = await s.get_tuple(thread_config("t1"))
            assert tup.checkpoint["channel_values"] == {"big": "x" * 5000, "n": 3}
            assert tup.checkpoint["channel_versions"] == chain.versions
            history = await s.list(thread_config("t1"))
            assert [t.checkpoint["channel_values"]["n"] for t in history] == [3, 2, 1, 0]
            assert all(t.checkpoint["channel_values"]["big"] == "x" * 5000 for t in history)

    async def test_namespaces_are_separate_histories(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            root = Chain(s, "t1", "")
            child = Chain(s, "t1", "sub:1")
            await root.put({"who": "root"})
            await child.put({"who": "child"})
            await root.put({"who": "root again"})
            got_root = await s.get_tuple(thread_config("t1", ""))
            got_child = await s.get_tuple(thread_config("t1", "sub:1"))
            assert got_root.checkpoint["channel_values"] == {"who": "root again"}
            assert got_child.checkpoint["channel_values"] == {"who": "child"}
            assert got_child.config["configurable"]["checkpoint_ns"] == "sub:1"

    async def test_data_survives_closing_and_reopening(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            root = Chain(s, "t1")
            await root.put({"n": 0, "point": Point(3, 4)}, {"run_id": "r"})
            last = await root.put({"n": 1})
            await Chain(s, "t1", "sub:1").put({"n": "child"})
            await s.put_writes(last, [("n", 2), ("other", "w")], "task-1")
            before = await s.list(thread_config("t1", None))
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            tup = await s.get_tuple(thread_config("t1"))
            after = await s.list(thread_config("t1", None))
            assert cid(tup) == cid(last)
            assert tup.checkpoint["channel_values"] == {"n": 1, "point": Point(3, 4)}
            assert tup.pending_writes == [("task-1", "n", 2), ("task-1", "other", "w")]
            assert ids(after) == ids(before)
            assert [t.metadata for t in after] == [t.metadata for t in before]
            assert [t.checkpoint for t in after] == [t.checkpoint for t in before]
            # The reopened saver keeps writing to the same history.
            more = await Chain(s, "t2").put({"n": 9})
            assert (await s.get_tuple(more)).checkpoint["channel_values"] == {"n": 9}

    async def test_a_copy_with_an_allowlist_reads_and_writes(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """``copy.copy(saver.with_allowlist(...))`` shares the storage and uses the allowlist.

        LangGraph copies savers with ``copy.copy`` and narrows them with ``with_allowlist``
        for ``LANGGRAPH_STRICT_MSGPACK``; an allowlisted type is revived, another
        application type is not turned into its class.
        """
        async with opened(checkpointer_opener) as saver:
            strict = copy.copy(saver.with_allowlist([(Point.__module__, "Point")]))
            c = api.bind(strict)
            s = api.bind(saver)
            stored = await Chain(c, "t1").put({"point": Point(5, 6), "secret": Secret("s")})
            await c.put_writes(stored, [("point", Point(7, 8))], "task")
            tup = await c.get_tuple(thread_config("t1"))
            assert cid(tup) == cid(stored)
            assert tup.checkpoint["channel_values"]["point"] == Point(5, 6)
            assert not isinstance(tup.checkpoint["channel_values"]["secret"], Secret)
            assert tup.pending_writes == [("task", "point", Point(7, 8))]
            plain = await s.get_tuple(thread_config("t1"))
            assert plain.checkpoint["channel_values"]["secret"] == Secret("s")
            other = await Chain(s, "t2").put({"point": Point(0, 0)})
            assert (await c.get_tuple(other)).checkpoint["channel_values"] == {"point": Point(0, 0)}

    async def test_a_channel_cleared_in_a_checkpoint_is_absent(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """A new version without a value (LangGraph clearing a channel) reads as no value."""
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            chain = Chain(s, "t1")
            first = await chain.put({"keep": 1, "gone": "value"})
            del chain.values["gone"]
            chain.versions["gone"] = saver.get_next_version(chain.versions["gone"], None)
            checkpoint = empty_checkpoint()
            checkpoint["channel_values"] = dict(chain.values)
            checkpoint["channel_versions"] = dict(chain.versions)
            cleared = await s.put(chain.config, checkpoint, {}, {"gone": chain.versions["gone"]})
            chain.config = cleared
            later = await chain.put({"keep": 2})
            assert (await s.get_tuple(first)).checkpoint["channel_values"] == {
                "keep": 1,
                "gone": "value",
            }
            assert (await s.get_tuple(cleared)).checkpoint["channel_values"] == {"keep": 1}
            assert (await s.get_tuple(later)).checkpoint["channel_values"] == {"keep": 2}

    async def test_config_keys_are_recorded_in_metadata(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """As in LangGraph: scalar ``configurable`` and ``metadata`` keys of the config join
        the checkpoint's metadata (and can be filtered on); ids and ``__`` keys do not."""
        config: Any = {
            "configurable": {
                "thread_id": "t1",
                "checkpoint_ns": "",
                "user_id": "u1",
                "attempt": 2,
                "__secret": "x",
            },
            "metadata": {"tenant": "acme"},
        }
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            checkpoint = empty_checkpoint()
            stored = await s.put(config, checkpoint, {"source": "input", "step": -1}, {})
            meta = (await s.get_tuple(stored)).metadata
            assert meta["user_id"] == "u1"
            assert meta["attempt"] == 2
            assert meta["tenant"] == "acme"
            assert meta["source"] == "input"
            assert not {"thread_id", "checkpoint_ns", "checkpoint_id", "__secret"} & set(meta)
            found = await s.list(None, filter={"user_id": "u1", "tenant": "acme"})
            assert ids(found) == [cid(stored)]

    async def test_the_given_serializer_is_used_for_everything_stored(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """With ``serde=`` an encrypting serializer, values, writes and metadata are stored
        through it: the same serializer reads them back, another one fails loudly."""
        serde = DurastateSerializer(encryption_key=bytes(range(32)))
        async with opened(checkpointer_opener, serde=serde) as saver:
            s = api.bind(saver)
            chain = Chain(s, "t1")
            await chain.put({"small": 1, "big": "x" * 10_000, "point": Point(1, 2)})
            stored = await chain.put({"small": 2}, {"note": "secret"})
            await s.put_writes(stored, [("small", 3), (ERROR, "boom")], "task")
            expected = await s.get_tuple(stored)
        async with opened(checkpointer_opener, serde=serde) as saver:
            s = api.bind(saver)
            tup = await s.get_tuple(thread_config("t1"))
            assert tup == expected
            assert tup.checkpoint["channel_values"] == {
                "small": 2,
                "big": "x" * 10_000,
                "point": Point(1, 2),
            }
            assert tup.metadata["note"] == "secret"
            assert tup.pending_writes == [("task", ERROR, "boom"), ("task", "small", 3)]
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            with pytest.raises(DeserializationError):
                await s.get_tuple(thread_config("t1"))
            with pytest.raises(DeserializationError):
                await s.list(thread_config("t1"))
