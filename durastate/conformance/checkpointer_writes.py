"""Checkpointer contract: pending writes (idempotence, special channels, order, concurrency)."""

from __future__ import annotations

import asyncio

from langgraph.checkpoint.base import (  # type: ignore[attr-defined]
    ERROR,
    INTERRUPT,
    RESUME,
    SCHEDULED,
    WRITES_IDX_MAP,
)

from durastate.conformance._modes import BothModes
from durastate.conformance.checkpointer_support import Chain, cid, ids, thread_config
from durastate.conformance.harness import Api, Opener, opened


class CheckpointerWrites(BothModes):
    """put_writes and the pending writes tuples carry."""

    async def test_regular_writes_keep_the_first_value(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """A task's regular write at one index is stored once: a retry does not replace it."""
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            stored = await Chain(s, "t1").put({"n": 0})
            await s.put_writes(stored, [("a", 1), ("b", 2)], "task-1")
            await s.put_writes(stored, [("a", 100), ("b", 200)], "task-1")
            await s.put_writes(stored, [("a", 300)], "task-1")
            tup = await s.get_tuple(stored)
            assert tup.pending_writes == [("task-1", "a", 1), ("task-1", "b", 2)]

    async def test_special_writes_replace_the_previous_one(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """ERROR, INTERRUPT, RESUME and SCHEDULED writes overwrite (LangGraph's negative idx)."""
        specials = [ERROR, INTERRUPT, RESUME, SCHEDULED]
        assert all(WRITES_IDX_MAP[ch] < 0 for ch in specials)
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            stored = await Chain(s, "t1").put({"n": 0})
            for channel in specials:
                await s.put_writes(stored, [(channel, f"{channel} first")], "task-1")
            for channel in specials:
                await s.put_writes(stored, [(channel, f"{channel} second")], "task-1")
            tup = await s.get_tuple(stored)
            got = {channel: value for _, channel, value in tup.pending_writes}
            assert got == {channel: f"{channel} second" for channel in specials}
            assert len(tup.pending_writes) == len(specials)

    async def test_regular_and_special_writes_of_one_task_coexist(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            stored = await Chain(s, "t1").put({"n": 0})
            await s.put_writes(stored, [("a", "kept"), ("b", "kept too")], "task-1")
            await s.put_writes(stored, [(ERROR, "boom")], "task-1")
            await s.put_writes(stored, [(ERROR, "boom again")], "task-1")
            await s.put_writes(stored, [("a", "retry")], "task-1")
            tup = await s.get_tuple(stored)
            assert sorted(tup.pending_writes) == sorted(
                [
                    ("task-1", "a", "kept"),
                    ("task-1", "b", "kept too"),
                    ("task-1", ERROR, "boom again"),
                ]
            )

    async def test_pending_writes_come_in_task_then_index_order(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """Order is LangGraph's ``writes_sort_key``: task_path, task_id, then index.

        Special writes have negative indexes, so they come before the task's regular ones.
        """
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            stored = await Chain(s, "t1").put({"n": 0})
            await s.put_writes(stored, [("x", 1), ("y", 2), ("z", 3)], "task-b")
            await s.put_writes(stored, [("x", 4), ("y", 5)], "task-a")
            await s.put_writes(stored, [(INTERRUPT, "stop")], "task-b")
            await s.put_writes(stored, [("x", 6)], "task-c", "~early")
            await s.put_writes(stored, [("x", 7)], "task-0", "~late")
            expected = [
                ("task-a", "x", 4),
                ("task-a", "y", 5),
                ("task-b", INTERRUPT, "stop"),
                ("task-b", "x", 1),
                ("task-b", "y", 2),
                ("task-b", "z", 3),
                ("task-c", "x", 6),
                ("task-0", "x", 7),
            ]
            tup = await s.get_tuple(stored)
            listed = await s.list(thread_config("t1"))
            assert tup.pending_writes == expected
            assert listed[0].pending_writes == expected

    async def test_writes_belong_to_their_checkpoint(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            chain = Chain(s, "t1")
            first = await chain.put({"n": 0})
            await s.put_writes(first, [("n", "for first")], "task-1")
            second = await chain.put({"n": 1})
            child = await Chain(s, "t1", "sub:1").put({"n": 0})
            await s.put_writes(child, [("n", "for child")], "task-1")
            assert (await s.get_tuple(second)).pending_writes == []
            assert (await s.get_tuple(first)).pending_writes == [("task-1", "n", "for first")]
            assert (await s.get_tuple(child)).pending_writes == [("task-1", "n", "for child")]

    async def test_values_of_writes_round_trip(self, api: Api, checkpointer_opener: Opener) -> None:
        values = [None, 0, 1.5, "s", b"\x00b", [1, [2]], {"k": {"v": None}}, {"set"}]
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            stored = await Chain(s, "t1").put({"n": 0})
            await s.put_writes(stored, [(f"ch{i}", v) for i, v in enumerate(values)], "task-1")
            tup = await s.get_tuple(stored)
            assert [v for _, _, v in tup.pending_writes] == values

    async def test_concurrent_writes_to_one_checkpoint_lose_nothing(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """Many tasks writing at once (threads in sync mode, asyncio tasks in async mode)."""
        tasks = 24
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            stored = await Chain(s, "t1").put({"n": 0})
            await asyncio.gather(
                *(
                    s.put_writes(stored, [("a", i), ("b", -i), (f"own{i}", i)], f"task-{i:02}")
                    for i in range(tasks)
                )
            )
            tup = await s.get_tuple(stored)
        expected = [
            (f"task-{i:02}", channel, value)
            for i in range(tasks)
            for channel, value in (("a", i), ("b", -i), (f"own{i}", i))
        ]
        assert tup.pending_writes == expected

    async def test_concurrent_puts_into_many_threads_lose_nothing(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        threads = 12
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)

            async def run(i: int) -> list[str]:
                chain = Chain(s, f"t{i}")
                made = []
                for step in range(3):
                    stored = await chain.put({"n": step, "who": i})
                    await s.put_writes(stored, [("n", step + 1)], f"task-{step}")
                    made.append(cid(stored))
                return made

            made = await asyncio.gather(*(run(i) for i in range(threads)))
            for i, expected in enumerate(made):
                listed = await s.list(thread_config(f"t{i}"))
                assert ids(listed) == expected[::-1]
                assert [t.checkpoint["channel_values"] for t in listed] == [
                    {"n": step, "who": i} for step in (2, 1, 0)
                ]
                assert [t.pending_writes for t in listed] == [
                    [(f"task-{step}", "n", step + 1)] for step in (2, 1, 0)
                ]
