"""Store contract, search without a query: every filter operator, ordering, paging, prefixes."""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.store.base import PutOp

from durastate.conformance._modes import BothModes
from durastate.conformance.harness import Api, Bound, Opener, opened
from durastate.conformance.store_support import NS, keys, put_all
from durastate.store.filters import compile_filter, matches

# Items chosen so that type confusions (10 vs "10", 1 vs True, None vs missing, text vs
# number order) give a different answer than the decided semantics.
ITEMS: dict[str, dict[str, Any]] = {
    "int10": {"n": 10, "s": "b", "flag": True, "meta": {"lang": "en", "score": 0.5}},
    "int9": {"n": 9, "s": "a", "flag": False, "meta": {"lang": "fr", "score": 2}},
    "float9.5": {"n": 9.5, "s": "B", "meta": {"lang": "en", "score": 1, "deep": {"x": "y"}}},
    "float10": {"n": 10.0, "s": "é", "meta": {"lang": "de"}},
    "str10": {"n": "10", "s": "10", "flag": "true"},
    "str9": {"n": "9", "s": "9", "flag": 1},
    "int1": {"n": 1, "s": "", "meta": "flat"},
    "true": {"n": True, "flag": True},
    "null": {"n": None, "flag": None},
    "list": {"n": [1, 2], "s": ["a"]},
    "dict": {"n": {"x": 1}, "meta": {"lang": None}},
    "missing": {"other": 1, "meta": {}},
}
ALL = set(ITEMS)


def _but(*excluded: str) -> set[str]:
    return ALL - set(excluded)


EQUALITY: list[tuple[dict[str, Any], set[str]]] = [
    ({"n": 10}, {"int10", "float10"}),
    ({"n": 10.0}, {"int10", "float10"}),
    ({"n": {"$eq": 9.5}}, {"float9.5"}),
    ({"n": "10"}, {"str10"}),
    ({"n": 1}, {"int1"}),
    ({"n": True}, {"true"}),
    ({"flag": True}, {"int10", "true"}),
    ({"flag": False}, {"int9"}),
    ({"flag": 1}, {"str9"}),
    ({"n": None}, {"null"}),
    ({"n": [1, 2]}, {"list"}),
    ({"n": {"$eq": {"x": 1}}}, {"dict"}),
    ({"s": "B"}, {"float9.5"}),
    ({"s": ""}, {"int1"}),
    ({"n": 11}, set()),
    ({"n": {"$ne": 10}}, _but("int10", "float10")),
    ({"n": {"$ne": None}}, _but("null")),
    ({"flag": {"$ne": True}}, _but("int10", "true")),
    ({"n": {"$ne": "10"}}, _but("str10")),
]

RANGES: list[tuple[dict[str, Any], set[str]]] = [
    ({"n": {"$gt": 9}}, {"int10", "float9.5", "float10"}),
    ({"n": {"$gte": 9}}, {"int10", "int9", "float9.5", "float10"}),
    ({"n": {"$lt": 9.5}}, {"int9", "int1"}),
    ({"n": {"$lte": 9.5}}, {"int9", "float9.5", "int1"}),
    ({"n": {"$gt": 1, "$lt": 10}}, {"int9", "float9.5"}),
    ({"n": {"$gte": 10, "$lte": 10}}, {"int10", "float10"}),
    ({"n": {"$gt": 100}}, set()),
    ({"n": {"$gt": "1"}}, {"str10", "str9"}),
    ({"n": {"$lt": "9"}}, {"str10"}),
    ({"s": {"$gt": "B"}}, {"int10", "int9", "float10"}),
    ({"s": {"$gte": "a"}}, {"int10", "int9", "float10"}),
    ({"s": {"$lt": "a"}}, {"float9.5", "str10", "str9", "int1"}),
    ({"s": {"$gt": "z"}}, {"float10"}),
    ({"flag": {"$gte": 0}}, {"str9"}),
    ({"meta.score": {"$gte": 1}}, {"int9", "float9.5"}),
    ({"other": {"$lt": 2}}, {"missing"}),
]

MEMBERSHIP: list[tuple[dict[str, Any], set[str]]] = [
    ({"n": {"$in": [10, "x"]}}, {"int10", "float10"}),
    ({"n": {"$in": [1]}}, {"int1"}),
    ({"n": {"$in": [True, "9"]}}, {"true", "str9"}),
    ({"n": {"$in": [None]}}, {"null"}),
    ({"n": {"$in": []}}, set()),
    ({"s": {"$in": ["a", "B"]}}, {"int9", "float9.5"}),
    ({"n": {"$nin": [10, 9]}}, _but("int10", "int9", "float10")),
    ({"n": {"$nin": [1, "10"]}}, _but("int1", "str10")),
    ({"n": {"$nin": []}}, ALL),
    ({"flag": {"$nin": [True, None]}}, _but("int10", "true", "null")),
]

EXISTENCE: list[tuple[dict[str, Any], set[str]]] = [
    ({"n": {"$exists": True}}, _but("missing")),
    ({"n": {"$exists": False}}, {"missing"}),
    ({"flag": {"$exists": True}}, {"int10", "int9", "str10", "str9", "true", "null"}),
    ({"meta.lang": {"$exists": True}}, {"int10", "int9", "float9.5", "float10", "dict"}),
    ({"meta.lang": {"$exists": False}}, _but("int10", "int9", "float9.5", "float10", "dict")),
    (
        {"meta": {"$exists": True}},
        {"int10", "int9", "float9.5", "float10", "int1", "dict", "missing"},
    ),
]

PATHS: list[tuple[dict[str, Any], set[str]]] = [
    ({"meta.lang": "en"}, {"int10", "float9.5"}),
    ({"meta": {"lang": "en"}}, {"int10", "float9.5"}),
    ({"meta.deep.x": "y"}, {"float9.5"}),
    ({"meta": {"deep": {"x": "y"}}}, {"float9.5"}),
    ({"meta.lang": None}, {"dict"}),
    ({"meta.lang": {"$ne": "en"}}, _but("int10", "float9.5")),
    ({"meta.lang": {"$nin": ["en", "fr"]}}, _but("int10", "float9.5", "int9")),
    ({"meta.score": {"$lt": 1}}, {"int10"}),
    ({"meta.lang.x": {"$ne": 1}}, ALL),
    ({"n.x": 1}, {"dict"}),
    ({"meta.lang": "en", "n": {"$gt": 9.5}}, {"int10"}),
    ({"meta.lang": "en", "s": "a"}, set()),
]


async def _check_table(s: Bound, table: list[tuple[dict[str, Any], set[str]]]) -> None:
    """Every filter: the reference evaluator and the store both give the expected keys."""
    wrong: list[str] = []
    for filter, expected in table:
        conditions = compile_filter(filter)
        reference = {k for k, v in ITEMS.items() if matches(v, conditions)}
        assert reference == expected, f"the table disagrees with the reference for {filter}"
        got = set(keys(await s.search(NS, filter=filter, limit=100)))
        if got != expected:
            wrong.append(f"{filter}: got {sorted(got)}, expected {sorted(expected)}")
    assert not wrong, "filters answered wrongly:\n" + "\n".join(wrong)


class StoreSearchContract(BothModes):
    """Filters agree with ``durastate.store.filters.matches``; recency order; paging."""

    async def _seeded(self, api: Api, store_opener: Opener, table: Any) -> None:
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            await put_all(s, ITEMS)
            await s.put(NS[:1], "outside", {"n": 10, "s": "b"})
            await _check_table(s, table)

    async def test_filter_equality_and_ne(self, api: Api, store_opener: Opener) -> None:
        """Bare values mean $eq; numbers equal by value (10 == 10.0) but never a string or a
        boolean (1 != True); None equals only null, never a missing field; $ne matches
        missing fields."""
        await self._seeded(api, store_opener, EQUALITY)

    async def test_filter_ranges(self, api: Api, store_opener: Opener) -> None:
        """Numbers order as numbers (10 > 9.5 > 9), strings by code point ("a" > "B",
        "é" > "z"); a number never orders against a string, booleans never order, and a
        range on a missing field or a value of another type does not match."""
        await self._seeded(api, store_opener, RANGES)

    async def test_filter_in_and_nin(self, api: Api, store_opener: Opener) -> None:
        """$in is any-equal with the same typing as $eq; $nin also matches missing fields."""
        await self._seeded(api, store_opener, MEMBERSHIP)

    async def test_filter_exists(self, api: Api, store_opener: Opener) -> None:
        """$exists is about presence: a field holding null exists."""
        await self._seeded(api, store_opener, EXISTENCE)

    async def test_filter_dotted_paths(self, api: Api, store_opener: Opener) -> None:
        """Dotted keys and nested filter dicts reach into nested objects; several keys AND."""
        await self._seeded(api, store_opener, PATHS)

    async def test_order_is_newest_update_first(self, api: Api, store_opener: Opener) -> None:
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            for key in ("a", "b", "c", "d"):
                await s.put(NS, key, {"key": key})
                await asyncio.sleep(0.002)
            await s.put(NS, "b", {"key": "b", "updated": True})
            assert keys(await s.search(NS)) == ["b", "d", "c", "a"]
            assert keys(await s.search(NS, filter={"key": {"$ne": "d"}})) == ["b", "c", "a"]

    async def test_ties_order_by_namespace_then_key(self, api: Api, store_opener: Opener) -> None:
        """Items updated at the same instant come by namespace labels, then key."""
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            await s.batch(
                [
                    PutOp(("t", "b"), "k", {}),
                    PutOp(("t", "a"), "z", {}),
                    PutOp(("t", "a"), "y", {}),
                    PutOp(("t", "a", "a"), "x", {}),
                ]
            )
            found = await s.search(("t",))
            expected = sorted(
                found, key=lambda it: (-it.updated_at.timestamp(), it.namespace, it.key)
            )
            assert [(it.namespace, it.key) for it in found] == [
                (it.namespace, it.key) for it in expected
            ]

    async def test_limit_and_offset(self, api: Api, store_opener: Opener) -> None:
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            for i in range(7):
                await s.put(NS, f"k{i}", {"i": i})
                await asyncio.sleep(0.002)
            newest_first = [f"k{i}" for i in range(6, -1, -1)]
            assert keys(await s.search(NS)) == newest_first
            assert keys(await s.search(NS, limit=3)) == newest_first[:3]
            assert keys(await s.search(NS, limit=3, offset=3)) == newest_first[3:6]
            assert keys(await s.search(NS, limit=3, offset=6)) == newest_first[6:]
            assert await s.search(NS, offset=7) == []
            assert await s.search(NS, limit=0) == []
            assert keys(await s.search(NS, filter={"i": {"$gte": 2}}, limit=2, offset=1)) == [
                "k5",
                "k4",
            ]

    async def test_default_limit_is_ten(self, api: Api, store_opener: Opener) -> None:
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            await s.batch([PutOp(NS, f"k{i:02}", {"i": i}) for i in range(12)])
            assert len(await s.search(NS)) == 10
            assert len(await s.search(NS, limit=20)) == 12

    async def test_namespace_prefix(self, api: Api, store_opener: Opener) -> None:
        """A prefix matches whole labels: ("docs",) holds ("docs", "a") but not ("docsx",)."""
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            await s.put(("docs",), "root", {})
            await s.put(("docs", "a"), "child", {})
            await s.put(("docs", "a", "b"), "grandchild", {})
            await s.put(("docsx",), "lookalike", {})
            await s.put(("other", "docs"), "elsewhere", {})
            await s.put(("docs_",), "underscore", {})
            await s.put(("docs%",), "percent", {})
            assert set(keys(await s.search(("docs",)))) == {"root", "child", "grandchild"}
            assert set(keys(await s.search(("docs", "a")))) == {"child", "grandchild"}
            assert keys(await s.search(("docs", "a", "b"))) == ["grandchild"]
            assert keys(await s.search(("docs", "a", "b", "c"))) == []
            assert keys(await s.search(("doc",))) == []
            assert keys(await s.search(("docs_",))) == ["underscore"]
            assert keys(await s.search(("docs%",))) == ["percent"]
            assert len(await s.search((), limit=100)) == 7
            (item,) = await s.search(("docs", "a", "b"))
            assert item.namespace == ("docs", "a", "b")
            assert item.score is None
