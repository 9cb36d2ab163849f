"""Store and cache workloads: batched puts, gets, filtered and semantic search, cache I/O."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from langgraph.store.base import BaseStore, PutOp

from benchmarks.harness import RunContext
from benchmarks.workloads.data import StoreData

PUT_BATCH = 500
FILTER = {"kind": "k2", "rank": {"$gte": 50}}


def _put_ops(data: StoreData) -> list[list[PutOp]]:
    ops = [PutOp(ns, key, value) for ns, key, value in data.items]
    return [ops[i : i + PUT_BATCH] for i in range(0, len(ops), PUT_BATCH)]


def _recall(data: StoreData, q: int, results: list[Any]) -> float:
    exact = set(data.exact[q])
    return len(exact & {item.key for item in results}) / 10


def _summary(
    data: StoreData, put_s: float, gets: int, get_s: float, filt: int, filt_s: float,
    sem: int, sem_s: float, recall: float, found: int,
) -> dict[str, float]:  # fmt: skip
    return {
        "put_items_per_s": len(data.items) / put_s,
        "get_per_s": gets / get_s,
        "filtered_search_per_s": filt / filt_s,
        "semantic_search_per_s": sem / sem_s,
        "recall_at_10": recall / sem,
        "get_found": found / gets,
    }


def store_sync(ctx: RunContext) -> dict[str, float]:
    """5,000 items with 64-dimension vectors in 50 namespaces, then reads and searches."""
    data = ctx.shared.store_data()
    assert ctx.side is not None and ctx.side.store is not None
    sz = ctx.sizes
    with ctx.side.store(ctx.workdir, data.index()) as store:
        store_: BaseStore = store
        t0 = time.perf_counter()
        for batch in _put_ops(data):
            store_.batch(batch)
        put_s = time.perf_counter() - t0
        picks = [data.items[(i * 7919) % len(data.items)] for i in range(sz.store_gets)]
        found = 0
        t0 = time.perf_counter()
        for ns, key, _ in picks:
            found += store_.get(ns, key) is not None
        get_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for i in range(sz.filtered_searches):
            store_.search(("bench",), filter=FILTER, limit=10, offset=i % 5)
        filt_s = time.perf_counter() - t0
        pages = []
        t0 = time.perf_counter()
        for q in range(sz.semantic_searches):
            pages.append(store_.search(("bench",), query=data.queries[q], limit=10))
        sem_s = time.perf_counter() - t0
        recall = sum(_recall(data, q, page) for q, page in enumerate(pages))
    return _summary(
        data, put_s, len(picks), get_s, sz.filtered_searches, filt_s,
        sz.semantic_searches, sem_s, recall, found,
    )  # fmt: skip


def store_async(ctx: RunContext) -> dict[str, float]:
    """The same through abatch / aget / asearch."""
    data = ctx.shared.store_data()
    assert ctx.side is not None and ctx.side.astore is not None
    factory = ctx.side.astore
    sz = ctx.sizes

    async def main() -> dict[str, float]:
        async with factory(ctx.workdir, data.index()) as store:
            t0 = time.perf_counter()
            for batch in _put_ops(data):
                await store.abatch(batch)
            put_s = time.perf_counter() - t0
            picks = [data.items[(i * 7919) % len(data.items)] for i in range(sz.store_gets)]
            found = 0
            t0 = time.perf_counter()
            for ns, key, _ in picks:
                found += await store.aget(ns, key) is not None
            get_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            for i in range(sz.filtered_searches):
                await store.asearch(("bench",), filter=FILTER, limit=10, offset=i % 5)
            filt_s = time.perf_counter() - t0
            pages = []
            t0 = time.perf_counter()
            for q in range(sz.semantic_searches):
                pages.append(await store.asearch(("bench",), query=data.queries[q], limit=10))
            sem_s = time.perf_counter() - t0
            recall = sum(_recall(data, q, page) for q, page in enumerate(pages))
        return _summary(
            data, put_s, len(picks), get_s, sz.filtered_searches, filt_s,
            sz.semantic_searches, sem_s, recall, found,
        )  # fmt: skip

    return asyncio.run(main())


CACHE_BATCH = 50


def _cache_batches(ctx: RunContext) -> list[list[tuple[Any, Any]]]:
    entries = ctx.shared.cache_entries()
    return [entries[i : i + CACHE_BATCH] for i in range(0, len(entries), CACHE_BATCH)]


def cache_sync(ctx: RunContext) -> dict[str, float]:
    """Set then get ~1 KB entries in batches of 50."""
    assert ctx.side is not None and ctx.side.cache is not None
    batches = _cache_batches(ctx)
    n = sum(len(b) for b in batches)
    with ctx.side.cache(ctx.workdir) as cache:
        t0 = time.perf_counter()
        for b in batches:
            cache.set({key: (value, None) for key, value in b})
        set_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for b in batches:
            got = cache.get([key for key, _ in b])
            assert len(got) == len(b)
        get_s = time.perf_counter() - t0
    return {"set_per_s": n / set_s, "get_per_s": n / get_s}


def cache_async(ctx: RunContext) -> dict[str, float]:
    """The same through aset / aget."""
    assert ctx.side is not None and ctx.side.acache is not None
    factory = ctx.side.acache
    batches = _cache_batches(ctx)
    n = sum(len(b) for b in batches)

    async def main() -> dict[str, float]:
        with factory(ctx.workdir) as cache:
            t0 = time.perf_counter()
            for b in batches:
                await cache.aset({key: (value, None) for key, value in b})
            set_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            for b in batches:
                got = await cache.aget([key for key, _ in b])
                assert len(got) == len(b)
            get_s = time.perf_counter() - t0
        return {"set_per_s": n / set_s, "get_per_s": n / get_s}

    return asyncio.run(main())
