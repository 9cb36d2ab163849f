"""Store contract, TTL: expired items are never returned, reads refresh, sweeps delete."""

from __future__ import annotations

import asyncio

from langgraph.store.base import GetOp, PutOp, SearchOp

from durastate.conformance._modes import BothModes
from durastate.conformance.harness import Api, Opener, opened, start_sweeper, stop_sweeper
from durastate.conformance.store_support import NS, index_config, keys

SHORT = 0.015
"""Minutes (0.9 s): items that must be expired after ``PAST_SHORT`` seconds and still be
there for the few calls right after their put, even on a loaded machine."""
PAST_SHORT = 1.0
LIFE = 0.025
"""Minutes (1.5 s): items read once after ``HALF`` seconds and checked after ``2 * HALF``;
the 0.7 s between ``HALF`` and ``LIFE`` leaves room for a dozen calls on a busy machine."""
HALF = 0.8


class StoreTTLContract(BothModes):
    """Item lifetimes in minutes; ``refresh_on_read`` defaults to True."""

    async def test_expired_items_are_never_returned(self, api: Api, store_opener: Opener) -> None:
        """Expired items vanish from get, search (with or without a query) and
        list_namespaces even though no sweep ran; a put after expiry makes a new item."""
        index = index_config(fields=["text"])
        async with opened(store_opener, index=index) as backend:
            s = api.bind(backend)
            await s.put(NS, "short", {"text": "apple"}, ttl=SHORT)
            await s.batch([PutOp(("brief",), "only", {"text": "apple"}, ttl=SHORT)])
            await s.put(NS, "forever", {"text": "car"})
            await s.put(NS, "long", {"text": "apple"}, ttl=10)
            assert set(keys(await s.search((), query="apple"))) == {
                "short",
                "only",
                "forever",
                "long",
            }
            first = await s.get(NS, "short")
            await asyncio.sleep(PAST_SHORT)
            assert await s.get(NS, "short", refresh_ttl=True) is None
            assert await s.get(("brief",), "only") is None
            assert set(keys(await s.search(()))) == {"forever", "long"}
            assert keys(await s.search((), query="apple")) == ["long", "forever"]
            assert keys(await s.search(NS, filter={"text": "apple"})) == ["long"]
            assert await s.list_namespaces() == [NS]
            assert await s.batch([GetOp(NS, "short"), SearchOp(("brief",))]) == [None, []]
            await s.put(NS, "short", {"text": "dog"})
            reborn = await s.get(NS, "short")
            assert reborn.created_at > first.created_at

    async def test_reads_refresh_the_ttl(self, api: Api, store_opener: Opener) -> None:
        """get and search with refresh_ttl (default True) restart an item's lifetime;
        refresh_ttl=False reads leave it; a search refreshes only what it returned."""
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            for key in ("by_get", "by_default_get", "by_search", "get_no", "search_no", "idle"):
                await s.put(NS, key, {"k": key}, ttl=LIFE)
            await asyncio.sleep(HALF)
            assert (await s.get(NS, "by_get", refresh_ttl=True)) is not None
            assert (await s.get(NS, "by_default_get")) is not None
            found = await s.search(NS, filter={"k": "by_search"}, refresh_ttl=True)
            assert keys(found) == ["by_search"]
            assert (await s.get(NS, "get_no", refresh_ttl=False)) is not None
            found = await s.search(NS, filter={"k": "search_no"}, refresh_ttl=False)
            assert keys(found) == ["search_no"]
            await asyncio.sleep(HALF)
            assert sorted(keys(await s.search(NS, refresh_ttl=False))) == [
                "by_default_get",
                "by_get",
                "by_search",
            ]
            assert await s.get(NS, "get_no") is None
            assert await s.get(NS, "idle") is None

    async def test_default_ttl_from_config(self, api: Api, store_opener: Opener) -> None:
        """``ttl={"default_ttl": m}`` applies to puts without ``ttl``; ``ttl=None`` means
        never expire; reads refresh by default."""
        async with opened(store_opener, ttl={"default_ttl": LIFE}) as backend:
            s = api.bind(backend)
            await s.put(NS, "read", {"v": 1})
            await s.put(NS, "unread", {"v": 2})
            await s.put(NS, "forever", {"v": 3}, ttl=None)
            await s.put(NS, "longer", {"v": 4}, ttl=10)
            await asyncio.sleep(HALF)
            assert (await s.get(NS, "read")) is not None
            await asyncio.sleep(HALF)
            assert sorted(keys(await s.search(NS))) == ["forever", "longer", "read"]

    async def test_refresh_on_read_can_be_turned_off(self, api: Api, store_opener: Opener) -> None:
        """With ``refresh_on_read: False`` reads do not refresh unless asked to."""
        ttl = {"default_ttl": LIFE, "refresh_on_read": False}
        async with opened(store_opener, ttl=ttl) as backend:
            s = api.bind(backend)
            await s.put(NS, "plain_reads", {"k": "plain_reads"})
            await s.put(NS, "asked", {"k": "asked"})
            await asyncio.sleep(HALF)
            assert (await s.get(NS, "plain_reads")) is not None
            assert len(await s.search(NS)) == 2
            assert (await s.get(NS, "asked", refresh_ttl=True)) is not None
            await asyncio.sleep(HALF)
            assert keys(await s.search(NS)) == ["asked"]

    async def test_lifetimes_survive_reopening(self, api: Api, store_opener: Opener) -> None:
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            await s.put(NS, "short", {}, ttl=SHORT)
            await s.put(NS, "forever", {})
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            assert await s.get(NS, "short", refresh_ttl=False) is not None
            await asyncio.sleep(PAST_SHORT)
            assert await s.get(NS, "short") is None
            assert keys(await s.search(NS)) == ["forever"]

    async def test_sweep_ttl_deletes_expired_items_and_counts_them(
        self, api: Api, store_opener: Opener
    ) -> None:
        """An update without ``ttl`` makes an item permanent, so the sweep leaves it."""
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            await s.put(NS, "a", {}, ttl=SHORT)
            await s.put(("other",), "b", {}, ttl=SHORT)
            await s.put(NS, "made_permanent", {}, ttl=SHORT)
            await s.put(NS, "made_permanent", {"v": 2})
            await s.put(NS, "forever", {})
            await s.put(NS, "long", {}, ttl=10)
            assert await s.sweep_ttl() == 0
            await asyncio.sleep(PAST_SHORT)
            assert await s.sweep_ttl() == 2
            assert await s.sweep_ttl() == 0
            assert sorted(keys(await s.search(NS))) == ["forever", "long", "made_permanent"]
            assert await s.list_namespaces() == [NS]
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            assert await s.sweep_ttl() == 0
            assert sorted(keys(await s.search(()))) == ["forever", "long", "made_permanent"]

    async def test_sweeper_runs_until_stopped(self, api: Api, store_opener: Opener) -> None:
        """A started sweeper deletes expired items in the background; once stopped it
        deletes nothing more; closing a store with a running sweeper shuts it down."""
        async with opened(store_opener, ttl={"sweep_interval_minutes": 0.001}) as backend:
            s = api.bind(backend)
            assert await stop_sweeper(backend)  # stopping a sweeper never started is fine
            await s.put(NS, "swept", {}, ttl=SHORT)
            await s.put(NS, "kept", {})
            await start_sweeper(backend, 0.001)
            await asyncio.sleep(PAST_SHORT + 0.3)
            assert await stop_sweeper(backend)
            assert await s.sweep_ttl() == 0
            await s.put(NS, "left", {}, ttl=SHORT)
            await asyncio.sleep(PAST_SHORT)
            assert await s.sweep_ttl() == 1
            assert keys(await s.search(NS)) == ["kept"]
            await start_sweeper(backend, 10.0)
        async with opened(store_opener) as backend:
            assert keys(await api.bind(backend).search(NS)) == ["kept"]
