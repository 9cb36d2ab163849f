"""Store methods written once for every engine, blocking and async, over its ``StoreOps``.

An engine describes a batch, a sweep, an export page or an import as a ``Step``; the
blocking class runs steps with ``_run`` and the async class with ``await _arun`` (its
sync ``export_items`` / ``import_items`` run them on its loop).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any, Generic, Protocol, TypeVar

from langgraph.store.base import Result

from durastate._bridge import run_on_loop
from durastate._step import Step
from durastate.store.base import AsyncStore, Namespace, PreparedBatch, SyncStore
from durastate.store.transfer import ExportedItem, ImportPlan, plan_import

T = TypeVar("T")
P = TypeVar("P")
C = TypeVar("C")


class ExportPages(Protocol[P]):
    """The reads of one ``export_items`` call, as an engine pages through its items."""

    def next_operation(self) -> Step[P] | None:
        """The step reading the next part, or None when every item was given."""

    def accept(self, answer: P) -> list[ExportedItem]:
        """Record a step's answer; returns the items to give now (maybe none)."""


class CursorPages(Generic[C]):
    """Export pages read after a cursor, until a short page or one without a next cursor."""

    def __init__(
        self,
        read: Callable[[C | None], Step[tuple[list[ExportedItem], C | None]]],
        batch_size: int,
    ) -> None:
        self.read = read
        self.batch_size = batch_size
        self.after: C | None = None
        self.done = False

    def next_operation(self) -> Step[tuple[list[ExportedItem], C | None]] | None:
        return None if self.done else self.read(self.after)

    def accept(self, answer: tuple[list[ExportedItem], C | None]) -> list[ExportedItem]:
        items, self.after = answer
        self.done = self.after is None or len(items) < self.batch_size
        return items


class StoreOps(Protocol):
    """An engine's store work as steps; None where there is nothing to do."""

    def batch(self, batch: PreparedBatch) -> Step[list[Result]]: ...

    def after_write(self, written: int) -> Step[Any] | None:
        """Upkeep due after ``written`` more items were written (statistics), or None."""

    def sweep(self) -> Step[int]: ...

    def exporter(self, namespace_prefix: Namespace, batch_size: int) -> ExportPages[Any]: ...

    def import_items(self, plan: ImportPlan) -> Step[int]: ...


class OpsStore(SyncStore):
    """A blocking store over an engine's ``StoreOps``; engines give ``_ops`` and ``_run``."""

    _ops: StoreOps

    def _run(self, op: Step[T]) -> T:
        """Run one step on the engine, blocking until it answers."""
        raise NotImplementedError

    def _ensure_ready(self) -> None:
        """Create what the engine needs before the first write (nothing by default)."""

    def _after_write(self, written: int) -> None:
        op = self._ops.after_write(written)
        if op is not None:
            self._run(op)

    def run_batch(self, batch: PreparedBatch) -> list[Result]:
        self._ensure_ready()
        results = self._run(self._ops.batch(batch))
        self._after_write(len(batch.puts))
        return results

    def sweep_ttl(self) -> int:
        return self._run(self._ops.sweep())

    def export_items(
        self, namespace_prefix: Namespace = (), *, batch_size: int = 500
    ) -> Iterator[ExportedItem]:
        pages = self._ops.exporter(namespace_prefix, batch_size)
        while (op := pages.next_operation()) is not None:
            yield from pages.accept(self._run(op))

    def import_items(self, items: Iterable[ExportedItem], *, reembed: bool = False) -> int:
        self._ensure_ready()
        plan = plan_import(self, items, reembed=reembed)
        self.embed_sync(plan.batch)
        written = self._run(self._ops.import_items(plan))
        self._after_write(written)
        return written


class AsyncOpsStore(AsyncStore):
    """An async store over an engine's ``StoreOps``; engines give ``_ops`` and ``_arun``."""

    _ops: StoreOps

    async def _arun(self, op: Step[T]) -> T:
        """Run one step on the engine."""
        raise NotImplementedError

    async def _ensure_ready(self) -> None:
        """Create what the engine needs before the first write (nothing by default)."""

    async def _after_write(self, written: int) -> None:
        op = self._ops.after_write(written)
        if op is not None:
            await self._arun(op)

    async def arun_batch(self, batch: PreparedBatch) -> list[Result]:
        await self._ensure_ready()
        results = await self._arun(self._ops.batch(batch))
        await self._after_write(len(batch.puts))
        return results

    async def sweep_ttl(self) -> int:
        return await self._arun(self._ops.sweep())

    async def aexport_items(
        self, namespace_prefix: Namespace = (), *, batch_size: int = 500
    ) -> AsyncIterator[ExportedItem]:
        """``export_items`` on the event loop."""
        pages = self._ops.exporter(namespace_prefix, batch_size)
        while (op := pages.next_operation()) is not None:
            for item in pages.accept(await self._arun(op)):
                yield item

    async def aimport_items(self, items: Iterable[ExportedItem], *, reembed: bool = False) -> int:
        """``import_items`` on the event loop."""
        await self._ensure_ready()
        plan = plan_import(self, items, reembed=reembed)
        await self.embed_async(plan.batch)
        written = await self._arun(self._ops.import_items(plan))
        await self._after_write(written)
        return written

    def export_items(
        self, namespace_prefix: Namespace = (), *, batch_size: int = 500
    ) -> Iterator[ExportedItem]:
        pages = self._ops.exporter(namespace_prefix, batch_size)
        owner = type(self).__name__
        while (op := pages.next_operation()) is not None:
            yield from pages.accept(run_on_loop(self.loop, self._arun(op), owner))

    def import_items(self, items: Iterable[ExportedItem], *, reembed: bool = False) -> int:
        return run_on_loop(
            self.loop, self.aimport_items(list(items), reembed=reembed), type(self).__name__
        )
