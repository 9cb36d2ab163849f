"""Store contract, basics: batch semantics, get/put/delete, value round trips, timestamps."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from langgraph.store.base import GetOp, Item, ListNamespacesOp, PutOp, SearchOp

from durastate.conformance._modes import BothModes
from durastate.conformance.harness import Api, Opener, opened
from durastate.conformance.store_support import NS, keys

ODD_VALUE: dict[str, Any] = {
    "text": "héllo wörld — 你好 — \U0001f600 — e\u0301 — \u200b",
    "empty": "",
    "quote": 'a "quoted" \\ back\nslash\ttab',
    "int": 42,
    "negative": -7,
    "big": 9007199254740993,
    "float": 1.5,
    "whole_float": 2.0,
    "tiny": 1e-300,
    "true": True,
    "false": False,
    "none": None,
    "list": [1, "two", 3.0, None, [False, {"deep": ["x"]}]],
    "empty_list": [],
    "empty_dict": {},
    "nested": {"a": {"b": {"c": {"d": [1, 2, {"e": "f"}]}}}},
    "ключ": {"😀": "emoji key"},
    "escape_lookalike": "C:\\u0000\\n \\\\u0000",  # backslashes, not NUL characters
}


def _typed(value: Any) -> Any:
    """A value with the Python type of every leaf attached (so 1 never passes for 1.0)."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


class StoreBasicsContract(BothModes):
    """Batches, single-item operations, round trips, reopening and timestamps."""

    async def test_batch_answers_every_op_in_order(self, api: Api, store_opener: Opener) -> None:
        """Puts answer None; gets an Item or None; searches and listings a list."""
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            await s.put(NS, "a", {"v": 1})
            results = await s.batch(
                [
                    GetOp(NS, "a"),
                    PutOp(NS, "b", {"v": 2}),
                    GetOp(NS, "missing"),
                    SearchOp(NS),
                    ListNamespacesOp(),
                    GetOp(NS, "a"),
                ]
            )
            assert len(results) == 6
            assert isinstance(results[0], Item) and results[0].value == {"v": 1}
            assert results[1] is None
            assert results[2] is None
            assert keys(results[3]) == ["a"]
            assert results[4] == [NS]
            assert isinstance(results[5], Item) and results[5].key == "a"
            assert await s.batch([]) == []

    async def test_reads_in_a_batch_see_the_store_before_its_writes(
        self, api: Api, store_opener: Opener
    ) -> None:
        """A batch's reads all see the store as it was before the batch, whatever their place.

        LangGraph's own stores do the same; every durastate engine agrees, so a batch is
        one snapshot read plus one write, not an order-dependent mix.
        """
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            await s.put(NS, "k", {"v": "old"})
            got_before, _, got_after, found = await s.batch(
                [
                    GetOp(NS, "k"),
                    PutOp(NS, "k", {"v": "new"}),
                    GetOp(NS, "k"),
                    SearchOp(NS, filter={"v": "new"}),
                ]
            )
            assert got_before.value == {"v": "old"}
            assert got_after.value == {"v": "old"}
            assert found == []
            assert (await s.get(NS, "k")).value == {"v": "new"}

    async def test_last_put_to_a_key_in_a_batch_wins(self, api: Api, store_opener: Opener) -> None:
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            await s.put(NS, "deleted_then_put", {"v": 0})
            await s.batch(
                [
                    PutOp(NS, "twice", {"v": 1}),
                    PutOp(NS, "other", {"v": "x"}),
                    PutOp(NS, "twice", {"v": 2}),
                    PutOp(NS, "put_then_deleted", {"v": 1}),
                    PutOp(NS, "put_then_deleted", None),
                    PutOp(NS, "deleted_then_put", None),
                    PutOp(NS, "deleted_then_put", {"v": 3}),
                ]
            )
            assert (await s.get(NS, "twice")).value == {"v": 2}
            assert (await s.get(NS, "other")).value == {"v": "x"}
            assert await s.get(NS, "put_then_deleted") is None
            assert (await s.get(NS, "deleted_then_put")).value == {"v": 3}
            assert sorted(keys(await s.search(NS))) == ["deleted_then_put", "other", "twice"]

    async def test_get_put_delete(self, api: Api, store_opener: Opener) -> None:
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            assert await s.get(NS, "k") is None
            assert await s.put(NS, "k", {"v": 1}) is None
            item = await s.get(NS, "k")
            assert isinstance(item, Item)
            assert (item.namespace, item.key, item.value) == (NS, "k", {"v": 1})
            assert isinstance(item.created_at, datetime) and item.created_at.tzinfo is not None
            assert await s.get((*NS, "child"), "k") is None
            assert await s.get(NS[:1], "k") is None
            await s.put(NS, "k", {"v": 2, "extra": True})
            assert (await s.get(NS, "k")).value == {"v": 2, "extra": True}
            assert await s.delete(NS, "k") is None
            assert await s.get(NS, "k") is None
            await s.delete(NS, "k")  # deleting a missing item is not an error
            await s.batch([PutOp(NS, "gone", {"v": 1})])
            await s.batch([PutOp(NS, "gone", None)])
            assert await s.get(NS, "gone") is None

    async def test_values_round_trip_exactly(self, api: Api, store_opener: Opener) -> None:
        """Nested JSON, unicode (in values, keys and labels), big ints, floats stay floats."""
        namespace = ("ünïcode", "名前", "\U0001f600")
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            await s.put(namespace, "ключ/with space:😀", ODD_VALUE)
            item = await s.get(namespace, "ключ/with space:😀")
            assert item.namespace == namespace
            assert item.key == "ключ/with space:😀"
            assert _typed(item.value) == _typed(ODD_VALUE)
            (found,) = await s.search(namespace[:1])
            assert _typed(found.value) == _typed(ODD_VALUE)
            assert await s.list_namespaces() == [namespace]

    async def test_results_are_the_callers_own_copies(self, api: Api, store_opener: Opener) -> None:
        """Mutating a value after put, or a returned value, never changes what is stored."""
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            value: dict[str, Any] = {"list": [1], "inner": {"a": 1}}
            await s.put(NS, "k", value)
            value["list"].append(2)
            value["inner"]["a"] = 99
            got = await s.get(NS, "k")
            got.value["list"].append(3)
            (found,) = await s.search(NS)
            found.value["inner"]["a"] = -1
            assert (await s.get(NS, "k")).value == {"list": [1], "inner": {"a": 1}}

    async def test_data_survives_reopening(self, api: Api, store_opener: Opener) -> None:
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            await s.put(NS, "a", ODD_VALUE)
            await s.put(("other",), "b", {"v": 1})
            await s.put(NS, "gone", {"v": 1})
            await s.delete(NS, "gone")
            first = await s.get(NS, "a")
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            again = await s.get(NS, "a")
            assert _typed(again.value) == _typed(ODD_VALUE)
            assert (again.created_at, again.updated_at) == (first.created_at, first.updated_at)
            assert (await s.get(("other",), "b")).value == {"v": 1}
            assert await s.get(NS, "gone") is None
            assert await s.list_namespaces() == sorted([NS, ("other",)])
            assert keys(await s.search(NS)) == ["a"]

    async def test_large_batches_and_pages_are_not_capped(
        self, api: Api, store_opener: Opener
    ) -> None:
        """Thousands of ops in one batch, and a search or listing asking for thousands,
        answer everything (no silent caps, no bound-parameter limits)."""
        count = 2500
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            await s.batch([PutOp((*NS, f"n{i % 700}"), f"k{i}", {"i": i}) for i in range(count)])
            got = await s.batch([GetOp((*NS, f"n{i % 700}"), f"k{i}") for i in range(count)])
            assert [item.value["i"] for item in got] == list(range(count))
            assert len(await s.search(NS, limit=count + 10)) == count
            assert len(await s.list_namespaces(limit=1000)) == 700
            await s.batch([PutOp((*NS, f"n{i % 700}"), f"k{i}", None) for i in range(count)])
            assert await s.search(NS) == []

    async def test_update_keeps_created_at_and_bumps_updated_at(
        self, api: Api, store_opener: Opener
    ) -> None:
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            await s.put(NS, "k", {"v": 1})
            first = await s.get(NS, "k")
            assert first.created_at == first.updated_at
            await asyncio.sleep(0.01)
            await s.put(NS, "k", {"v": 2})
            second = await s.get(NS, "k")
            assert second.created_at == first.created_at
            assert second.updated_at > first.updated_at
            (found,) = await s.search(NS)
            assert (found.created_at, found.updated_at) == (second.created_at, second.updated_at)
            await asyncio.sleep(0.01)
            await s.delete(NS, "k")
            await s.put(NS, "k", {"v": 3})
            reborn = await s.get(NS, "k")
            assert reborn.created_at > second.updated_at
