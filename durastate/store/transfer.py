"""Store items as they move between backends: exact timestamps, lifetime and vectors.

``StoreBase.export_items`` yields ``ExportedItem``s and ``StoreBase.import_items`` writes
them back exactly; ``plan_import`` is the engine-independent half of an import (validation,
the choice between re-using the exported vectors and embedding again, deduplication).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langgraph.store.base import PutOp

from durastate.errors import InvalidInputError
from durastate.store.vectors import Matrix

if TYPE_CHECKING:
    from durastate.store.base import Namespace, PreparedBatch, PutRequest, StoreBase


@dataclass(frozen=True, slots=True)
class ExportedVector:
    """One stored embedding of an item: the field path it came from and its float32 row."""

    field: str
    vector: Matrix


@dataclass(frozen=True, slots=True)
class ExportedItem:
    """A store item with everything a backend keeps about it (times are epoch seconds)."""

    namespace: Namespace
    key: str
    value: dict[str, Any]
    created_at: float
    updated_at: float
    expires_at: float | None = None
    """When the item expires (absolute); None: never."""
    ttl_minutes: float | None = None
    """The lifetime a read refreshes to; None: no TTL."""
    vectors: tuple[ExportedVector, ...] | None = None
    """The item's embeddings; empty or None: none known (the importing store embeds)."""


@dataclass(slots=True)
class ImportPlan:
    """Items to write exactly, each with the ``PutRequest`` carrying its vectors."""

    batch: PreparedBatch
    items: list[tuple[ExportedItem, PutRequest]]


def _check_times(item: ExportedItem) -> None:
    for name in ("created_at", "updated_at"):
        value = getattr(item, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidInputError(
                f"{name} of {item.namespace!r}/{item.key!r} must be epoch seconds, got {value!r}"
            )


def plan_import(store: StoreBase, items: Iterable[ExportedItem], *, reembed: bool) -> ImportPlan:
    """Validate ``items`` and decide their vectors; embeddings still to be computed.

    An item keeps its exported vectors when it has some, ``reembed`` is false and the
    store either has no index or one of the same dimensions; otherwise the store's index
    (if any) embeds the item's fields as a ``put`` would.
    """
    from durastate.store.base import EmbeddedText, PreparedBatch

    batch = PreparedBatch(size=0, now=time.time())
    chosen: dict[tuple[Namespace, str], tuple[ExportedItem, PutRequest]] = {}
    settings = store.index_settings
    for item in items:
        _check_times(item)
        put = store._prepare_put(
            PutOp(item.namespace, item.key, item.value, index=None, ttl=item.ttl_minutes)
        )
        vectors = item.vectors or ()
        if (
            vectors
            and not reembed
            and (settings is None or all(v.vector.shape == (settings.dims,) for v in vectors))
        ):
            put.texts = ()
            put.embeddings = tuple(EmbeddedText(v.field, "", v.vector) for v in vectors)
        chosen.pop((put.namespace, put.key), None)
        chosen[(put.namespace, put.key)] = (item, put)
    batch.puts = [put for _, put in chosen.values()]
    return ImportPlan(batch, list(chosen.values()))


def import_expiry(item: ExportedItem) -> float | None:
    """The expiry to store: the exported one, or (TTL without expiry) one lifetime from now."""
    if item.expires_at is not None:
        return float(item.expires_at)
    if item.ttl_minutes is not None:
        return time.time() + item.ttl_minutes * 60.0
    return None


__all__ = ["ExportedItem", "ExportedVector", "ImportPlan", "import_expiry", "plan_import"]
