"""Checkpointer contract: thread TTL (hidden when expired, refresh, sweep, sweeper)."""

from __future__ import annotations

import asyncio

from durastate.conformance._modes import BothModes
from durastate.conformance.checkpointer_support import Chain, cid, ids, thread_config
from durastate.conformance.harness import Api, Opener, opened, start_sweeper, stop_sweeper

SHORT = 0.008
"""Minutes a thread lives in the expiry tests (0.48 s: room for a few calls on a busy machine)."""
PAST_SHORT = SHORT * 60 + 0.07
LIFE = 0.016
"""Minutes a thread lives in the refresh tests (0.96 s)."""
STEP = 0.55
"""Seconds between touches in the refresh tests: one step stays inside LIFE, two do not."""


class CheckpointerTTL(BothModes):
    """ttl={"default_ttl": minutes, "refresh_on_read": bool}, sweep_ttl and the sweeper."""

    async def test_an_expired_thread_is_never_returned(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """Even before any sweep, reads answer as if the thread did not exist."""
        async with opened(checkpointer_opener, ttl={"default_ttl": SHORT}) as saver:
            s = api.bind(saver)
            first = await Chain(s, "old").put({"n": 0})
            await Chain(s, "old", "sub:1").put({"n": 0})
            await s.put_writes(first, [("n", 1)], "task")
            await asyncio.sleep(PAST_SHORT)
            fresh = await Chain(s, "new").put({"n": 0})
            assert await s.get_tuple(thread_config("old")) is None
            assert await s.get_tuple(first) is None
            assert await s.get_tuple(thread_config("old", "sub:1")) is None
            assert await s.list(thread_config("old", None)) == []
            assert ids(await s.list(None)) == [cid(fresh)]
            assert await s.thread_ids() == ["new"]
            assert await s.list(None, filter={"source": "loop"}) == [
                await s.get_tuple(thread_config("new"))
            ]

    async def test_a_live_thread_is_returned_whole(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener, ttl={"default_ttl": 1}) as saver:
            s = api.bind(saver)
            chain = Chain(s, "t1")
            configs = await chain.many(3)
            await s.put_writes(configs[-1], [("n", "w")], "task")
            tup = await s.get_tuple(thread_config("t1"))
            assert cid(tup) == cid(configs[-1])
            assert tup.pending_writes == [("task", "n", "w")]
            assert len(await s.list(thread_config("t1"))) == 3
            assert await s.sweep_ttl() == 0

    async def test_an_expired_thread_is_not_revived_by_writes_or_copies(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener, ttl={"default_ttl": SHORT}) as saver:
            s = api.bind(saver)
            await Chain(s, "t1").many(3)
            await Chain(s, "t1", "sub:1").put({"n": 0})
            await asyncio.sleep(PAST_SHORT)
            await s.copy_thread("t1", "copy")
            assert await s.list(thread_config("copy", None)) == []
            again = await Chain(s, "t1").put({"n": "again"})
            listed = await s.list(thread_config("t1", None))
            assert ids(listed) == [cid(again)]
            assert listed[0].checkpoint["channel_values"] == {"n": "again"}

    async def test_refresh_on_read_moves_the_expiry(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """``refresh_on_read`` defaults to True: get_tuple and list extend the thread."""
        async with opened(checkpointer_opener, ttl={"default_ttl": LIFE}) as saver:
            s = api.bind(saver)
            got = await Chain(s, "read-by-get").put({"n": 0})
            listed = await Chain(s, "read-by-list").put({"n": 0})
            await Chain(s, "stale").put({"n": 0})
            await asyncio.sleep(STEP)
            assert await s.get_tuple(thread_config("read-by-get")) is not None
            assert len(await s.list(thread_config("read-by-list"))) == 1
            await asyncio.sleep(STEP)
            assert cid(await s.get_tuple(thread_config("read-by-get"))) == cid(got)
            assert len(await s.list(thread_config("read-by-list"))) == 1
            # The newest checkpoint belongs to an expired thread: pages skip it.
            assert ids(await s.list(None)) == [cid(listed), cid(got)]
            assert ids(await s.list(None, limit=1)) == [cid(listed)]
            assert ids(await s.list(None, filter={"source": "loop"}, limit=1)) == [cid(listed)]

    async def test_without_refresh_reads_do_not_move_the_expiry(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """With ``refresh_on_read=False`` only writes extend a thread: put_writes, and a put
        in any of its namespaces (the expiry belongs to the whole thread)."""
        async with opened(
            checkpointer_opener, ttl={"default_ttl": LIFE, "refresh_on_read": False}
        ) as saver:
            s = api.bind(saver)
            await Chain(s, "read").put({"n": 0})
            written = await Chain(s, "written").put({"n": 0})
            await Chain(s, "child-written").put({"n": "root"})
            await asyncio.sleep(STEP)
            await Chain(s, "child-written", "sub:1").put({"n": "child"})
            assert await s.get_tuple(thread_config("read")) is not None
            assert len(await s.list(thread_config("read"))) == 1
            await s.put_writes(written, [("n", 1)], "task")
            await asyncio.sleep(STEP)
            assert await s.get_tuple(thread_config("read")) is None
            assert await s.list(thread_config("read")) == []
            tup = await s.get_tuple(thread_config("written"))
            assert tup is not None
            assert tup.pending_writes == [("task", "n", 1)]
            root = await s.get_tuple(thread_config("child-written"))
            assert root.checkpoint["channel_values"] == {"n": "root"}

    async def test_sweep_ttl_deletes_expired_threads_and_counts_them(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener, ttl={"default_ttl": SHORT}) as saver:
            s = api.bind(saver)
            for thread in ("a", "b"):
                stored = await Chain(s, thread).put({"n": 0})
                await Chain(s, thread, "sub:1").put({"n": 0})
                await s.put_writes(stored, [("n", 1)], "task")
        await asyncio.sleep(PAST_SHORT)
        # Expiry is stored with the threads: reopening neither resets nor forgets it.
        async with opened(checkpointer_opener, ttl={"default_ttl": SHORT}) as saver:
            s = api.bind(saver)
            assert await s.get_tuple(thread_config("a")) is None
            live = await Chain(s, "live").put({"n": 0})
            assert await s.sweep_ttl() == 2
            assert await s.sweep_ttl() == 0
            assert ids(await s.list(None)) == [cid(live)]

    async def test_the_background_sweeper_deletes_and_stops_cleanly(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener, ttl={"default_ttl": SHORT}) as saver:
            s = api.bind(saver)
            await Chain(s, "a").put({"n": 0})
            await Chain(s, "b").put({"n": 0})
            await start_sweeper(saver, 0.0005)
            await asyncio.sleep(PAST_SHORT + 0.3)
            assert await stop_sweeper(saver)
            # Both were already swept in the background: nothing left to count.
            assert await s.sweep_ttl() == 0
            assert await s.list(None) == []
            # Stopped means stopped: a thread expiring now waits for an explicit sweep.
            await Chain(s, "c").put({"n": 0})
            await asyncio.sleep(PAST_SHORT)
            assert await s.sweep_ttl() == 1
            assert await stop_sweeper(saver)
