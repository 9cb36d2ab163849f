"""Reading and writing store items: exactly where the engine can, by the public API elsewhere."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from itertools import islice
from typing import Any, TypeVar

from langgraph.store.base import BaseStore, GetOp, Item

from durastate.migrate.digest import item_matches
from durastate.migrate.options import ConflictPolicy, Selection
from durastate.migrate.report import CopyReport
from durastate.store.base import StoreBase
from durastate.store.transfer import ExportedItem

T = TypeVar("T")
PAGE = 500


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def exports_exactly(store: BaseStore) -> bool:
    """Whether the store implements ``export_items`` (timestamps, TTL and vectors)."""
    return isinstance(store, StoreBase) and type(store).export_items is not StoreBase.export_items


def imports_exactly(store: BaseStore) -> bool:
    return isinstance(store, StoreBase) and type(store).import_items is not StoreBase.import_items


def timestamp(value: Any) -> float:
    """Epoch seconds of an item timestamp (a datetime, or ISO text as some stores give)."""
    if isinstance(value, (int, float)):
        return float(value)
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def by_search(store: BaseStore, prefix: tuple[str, ...]) -> Iterator[ExportedItem]:
    """Items through ``list_namespaces`` and ``search`` (no TTL or vectors to read)."""
    offset = 0
    while True:
        namespaces = store.list_namespaces(prefix=prefix or None, limit=PAGE, offset=offset)
        for ns in namespaces:
            start = 0
            while True:
                page = store.search(ns, limit=PAGE, offset=start)
                mine = (h for h in page if tuple(h.namespace) == tuple(ns))
                for hit in sorted(mine, key=lambda h: h.key):
                    yield ExportedItem(
                        tuple(hit.namespace),
                        hit.key,
                        hit.value,
                        timestamp(hit.created_at),
                        timestamp(hit.updated_at),
                    )
                if len(page) < PAGE:
                    break
                start += PAGE
        if len(namespaces) < PAGE:
            return
        offset += PAGE


def read_items(
    store: BaseStore, prefix: tuple[str, ...], batch_size: int, report: CopyReport | None = None
) -> Iterator[ExportedItem]:
    """Every live item at or under ``prefix``."""
    if exports_exactly(store):
        yield from store.export_items(prefix, batch_size=batch_size)  # type: ignore[attr-defined]
        return
    if report is not None:
        report.warn(
            f"{type(store).__name__} cannot export item TTLs or vectors: items are copied "
            "without a TTL and embedded again by the destination's index, if it has one"
        )
    yield from by_search(store, prefix)


def recent(items: Iterator[ExportedItem], selection: Selection) -> Iterator[ExportedItem]:
    """The items updated at or after ``selection.active_since`` (all when it is None)."""
    since = selection.active_since
    return items if since is None else (i for i in items if i.updated_at >= since)


def lookup(store: BaseStore, items: list[ExportedItem]) -> list[Item | None]:
    """The destination's current version of each item (reads never refresh a TTL)."""
    ops = [GetOp(i.namespace, i.key, refresh_ttl=False) for i in items]
    return store.batch(ops)  # type: ignore[return-value]


def write_items(
    store: BaseStore, items: list[ExportedItem], reembed: bool, report: CopyReport
) -> None:
    if not items:
        return
    if imports_exactly(store):
        store.import_items(items, reembed=reembed)  # type: ignore[attr-defined]
        return
    report.warn(
        f"{type(store).__name__} cannot import items exactly: their created_at/updated_at "
        "become the time of the copy"
    )
    for item in items:
        store.put(item.namespace, item.key, item.value, ttl=item.ttl_minutes)


def copy_items(
    source: Iterable[ExportedItem],
    store: BaseStore,
    options_batch: int,
    on_conflict: ConflictPolicy,
    reembed: bool,
    report: CopyReport,
    tick: Callable[[int], None] = lambda n: None,
) -> None:
    """Write the items the destination lacks or (``replace``) holds differently."""
    exact = imports_exactly(store)
    for chunk in chunks(source, options_batch):
        found = lookup(store, chunk)
        todo: list[ExportedItem] = []
        for item, held in zip(chunk, found, strict=True):
            if held is None:
                todo.append(item)
                report.items_copied += 1
            elif item_matches(item, held, timestamps=exact):
                report.items_unchanged += 1
            elif on_conflict == "replace":
                todo.append(item)
                report.items_replaced += 1
            elif on_conflict == "skip":
                report.items_skipped += 1
                report.leave_item(item.namespace, item.key)
            else:
                report.item_conflict(item.namespace, item.key)
                report.leave_item(item.namespace, item.key)
        write_items(store, todo, reembed, report)
        tick(len(chunk))
