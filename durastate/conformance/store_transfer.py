"""Store contract, moving items: ``export_items`` / ``import_items`` keep every field exactly."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from durastate.conformance._modes import BothModes
from durastate.conformance.harness import Api, Opener, opened
from durastate.conformance.store_support import DIMS, NS, WordEmbeddings, index_config, scored
from durastate.store.transfer import ExportedItem, ExportedVector

SHORT = 0.002
"""Minutes (0.12 s)."""
PAST_SHORT = 0.25
TIME_TOLERANCE = 0.002
"""Seconds an exported expiry may differ by (Redis keeps expiries in milliseconds)."""


async def export(api: Api, backend: Any, prefix: tuple[str, ...] = ()) -> list[ExportedItem]:
    if api.mode == "sync":
        return await asyncio.to_thread(lambda: list(backend.export_items(prefix, batch_size=2)))
    return [item async for item in backend.aexport_items(prefix, batch_size=2)]


async def load(api: Api, backend: Any, items: list[ExportedItem], **kw: Any) -> int:
    if api.mode == "sync":
        written: int = await asyncio.to_thread(backend.import_items, items, **kw)
        return written
    written = await backend.aimport_items(items, **kw)
    return written


def fields(item: ExportedItem) -> tuple[Any, ...]:
    return (item.namespace, item.key, item.value, item.created_at, item.updated_at)


class StoreTransferContract(BothModes):
    """Items leave and enter a store exactly as they were (``durastate copy`` relies on it)."""

    async def test_export_gives_every_live_item_in_order_with_its_lifetime_and_vectors(
        self, api: Api, store_opener: Opener
    ) -> None:
        """Ordered by namespace label by label, then key; a prefix is whole labels; expired
        items are left out; timestamps equal what ``get`` shows; indexed items carry one
        float32 vector per text, ``index=False`` ones none; exporting refreshes nothing."""
        async with opened(store_opener, index=index_config(fields=["text"])) as backend:
            s = api.bind(backend)
            await s.put(("a", "b"), "k", {"text": "apple"})
            await s.put(("ab",), "k", {"text": "car"})
            await s.put(("a",), "z", {"text": "dog", "n": 1}, ttl=30)
            await s.put(("a",), "m", {"text": "banana"}, index=False)
            await s.put(("a",), "gone", {"text": "apple"}, ttl=SHORT)
            await asyncio.sleep(PAST_SHORT)
            items = await export(api, backend)
            assert [(i.namespace, i.key) for i in items] == [
                (("a",), "m"),
                (("a",), "z"),
                (("a", "b"), "k"),
                (("ab",), "k"),
            ]
            assert [(i.namespace, i.key) for i in await export(api, backend, ("a",))] == [
                (("a",), "m"),
                (("a",), "z"),
                (("a", "b"), "k"),
            ]
            for item in items:
                got = await s.get(item.namespace, item.key, refresh_ttl=False)
                assert abs(got.created_at.timestamp() - item.created_at) < 1e-5
                assert abs(got.updated_at.timestamp() - item.updated_at) < 1e-5
                assert got.value == item.value
            by_key = {(i.namespace, i.key): i for i in items}
            lived = by_key[(("a",), "z")]
            assert lived.ttl_minutes == 30 and lived.expires_at is not None
            assert abs(lived.expires_at - (lived.updated_at + 1800)) < 1.0
            assert by_key[(("a",), "m")].ttl_minutes is None
            assert by_key[(("a",), "m")].expires_at is None
            assert not by_key[(("a",), "m")].vectors
            vectors = by_key[(("a", "b"), "k")].vectors or ()
            assert len(vectors) == 1 and vectors[0].vector.shape == (DIMS,)
            again = await export(api, backend)
            assert [i.expires_at for i in again] == [i.expires_at for i in items]

    async def test_import_restores_items_exactly_without_embedding(
        self, api: Api, store_opener: Opener
    ) -> None:
        """Deleted items imported back have their old timestamps, lifetime and vectors
        (the same search scores) and the embedder is not called; an existing item with
        the same key is replaced; nothing is refreshed or bumped."""
        embeddings = WordEmbeddings()
        async with opened(store_opener, index=index_config(embeddings)) as backend:
            s = api.bind(backend)
            await s.put(NS, "fruit", {"text": "apple banana"}, ttl=30)
            await s.put(NS, "car", {"text": "car"})
            await s.put(("other",), "pet", {"text": "dog"})
            before = await export(api, backend)
            ranking = scored(await s.search((), query="apple"))
            await s.delete(NS, "fruit")
            await s.put(("other",), "pet", {"text": "replaced"})
            embeddings.documents.clear()
            assert await load(api, backend, before) == 3
            assert embeddings.documents == []
            after = await export(api, backend)
            assert [fields(i) for i in after] == [fields(i) for i in before]
            assert [i.ttl_minutes for i in after] == [i.ttl_minutes for i in before]
            for old, new in zip(before, after, strict=True):
                if old.expires_at is None:
                    assert new.expires_at is None
                else:
                    assert new.expires_at is not None
                    assert abs(new.expires_at - old.expires_at) < TIME_TOLERANCE
                assert [v.vector.tobytes() for v in new.vectors or ()] == [
                    v.vector.tobytes() for v in old.vectors or ()
                ]
            assert scored(await s.search((), query="apple")) == ranking
            assert (await s.get(("other",), "pet")).value == {"text": "dog"}

    async def test_import_embeds_items_whose_vectors_do_not_fit(
        self, api: Api, store_opener: Opener
    ) -> None:
        """Vectors of other dimensions, items without vectors and ``reembed=True`` are
        embedded by this store's index; an item whose expiry passed stays invisible."""
        embeddings = WordEmbeddings()
        index = index_config(embeddings, fields=["text"])
        async with opened(store_opener, index=index) as backend:
            s = api.bind(backend)
            odd = ExportedVector("text", np.ones(DIMS + 2, dtype=np.float32))
            fitting = ExportedVector("text", np.ones(DIMS, dtype=np.float32))
            items = [
                ExportedItem(NS, "odd", {"text": "apple"}, 1000.0, 2000.0, vectors=(odd,)),
                ExportedItem(NS, "bare", {"text": "car"}, 1000.0, 2000.0),
                ExportedItem(("x",), "dead", {"text": "dog"}, 1.0, 2.0, 3.0, 1.0, (fitting,)),
            ]
            assert await load(api, backend, items) == 3
            assert sorted(embeddings.documents) == ["apple", "car"]
            hits = await s.search(NS, query="apple")
            assert [h.key for h in hits] == ["odd", "bare"]
            assert hits[0].created_at.timestamp() == 1000.0
            assert hits[0].updated_at.timestamp() == 2000.0
            assert await s.get(("x",), "dead") is None
            embeddings.documents.clear()
            fit = ExportedItem(NS, "fit", {"text": "dog"}, 5.0, 6.0, vectors=(fitting,))
            await load(api, backend, [fit], reembed=True)
            assert embeddings.documents == ["dog"]
