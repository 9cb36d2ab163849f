"""Checkpointer contract: ``list`` order, metadata filters, before, limit and scope."""

from __future__ import annotations

from typing import Any

from durastate.conformance._modes import BothModes
from durastate.conformance.checkpointer_support import Chain, cid, ids, thread_config
from durastate.conformance.harness import Api, Bound, Opener, opened

FILTER_VALUES: list[Any] = [
    "text",
    3,
    2.5,
    True,
    None,
    [1, "a"],
    {"k": [1, {"z": None}]},
    "C:\\u0000\\n",  # backslashes, not a NUL: kept as written
]


async def _three_threads(s: Bound) -> dict[str, list[str]]:
    """Checkpoints put in interleaved order across threads and namespaces."""
    chains = {
        "a": Chain(s, "a"),
        "a/sub": Chain(s, "a", "sub:1"),
        "b": Chain(s, "b"),
    }
    out: dict[str, list[str]] = {k: [] for k in chains}
    for step in range(3):
        for key, chain in chains.items():
            out[key].append(cid(await chain.put({"step": step})))
    return out


class CheckpointerListing(BothModes):
    """list(config, filter=, before=, limit=)."""

    async def test_list_is_newest_first(self, api: Api, checkpointer_opener: Opener) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            configs = await Chain(s, "t1").many(5)
            listed = await s.list(thread_config("t1"))
        assert ids(listed) == [cid(c) for c in reversed(configs)]
        assert [t.checkpoint["channel_values"]["n"] for t in listed] == [4, 3, 2, 1, 0]
        assert listed[0].parent_config is not None
        assert cid(listed[0].parent_config) == cid(configs[3])

    async def test_list_filters_on_metadata_values_of_every_json_type(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            chain = Chain(s, "t1")
            stored = [await chain.put({"n": i}, {"value": v}) for i, v in enumerate(FILTER_VALUES)]
            await chain.put({"n": -1}, {"other": 1})
            for value, config in zip(FILTER_VALUES, stored, strict=True):
                found = await s.list(thread_config("t1"), filter={"value": value})
                assert ids(found) == [cid(config)], value

    async def test_filter_equality_is_json_equality(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """Numbers compare by value (1 == 1.0); booleans only equal booleans; no coercion."""
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            chain = Chain(s, "t1")
            one = await chain.put({"n": 0}, {"v": 1})
            true = await chain.put({"n": 1}, {"v": True})
            text = await chain.put({"n": 2}, {"v": "1"})
            cfg = thread_config("t1")
            assert ids(await s.list(cfg, filter={"v": 1.0})) == [cid(one)]
            assert ids(await s.list(cfg, filter={"v": True})) == [cid(true)]
            assert ids(await s.list(cfg, filter={"v": "1"})) == [cid(text)]
            assert await s.list(cfg, filter={"v": 0}) == []
            assert await s.list(cfg, filter={"v": [1]}) == []

    async def test_a_missing_key_never_equals_none(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            chain = Chain(s, "t1")
            explicit = await chain.put({"n": 0}, {"maybe": None})
            await chain.put({"n": 1}, {"other": "x"})
            found = await s.list(thread_config("t1"), filter={"maybe": None})
            assert ids(found) == [cid(explicit)]
            assert await s.list(thread_config("t1"), filter={"absent": None}) == []

    async def test_filter_with_several_keys_needs_all(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            chain = Chain(s, "t1")
            both = await chain.put({"n": 0}, {"source": "input", "user": "u1"})
            await chain.put({"n": 1}, {"source": "loop", "user": "u1"})
            await chain.put({"n": 2}, {"source": "input", "user": "u2"})
            found = await s.list(None, filter={"source": "input", "user": "u1"})
            assert ids(found) == [cid(both)]

    async def test_before_and_limit_page_through_history(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            configs = await Chain(s, "t1").many(7)
            newest_first = [cid(c) for c in reversed(configs)]
            cfg = thread_config("t1")
            assert ids(await s.list(cfg, before=configs[3])) == newest_first[4:]
            assert ids(await s.list(cfg, limit=2)) == newest_first[:2]
            pages: list[str] = []
            before = None
            while page := await s.list(cfg, before=before, limit=3):
                pages.extend(ids(page))
                before = page[-1].config
            assert pages == newest_first
            assert await s.list(cfg, before=configs[0]) == []
            assert await s.list(cfg, limit=0) == []

    async def test_limit_counts_only_matching_checkpoints(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            chain = Chain(s, "t1")
            wanted = []
            for i in range(8):
                stored = await chain.put({"n": i}, {"even": i % 2 == 0})
                if i % 2 == 0:
                    wanted.append(cid(stored))
            found = await s.list(thread_config("t1"), filter={"even": True}, limit=3)
            assert ids(found) == wanted[::-1][:3]
            last = wanted[-2]
            older = await s.list(
                thread_config("t1"),
                filter={"even": True},
                before=thread_config("t1", checkpoint_id=last),
            )
            assert ids(older) == wanted[:-2][::-1]

    async def test_namespace_scope_of_list(self, api: Api, checkpointer_opener: Opener) -> None:
        """``checkpoint_ns`` absent lists every namespace, ``""`` only the root."""
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            made = await _three_threads(s)
            every = await s.list(thread_config("a", None))
            assert sorted(ids(every)) == sorted(made["a"] + made["a/sub"])
            assert ids(every) == sorted(ids(every), reverse=True)
            assert ids(await s.list(thread_config("a", ""))) == made["a"][::-1]
            assert ids(await s.list(thread_config("a", "sub:1"))) == made["a/sub"][::-1]
            child = (await s.list(thread_config("a", "sub:1"), limit=1))[0]
            assert child.config["configurable"]["checkpoint_ns"] == "sub:1"

    async def test_list_without_config_spans_every_thread(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            made = await _three_threads(s)
            everything = await s.list(None)
            assert sorted(ids(everything)) == sorted(
                i for made_ids in made.values() for i in made_ids
            )
            assert ids(everything) == sorted(ids(everything), reverse=True)
            threads = {t.config["configurable"]["thread_id"] for t in everything}
            assert threads == {"a", "b"}
            assert ids(await s.list(None, limit=2)) == ids(everything)[:2]
            latest_b = thread_config("b", checkpoint_id=made["b"][-1])
            assert ids(await s.list(None, before=latest_b)) == [
                i for i in ids(everything) if i < made["b"][-1]
            ]
            assert await s.list(thread_config("nobody")) == []

    async def test_listed_tuples_carry_pending_writes(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            chain = Chain(s, "t1")
            first = await chain.put({"n": 0})
            second = await chain.put({"n": 1})
            await s.put_writes(first, [("n", "one"), ("m", "two")], "task-1")
            await s.put_writes(second, [("n", "three")], "task-2")
            for listed in (await s.list(thread_config("t1")), await s.list(None)):
                by_id = {cid(t): t.pending_writes for t in listed}
                assert by_id == {
                    cid(first): [("task-1", "n", "one"), ("task-1", "m", "two")],
                    cid(second): [("task-2", "n", "three")],
                }

    async def test_list_by_checkpoint_id_answers_that_checkpoint(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            configs = await Chain(s, "t1").many(3)
            found = await s.list(configs[1])
            assert ids(found) == [cid(configs[1])]
            assert found[0].checkpoint["channel_values"] == {"n": 1}

    async def test_filter_keys_are_literal_and_values_compare_structurally(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """A key is one top-level name (dots and quotes included, never a path); objects
        are equal whatever their key order; integers compare exactly."""
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            chain = Chain(s, "t1")
            dotted = await chain.put({"n": 0}, {"a.b": 1, "it's": "q", 'x"y': "dq"})
            nested = await chain.put({"n": 1}, {"a": {"b": 1}})
            obj = await chain.put({"n": 2}, {"d": {"a": 1, "b": [1, {"c": 2}]}})
            big = await chain.put({"n": 3}, {"big": 2**53 + 1})
            empty = await chain.put({"n": 4}, {"e": "", "l": [], "o": {}})
            cfg = thread_config("t1")

            async def found(flt: dict[str, Any]) -> list[str]:
                return ids(await s.list(cfg, filter=flt))

            assert await found({"a.b": 1}) == [cid(dotted)]
            assert await found({"it's": "q"}) == [cid(dotted)]
            assert await found({'x"y': "dq"}) == [cid(dotted)]
            assert await found({"a": {"b": 1}}) == [cid(nested)]
            assert await found({"d": {"b": [1, {"c": 2}], "a": 1}}) == [cid(obj)]
            assert await found({"d": {"a": 1}}) == []
            assert await found({"big": 2**53 + 1}) == [cid(big)]
            assert await found({"big": 2**53}) == []
            assert await found({"e": "", "l": [], "o": {}}) == [cid(empty)]
            assert await found({"e": None}) == []
