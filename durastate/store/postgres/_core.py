"""What the sync and async Postgres stores share: ``PostgresStoreOps`` builds their operations."""

from __future__ import annotations

import time

from langgraph.store.base import Result

from durastate._engines.postgres.requests import Operation
from durastate._engines.postgres.store_ops import (
    AnalyzeSchedule,
    analyze_operation,
    batch_operation,
    sweep_operation,
)
from durastate._engines.postgres.store_rows import Deserializer, StoreContext
from durastate._engines.postgres.store_schema import vector_layout
from durastate._engines.postgres.store_transfer import (
    Cursor,
    export_page_operation,
    import_operation,
)
from durastate.store.base import Namespace, PreparedBatch, StoreBase
from durastate.store.executors import CursorPages
from durastate.store.transfer import ExportedItem, ImportPlan


def store_context(store: StoreBase, deserializer: Deserializer | None) -> StoreContext:
    """The engine's view of a store: schema, index, vector layout, value decoder."""
    settings = store.index_settings
    return StoreContext(
        schema=getattr(store, "schema", None),
        index=settings,
        layout=vector_layout(settings) if settings is not None else None,
        deserializer=deserializer,
    )


class PostgresStoreOps:
    """The Postgres store's work as operations over one store context."""

    def __init__(self, ctx: StoreContext, analyze: AnalyzeSchedule) -> None:
        self.ctx = ctx
        self.analyze = analyze

    def batch(self, batch: PreparedBatch) -> Operation[list[Result]]:
        batch.now = time.time()
        return batch_operation(self.ctx, batch)

    def after_write(self, written: int) -> Operation[None] | None:
        return analyze_operation(self.ctx) if self.analyze.due(written) else None

    def sweep(self) -> Operation[int]:
        return sweep_operation(self.ctx)

    def exporter(self, namespace_prefix: Namespace, batch_size: int) -> CursorPages[Cursor]:
        def read(after: Cursor) -> Operation[tuple[list[ExportedItem], Cursor]]:
            return export_page_operation(self.ctx, namespace_prefix, after, batch_size)

        return CursorPages(read, batch_size)

    def import_items(self, plan: ImportPlan) -> Operation[int]:
        return import_operation(self.ctx, plan)
