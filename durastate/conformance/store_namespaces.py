"""Store contract, list_namespaces: prefix, suffix, wildcards, max_depth, paging, deletion."""

from __future__ import annotations

from langgraph.store.base import ListNamespacesOp, MatchCondition, PutOp

from durastate.conformance._modes import BothModes
from durastate.conformance.harness import Api, Bound, Opener, opened

NAMESPACES: list[tuple[str, ...]] = [
    ("a", "b", "c"),
    ("a", "b", "d"),
    ("a", "b", "c", "d"),
    ("a", "e"),
    ("a",),
    ("x", "b", "c"),
    ("x", "y"),
    ("ab", "b"),
    ("solo",),
    ("B", "z"),
    ("é",),
]


async def _seed(s: Bound) -> None:
    await s.batch([PutOp(ns, "k", {"ns": list(ns)}) for ns in NAMESPACES])


class StoreNamespacesContract(BothModes):
    """``list_namespaces`` answers namespaces holding live items, sorted by labels."""

    async def test_lists_every_namespace_sorted(self, api: Api, store_opener: Opener) -> None:
        """Sorted label by label (code point), a namespace before its children; no dups."""
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            assert await s.list_namespaces() == []
            await _seed(s)
            await s.put(("a", "b", "c"), "second", {})
            assert await s.list_namespaces() == sorted(NAMESPACES)
            assert (await s.list_namespaces())[:4] == [
                ("B", "z"),
                ("a",),
                ("a", "b", "c"),
                ("a", "b", "c", "d"),
            ]

    async def test_prefix(self, api: Api, store_opener: Opener) -> None:
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            await _seed(s)
            assert await s.list_namespaces(prefix=("a",)) == [
                ("a",),
                ("a", "b", "c"),
                ("a", "b", "c", "d"),
                ("a", "b", "d"),
                ("a", "e"),
            ]
            assert await s.list_namespaces(prefix=("a", "b")) == [
                ("a", "b", "c"),
                ("a", "b", "c", "d"),
                ("a", "b", "d"),
            ]
            assert await s.list_namespaces(prefix=("a", "b", "c", "d")) == [("a", "b", "c", "d")]
            assert await s.list_namespaces(prefix=("a", "b", "c", "d", "e")) == []
            assert await s.list_namespaces(prefix=("nope",)) == []

    async def test_suffix(self, api: Api, store_opener: Opener) -> None:
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            await _seed(s)
            assert await s.list_namespaces(suffix=("c",)) == [("a", "b", "c"), ("x", "b", "c")]
            assert await s.list_namespaces(suffix=("b", "c")) == [
                ("a", "b", "c"),
                ("x", "b", "c"),
            ]
            assert await s.list_namespaces(suffix=("a",)) == [("a",)]
            assert await s.list_namespaces(suffix=("b",)) == [("ab", "b")]
            assert await s.list_namespaces(prefix=("a",), suffix=("d",)) == [
                ("a", "b", "c", "d"),
                ("a", "b", "d"),
            ]

    async def test_wildcards_match_any_one_label(self, api: Api, store_opener: Opener) -> None:
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            await _seed(s)
            assert await s.list_namespaces(prefix=("*", "b")) == [
                ("a", "b", "c"),
                ("a", "b", "c", "d"),
                ("a", "b", "d"),
                ("ab", "b"),
                ("x", "b", "c"),
            ]
            assert await s.list_namespaces(prefix=("a", "*", "c")) == [
                ("a", "b", "c"),
                ("a", "b", "c", "d"),
            ]
            assert await s.list_namespaces(suffix=("*", "c")) == [
                ("a", "b", "c"),
                ("x", "b", "c"),
            ]
            assert await s.list_namespaces(suffix=("b", "*")) == [
                ("a", "b", "c"),
                ("a", "b", "d"),
                ("x", "b", "c"),
            ]
            assert await s.list_namespaces(prefix=("*",)) == sorted(NAMESPACES)
            assert await s.list_namespaces(prefix=("*", "*", "*", "*")) == [("a", "b", "c", "d")]
            assert await s.list_namespaces(prefix=("x", "*"), suffix=("*", "y")) == [("x", "y")]

    async def test_max_depth_truncates_and_dedupes(self, api: Api, store_opener: Opener) -> None:
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            await _seed(s)
            assert await s.list_namespaces(max_depth=1) == [
                ("B",),
                ("a",),
                ("ab",),
                ("solo",),
                ("x",),
                ("é",),
            ]
            assert await s.list_namespaces(prefix=("a",), max_depth=2) == [
                ("a",),
                ("a", "b"),
                ("a", "e"),
            ]
            assert await s.list_namespaces(prefix=("a", "b"), max_depth=3) == [
                ("a", "b", "c"),
                ("a", "b", "d"),
            ]
            assert await s.list_namespaces(suffix=("c",), max_depth=2) == [
                ("a", "b"),
                ("x", "b"),
            ]
            assert await s.list_namespaces(max_depth=10) == sorted(NAMESPACES)

    async def test_limit_and_offset(self, api: Api, store_opener: Opener) -> None:
        """Paging applies after truncation and deduplication."""
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            await _seed(s)
            everything = sorted(NAMESPACES)
            assert await s.list_namespaces(limit=3) == everything[:3]
            assert await s.list_namespaces(limit=3, offset=3) == everything[3:6]
            assert await s.list_namespaces(offset=9) == everything[9:]
            assert await s.list_namespaces(offset=len(everything)) == []
            assert await s.list_namespaces(max_depth=1, limit=2, offset=1) == [("a",), ("ab",)]

    async def test_in_a_batch(self, api: Api, store_opener: Opener) -> None:
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            await _seed(s)
            by_prefix, by_both = await s.batch(
                [
                    ListNamespacesOp(match_conditions=(MatchCondition("prefix", ("x",)),)),
                    ListNamespacesOp(
                        match_conditions=(
                            MatchCondition("prefix", ("a",)),
                            MatchCondition("suffix", ("c",)),
                        ),
                        max_depth=2,
                        limit=5,
                    ),
                ]
            )
            assert by_prefix == [("x", "b", "c"), ("x", "y")]
            assert by_both == [("a", "b")]

    async def test_deleted_items_namespaces_disappear(self, api: Api, store_opener: Opener) -> None:
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            await s.put(("keep",), "one", {})
            await s.put(("keep",), "two", {})
            await s.put(("drop", "child"), "only", {})
            await s.put(("drop",), "parent", {})
            await s.delete(("keep",), "one")
            await s.delete(("drop", "child"), "only")
            assert await s.list_namespaces() == [("drop",), ("keep",)]
            await s.delete(("drop",), "parent")
            assert await s.list_namespaces() == [("keep",)]
            assert await s.list_namespaces(prefix=("drop",)) == []
            assert await s.list_namespaces(max_depth=1) == [("keep",)]
