"""Contract: node caches (LangGraph's ``BaseCache`` plus durastate's TTL sweeping)."""

from __future__ import annotations

import asyncio
import datetime
import uuid
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from durastate.conformance._modes import BothModes
from durastate.conformance.harness import Bound, Opener, opened, start_sweeper, stop_sweeper

FullKey = tuple[tuple[str, ...], str]

TTL = 1
"""Seconds: the shortest TTL LangGraph's ``int`` seconds can express."""
PAST_TTL = 1.1
"""Seconds to sleep so that an entry set with ``TTL`` has expired."""

VALUES: dict[str, Any] = {
    "text": "héllo wörld ☃",
    "empty-text": "",
    "int": 2**62,
    "negative": -7,
    "float": 1.25,
    "bool": True,
    "none": None,
    "list": [1, "two", [3.0, None]],
    "dict": {"a": {"b": [1, 2]}, "c": None},
    "bytes": b"\x00\xffraw",
    "set": {1, 2, 3},
    "datetime": datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.timezone.utc),
    "uuid": uuid.UUID(int=12345),
    "messages": [HumanMessage(content="hi", id="h1"), AIMessage(content="yo", id="a1")],
    "writes": [["answer", {"value": 42}], ["log", ["x"]]],
}
"""Values of the kinds LangGraph caches (node writes), each under its own key."""

AWKWARD = [
    "a:b",
    "a,b",
    "a*",
    "*",
    "a.b",
    "100%",
    "a[0]",
    "back\\slash",
    'dq"uote',
    "sq'uote",
    "ünï©ødé-日本",
    " spaced ",
    '["a","b"]',
]
"""Labels and keys that break naive key encodings (separators, globs, escapes, JSON)."""


def _ns_keys(namespace: tuple[str, ...], keys: list[str]) -> list[FullKey]:
    return [(namespace, k) for k in keys]


class CacheContract(BothModes):
    """Needs fixtures: cache_opener."""

    # -- get / set ----------------------------------------------------------------------
    async def test_values_of_every_kind_round_trip(self, api: Any, cache_opener: Opener) -> None:
        """Every value LangGraph may cache comes back equal, ``None`` included (a hit)."""
        async with opened(cache_opener) as cache:
            c = api.bind(cache)
            ns = ("node", "values")
            await c.set({(ns, k): (v, None) for k, v in VALUES.items()})
            got = await c.get(_ns_keys(ns, list(VALUES)))
            assert set(got) == {(ns, k) for k in VALUES}
            for k, v in VALUES.items():
                assert got[(ns, k)] == v, k
                assert type(got[(ns, k)]) is type(v), k

    async def test_missing_keys_are_absent(self, api: Any, cache_opener: Opener) -> None:
        async with opened(cache_opener) as cache:
            c = api.bind(cache)
            assert await c.get([(("n",), "nope")]) == {}
            assert await c.get([]) == {}
            await c.set({(("n",), "here"): (1, None)})
            got = await c.get([(("n",), "here"), (("n",), "nope"), (("other",), "here")])
            assert got == {(("n",), "here"): 1}

    async def test_same_key_in_different_namespaces_is_different(
        self, api: Any, cache_opener: Opener
    ) -> None:
        async with opened(cache_opener) as cache:
            c = api.bind(cache)
            keys: list[FullKey] = [(("a",), "k"), (("a", "b"), "k"), (("b",), "k"), ((), "k")]
            await c.set({fk: (i, None) for i, fk in enumerate(keys)})
            assert await c.get(keys) == {fk: i for i, fk in enumerate(keys)}

    async def test_empty_namespace_and_empty_key(self, api: Any, cache_opener: Opener) -> None:
        """``()`` and ``""`` are valid (LangGraph does not forbid them) and stay separate."""
        async with opened(cache_opener) as cache:
            c = api.bind(cache)
            pairs: dict[FullKey, Any] = {((), ""): ("root", None), (("",), ""): ("blank", None)}
            await c.set(pairs)
            assert await c.get(list(pairs)) == {((), ""): "root", (("",), ""): "blank"}
            await c.clear([()])
            assert await c.get(list(pairs)) == {(("",), ""): "blank"}

    async def test_overwrite_replaces_value(self, api: Any, cache_opener: Opener) -> None:
        async with opened(cache_opener) as cache:
            c = api.bind(cache)
            fk: FullKey = (("n",), "k")
            await c.set({fk: ({"v": 1}, None)})
            await c.set({fk: ({"v": 2}, None), (("n",), "other"): ("o", None)})
            assert await c.get([fk, (("n",), "other")]) == {fk: {"v": 2}, (("n",), "other"): "o"}

    async def test_many_entries_in_one_call(self, api: Any, cache_opener: Opener) -> None:
        async with opened(cache_opener) as cache:
            c = api.bind(cache)
            pairs = {((f"n{i % 7}",), f"k{i}"): ([i] * 3, None) for i in range(500)}
            await c.set(pairs)
            got = await c.get([*pairs, (("n0",), "missing")])
            assert got == {fk: v for fk, (v, _) in pairs.items()}

    async def test_custom_serializer_is_used(self, api: Any, cache_opener: Opener) -> None:
        """``cache_opener(serde=...)`` stores values with that serializer, as LangGraph's do."""

        class Counting(JsonPlusSerializer):
            dumped = 0
            loaded = 0

            def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
                Counting.dumped += 1
                return super().dumps_typed(obj)

            def loads_typed(self, data: tuple[str, bytes]) -> Any:
                Counting.loaded += 1
                return super().loads_typed(data)

        async with opened(cache_opener, serde=Counting()) as cache:
            c = api.bind(cache)
            await c.set({(("n",), "a"): ({"x": [1, 2]}, None), (("n",), "b"): ("s", None)})
            assert await c.get([(("n",), "a"), (("n",), "b")]) == {
                (("n",), "a"): {"x": [1, 2]},
                (("n",), "b"): "s",
            }
        assert Counting.dumped == 2
        assert Counting.loaded == 2

    # -- clear --------------------------------------------------------------------------
    async def test_clear_everything(self, api: Any, cache_opener: Opener) -> None:
        async with opened(cache_opener) as cache:
            c = api.bind(cache)
            keys: list[FullKey] = [(("a",), "1"), (("a", "b"), "2"), ((), "3")]
            await c.set({fk: ("v", None) for fk in keys})
            await c.clear()
            assert await c.get(keys) == {}
            await c.set({(("a",), "1"): ("again", None)})
            assert await c.get(keys) == {(("a",), "1"): "again"}

    async def test_clear_is_exact_per_namespace(self, api: Any, cache_opener: Opener) -> None:
        """Clearing ``("a",)`` leaves its children ``("a", "b")`` and ``("ab",)`` alone."""
        async with opened(cache_opener) as cache:
            c = api.bind(cache)
            keys: list[FullKey] = [
                (("a",), "k"),
                (("a",), "k2"),
                (("a", "b"), "k"),
                (("ab",), "k"),
                (("b", "a"), "k"),
                ((), "k"),
            ]
            await c.set({fk: ("/".join(fk[0]), None) for fk in keys})
            await c.clear([("a",)])
            assert set(await c.get(keys)) == set(keys[2:])
            await c.clear([("a", "b"), ()])
            assert await c.get(keys) == {(("ab",), "k"): "ab", (("b", "a"), "k"): "b/a"}

    async def test_clear_unknown_or_no_namespaces_changes_nothing(
        self, api: Any, cache_opener: Opener
    ) -> None:
        async with opened(cache_opener) as cache:
            c = api.bind(cache)
            keys: list[FullKey] = [(("a",), "k"), (("a", "b"), "k")]
            await c.set({fk: (1, None) for fk in keys})
            await c.clear([])
            await c.clear([("zzz",), ("a", "b", "c"), ("b",)])
            assert set(await c.get(keys)) == set(keys)

    # -- awkward characters ---------------------------------------------------------------
    async def test_awkward_characters_round_trip(self, api: Any, cache_opener: Opener) -> None:
        """Separators, glob and escape characters, quotes and non-ASCII are plain text."""
        async with opened(cache_opener) as cache:
            c = api.bind(cache)
            pairs: dict[FullKey, Any] = {}
            for i, text in enumerate(AWKWARD):
                pairs[((text,), "k")] = (f"label {i}", None)
                pairs[(("n",), text)] = (f"key {i}", None)
                pairs[((text, text), text)] = (f"both {i}", None)
            pairs[(("a", "b"), "k")] = ("split", None)
            await c.set(pairs)
            want = {fk: v for fk, (v, _) in pairs.items()}
            assert await c.get(list(pairs)) == want
            # A glob-looking or separator-joined key never matches other keys.
            assert await c.get([(("n",), "a"), (("n",), "b"), (("a:b",), "a:b")]) == {}

    async def test_awkward_namespaces_clear_exactly(self, api: Any, cache_opener: Opener) -> None:
        """``clear([("a*",)])`` is no wildcard; ``("a:b",)``, ``("a,b",)`` are not ``("a","b")``."""
        async with opened(cache_opener) as cache:
            c = api.bind(cache)
            keys: list[FullKey] = [((text,), "k") for text in AWKWARD] + [
                (("a", "b"), "k"),
                (("a",), "k"),
                (("ab",), "k"),
                (("a%",), "k"),
                (("a_",), "k"),
            ]
            await c.set({fk: (fk[0][0], None) for fk in keys})
            cleared = [("a*",), ("*",), ("a:b",), ("a,b",), ("100%",), ("back\\slash",)]
            await c.clear(cleared)
            remaining = set(await c.get(keys))
            assert remaining == {fk for fk in keys if fk[0] not in cleared}

    # -- TTL ------------------------------------------------------------------------------
    async def test_expired_entries_are_never_returned(self, api: Any, cache_opener: Opener) -> None:
        """After its TTL an entry is a miss at once, before any sweep; ``None`` never expires.

        Overwriting an entry sets its TTL anew, so a short-lived entry rewritten without a
        TTL persists, and an expired key can be set again.
        """
        async with opened(cache_opener) as cache:
            c = api.bind(cache)
            short: FullKey = (("n",), "short")
            other: FullKey = (("m", "x"), "short")
            forever: FullKey = (("n",), "forever")
            long: FullKey = (("n",), "long")
            rewritten: FullKey = (("n",), "rewritten")
            keys = [short, other, forever, long, rewritten]
            await c.set(
                {
                    short: ("s", TTL),
                    other: ("o", TTL),
                    forever: ("f", None),
                    long: ("l", 3600),
                    rewritten: ("r1", TTL),
                }
            )
            await c.set({rewritten: ("r2", None)})
            live = {forever: "f", long: "l", rewritten: "r2"}
            assert await c.get(keys) == {short: "s", other: "o", **live}
            await asyncio.sleep(PAST_TTL)
            assert await c.get(keys) == live
            assert await c.get([short]) == {}
            await c.set({short: ("again", None)})
            assert await c.get(keys) == {short: "again", **live}

    async def test_sweep_ttl_deletes_and_counts_expired(
        self, api: Any, cache_opener: Opener
    ) -> None:
        """``sweep_ttl`` answers how many expired entries it deleted, and keeps live ones.

        Nothing reads the entries between their expiry and the sweep, so every engine
        still holds them (a read may delete an expired entry early).
        """
        async with opened(cache_opener) as cache:
            c = api.bind(cache)
            assert await c.sweep_ttl() == 0
            await c.set(
                {
                    (("a",), "1"): (1, TTL),
                    (("b", "c"), "2"): (2, TTL),
                    (("a",), "live"): (3, 3600),
                    (("a",), "forever"): (4, None),
                }
            )
            assert await c.sweep_ttl() == 0
            await asyncio.sleep(PAST_TTL)
            assert await c.sweep_ttl() == 2
            assert await c.sweep_ttl() == 0
            keys: list[FullKey] = [(("a",), "1"), (("b", "c"), "2"), (("a",), "live")]
            keys.append((("a",), "forever"))
            assert await c.get(keys) == {(("a",), "live"): 3, (("a",), "forever"): 4}

    async def test_sweeper_removes_expired_entries_until_stopped(
        self, api: Any, cache_opener: Opener
    ) -> None:
        """A started sweeper deletes expired entries by itself; stopping it is clean."""
        async with opened(cache_opener) as cache:
            c = api.bind(cache)
            await start_sweeper(cache, 0.05)
            await start_sweeper(cache, 0.05)  # starting twice keeps one sweeper
            try:
                await c.set({(("a",), "gone"): (1, TTL), (("a",), "kept"): (2, None)})
                await asyncio.sleep(PAST_TTL + 0.3)
                # The sweeper already deleted the expired entry, nothing is left to sweep.
                assert await c.sweep_ttl() == 0
                assert await c.get([(("a",), "gone"), (("a",), "kept")]) == {(("a",), "kept"): 2}
            finally:
                assert await stop_sweeper(cache)
            assert await stop_sweeper(cache)
            await c.set({(("a",), "after"): (3, None)})
            assert await c.get([(("a",), "after")]) == {(("a",), "after"): 3}

    async def test_stop_without_start_is_harmless(self, api: Any, cache_opener: Opener) -> None:
        async with opened(cache_opener) as cache:
            assert await stop_sweeper(cache)
            await start_sweeper(cache, 3600)
            assert await stop_sweeper(cache, 5.0)

    # -- durability -----------------------------------------------------------------------
    async def test_entries_survive_reopening(self, api: Any, cache_opener: Opener) -> None:
        pairs: dict[FullKey, Any] = {
            (("a",), "forever"): ({"x": 1}, None),
            (("a", "b"), "long"): ([1, 2], 3600),
            (("ünï:*",), "k,[\\]"): ("awkward", None),
        }
        async with opened(cache_opener) as cache:
            await api.bind(cache).set(pairs)
        async with opened(cache_opener) as cache:
            c = api.bind(cache)
            assert await c.get(list(pairs)) == {fk: v for fk, (v, _) in pairs.items()}
            await c.clear([("a",)])
        async with opened(cache_opener) as cache:
            got = await api.bind(cache).get(list(pairs))
            assert set(got) == {(("a", "b"), "long"), (("ünï:*",), "k,[\\]")}

    async def test_sync_and_async_calls_share_entries(self, api: Any, cache_opener: Opener) -> None:
        """What one API writes the other reads (LangGraph mixes them across runs)."""
        other = "async" if api.mode == "sync" else "sync"
        async with opened(cache_opener) as cache:
            c: Bound = api.bind(cache)
            d: Bound = type(api)(other).bind(cache)
            await c.set({(("x",), "1"): ("from " + api.mode, None)})
            assert await d.get([(("x",), "1")]) == {(("x",), "1"): "from " + api.mode}
            await d.clear([("x",)])
            assert await c.get([(("x",), "1")]) == {}

    # -- moving data ---------------------------------------------------------------------
    async def test_export_and_import_keep_entries_and_expiry(
        self, api: Any, cache_opener: Opener
    ) -> None:
        """``export_entries`` gives every live entry with its absolute expiry (what
        ``durastate copy --cache`` moves); ``import_entries`` writes them back as they were;
        ``count_entries`` counts live entries."""
        pairs: dict[FullKey, tuple[Any, int | None]] = {
            (("a",), "long"): ({"v": 1}, 3600),
            (("a", "b:c"), "forever"): ([1, "two"], None),
            (("é",), "k*1"): ("text", 600),
        }
        async with opened(cache_opener) as cache:
            c = api.bind(cache)
            await c.set(pairs)
            await c.set({(("a",), "gone"): ("x", TTL)})
            await asyncio.sleep(PAST_TTL)
            exported = await asyncio.to_thread(lambda: list(cache.export_entries(batch_size=2)))
            assert sorted((e.namespace, e.key) for e in exported) == sorted(pairs)
            expiry = {(e.namespace, e.key): e.expires_at for e in exported}
            assert expiry[(("a", "b:c"), "forever")] is None
            assert await asyncio.to_thread(cache.count_entries) == 3
            await c.clear()
            assert await c.get(list(pairs)) == {}
            assert await asyncio.to_thread(cache.import_entries, exported) == 3
        async with opened(cache_opener) as cache:
            c = api.bind(cache)
            assert await c.get(list(pairs)) == {k: v for k, (v, _) in pairs.items()}
            again = await asyncio.to_thread(lambda: list(cache.export_entries()))
            for entry in again:
                before = expiry[(entry.namespace, entry.key)]
                if before is None:
                    assert entry.expires_at is None
                else:
                    assert entry.expires_at is not None
                    assert abs(entry.expires_at - before) < 1.0
