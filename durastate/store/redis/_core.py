"""What the sync and async Redis stores share: ``RedisStoreOps`` turns work into script bodies."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.store.base import Result

from durastate._engines.redis.requests import Body
from durastate._engines.redis.store_keys import StoreKeys
from durastate._engines.redis.store_ops import SearchBody, batch_body
from durastate._engines.redis.store_search import vector_search_body
from durastate._engines.redis.store_transfer import (
    export_chunk_body,
    export_keys_body,
    export_namespaces_body,
    import_body,
    sweep_body,
)
from durastate.store.base import Namespace, PreparedBatch
from durastate.store.index import IndexSettings
from durastate.store.transfer import ExportedItem, ImportPlan


def vector_search(settings: IndexSettings | None) -> SearchBody | None:
    """How a batch answers searches with a query vector (None without an index)."""
    if settings is None:
        return None
    return lambda keys, req: vector_search_body(keys, settings, req)


class Export:
    """One ``export_items`` call: the namespaces, then each one's key names, then its items.

    One namespace's key names are held in memory at a time; items are read
    ``batch_size`` at a time.
    """

    def __init__(self, keys: StoreKeys, prefix: Namespace, batch_size: int) -> None:
        self.keys = keys
        self.prefix = tuple(prefix)
        self.size = max(1, batch_size)
        self.stage: Literal["namespaces", "keys", "items"] = "namespaces"
        self.namespaces: list[Namespace] = []
        self.namespace: Namespace = ()
        self.names: list[str] = []
        self.start = 0
        self.finished = False

    def next_operation(self) -> Body[Any] | None:
        if self.finished:
            return None
        if self.stage == "namespaces":
            return export_namespaces_body(self.keys, self.prefix)
        if self.stage == "items" and self.start < len(self.names):
            chunk = self.names[self.start : self.start + self.size]
            self.start += self.size
            return export_chunk_body(self.keys, self.namespace, chunk)
        if not self.namespaces:
            self.finished = True
            return None
        self.stage = "keys"
        self.namespace = self.namespaces.pop(0)
        return export_keys_body(self.keys, self.namespace)

    def accept(self, answer: Any) -> list[ExportedItem]:
        if self.stage == "namespaces":
            self.namespaces = list(answer)
            self.stage = "items"
            return []
        if self.stage == "keys":
            self.names, self.start = list(answer), 0
            self.stage = "items"
            return []
        return list(answer)


class RedisStoreOps:
    """The Redis store's work as script bodies on one store's keys."""

    def __init__(self, keys: StoreKeys, settings: IndexSettings | None) -> None:
        self.keys = keys
        self.search = vector_search(settings)

    def batch(self, batch: PreparedBatch) -> Body[list[Result]]:
        return batch_body(self.keys, batch, self.search)

    def after_write(self, written: int) -> None:
        return None

    def sweep(self) -> Body[int]:
        return sweep_body(self.keys)

    def exporter(self, namespace_prefix: Namespace, batch_size: int) -> Export:
        return Export(self.keys, namespace_prefix, batch_size)

    def import_items(self, plan: ImportPlan) -> Body[int]:
        return import_body(self.keys, plan)
