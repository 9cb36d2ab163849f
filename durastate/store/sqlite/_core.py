"""What the sync and async SQLite stores share: ``SqliteStoreOps`` turns work into plans."""

from __future__ import annotations

import time

from langgraph.store.base import Result

from durastate._engines.sqlite.requests import Operation, Plan
from durastate._engines.sqlite.store_ops import StoreContext, batch_plan, sweep_plan
from durastate._engines.sqlite.store_rows import Deserializer
from durastate._engines.sqlite.store_transfer import Cursor, export_page_operation, import_plan
from durastate._engines.sqlite.store_vectors import VectorIndex
from durastate.store.base import Namespace, PreparedBatch, StoreBase
from durastate.store.executors import CursorPages
from durastate.store.transfer import ExportedItem, ImportPlan


def store_context(store: StoreBase, deserializer: Deserializer | None) -> StoreContext:
    """The engine's view of a store: index, vector index, value decoder."""
    settings = store.index_settings
    return StoreContext(settings, VectorIndex(settings.dims) if settings else None, deserializer)


class SqliteStoreOps:
    """The SQLite store's work as operations and plans over one store context."""

    def __init__(self, context: StoreContext) -> None:
        self.context = context

    def batch(self, batch: PreparedBatch) -> Plan[list[Result]]:
        return batch_plan(self.context, batch)

    def after_write(self, written: int) -> None:
        return None

    def sweep(self) -> Plan[int]:
        return sweep_plan()

    def exporter(self, namespace_prefix: Namespace, batch_size: int) -> CursorPages[Cursor]:
        deserializer = self.context.deserializer

        def read(after: Cursor) -> Operation[tuple[list[ExportedItem], Cursor]]:
            return export_page_operation(
                namespace_prefix, after, batch_size, time.time(), deserializer
            )

        return CursorPages(read, batch_size)

    def import_items(self, plan: ImportPlan) -> Plan[int]:
        return import_plan(plan)
