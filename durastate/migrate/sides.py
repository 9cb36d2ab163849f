"""Where data comes from and goes to: a backend's saver and store, read by public API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from langgraph.cache.base import BaseCache
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore

from durastate.cache.base import CacheBase, CacheEntry
from durastate.migrate.checkpoints import Checkpoints
from durastate.migrate.items import read_items
from durastate.migrate.options import Selection
from durastate.migrate.report import CopyReport
from durastate.migrate.threads import (
    checkpoint_keys,
    iter_checkpoints,
    last_activity,
    thread_ids,
)
from durastate.store.transfer import ExportedItem


class Source(Protocol):
    """Anything ``copy_data`` reads: a backend, or an archive being imported."""

    def threads(
        self, selection: Selection, report: CopyReport
    ) -> Iterator[tuple[str, Checkpoints]]:
        """Each selected thread with a re-iterable reader of its checkpoints."""
        ...

    def items(
        self, prefix: tuple[str, ...], batch_size: int, report: CopyReport
    ) -> Iterator[ExportedItem]:
        """The live store items at or under ``prefix``."""
        ...

    def cache_entries(self, batch_size: int, report: CopyReport) -> Iterator[CacheEntry]:
        """The live node-cache entries."""
        ...


@dataclass
class BackendSide:
    """A backend's checkpointer and store (either may be None: nothing of that kind)."""

    saver: BaseCheckpointSaver[Any] | None
    store: BaseStore | None
    cache: BaseCache[Any] | None = None

    def threads(
        self, selection: Selection, report: CopyReport
    ) -> Iterator[tuple[str, Checkpoints]]:
        saver = self.saver
        if saver is None:
            return
        if selection.thread_ids:
            wanted: Iterator[str] = iter(dict.fromkeys(selection.thread_ids))
        else:
            wanted = iter(thread_ids(saver))
        for tid in wanted:
            if selection.thread_ids and not checkpoint_keys(saver, tid):
                report.warn(f"thread {tid!r} has no checkpoints in the source")
                continue
            if selection.active_since is not None:
                when = last_activity(saver, tid)
                if when is not None and when < selection.active_since:
                    continue
            yield tid, _reader(saver, tid)

    def items(
        self, prefix: tuple[str, ...], batch_size: int, report: CopyReport
    ) -> Iterator[ExportedItem]:
        if self.store is None:
            return iter(())
        return read_items(self.store, prefix, batch_size, report)

    def cache_entries(self, batch_size: int, report: CopyReport) -> Iterator[CacheEntry]:
        cache = self.cache
        if cache is None:
            return iter(())
        if (
            not isinstance(cache, CacheBase)
            or type(cache).export_entries is CacheBase.export_entries
        ):
            report.warn(f"{type(cache).__name__} cannot list its entries: no cache entries copied")
            return iter(())
        return cache.export_entries(batch_size=batch_size)


def _reader(saver: BaseCheckpointSaver[Any], thread_id: str) -> Checkpoints:
    return lambda: iter_checkpoints(saver, thread_id)
