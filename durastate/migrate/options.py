"""What a copy selects and how it resolves a destination that already holds data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

ConflictPolicy = Literal["error", "skip", "replace"]
"""What to do with a destination thread or item holding different data:
``error`` leaves it and reports it (the copy fails), ``skip`` leaves it silently,
``replace`` overwrites it with the source's data."""

CONFLICT_POLICIES: tuple[ConflictPolicy, ...] = ("error", "skip", "replace")


@dataclass(frozen=True)
class Selection:
    """Which data to move. Empty ``thread_ids``: every thread; empty prefixes: every item."""

    thread_ids: Sequence[str] = ()
    namespace_prefixes: Sequence[tuple[str, ...]] = ()
    checkpoints: bool = True
    store: bool = True
    caches: bool = False
    """Node-cache entries too (off by default: a cache can be rebuilt)."""
    active_since: float | None = None
    """Only threads with a checkpoint, and items updated, at or after this epoch time."""

    def prefixes(self) -> list[tuple[str, ...]]:
        """The prefixes to export, without ones another selected prefix already covers."""
        chosen = sorted(set(self.namespace_prefixes)) or [()]
        return [p for p in chosen if not any(q != p and p[: len(q)] == q for q in chosen)]


@dataclass(frozen=True)
class CopyOptions:
    """How to copy: selection, conflict policy, batch size, vectors, progress display."""

    selection: Selection = field(default_factory=Selection)
    on_conflict: ConflictPolicy = "error"
    batch_size: int = 200
    reembed: bool = False
    """Embed items again on the destination even when their vectors fit its index."""
    progress: bool = False
