"""What a copy did and what a verification found, as plain data (JSON-ready)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

MAX_LISTED = 50
"""Conflicts and mismatches listed by name at most; the counts are always exact."""


@dataclass
class CopyReport:
    """Counts of a copy. A thread or item is counted once, under what happened to it."""

    threads_copied: int = 0
    """Threads the destination did not have, copied whole."""
    threads_completed: int = 0
    """Threads the destination held part of (an interrupted copy), completed."""
    threads_unchanged: int = 0
    """Threads the destination already held identically."""
    threads_replaced: int = 0
    threads_skipped: int = 0
    thread_conflicts: int = 0
    conflicting_threads: list[str] = field(default_factory=list)
    checkpoints_written: int = 0
    writes_written: int = 0
    items_copied: int = 0
    items_unchanged: int = 0
    items_replaced: int = 0
    items_skipped: int = 0
    item_conflicts: int = 0
    conflicting_items: list[list[Any]] = field(default_factory=list)
    cache_entries_copied: int = 0
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._left_threads: set[str] = set()
        self._left_items: set[tuple[tuple[str, ...], str]] = set()

    def leave_thread(self, thread_id: str) -> None:
        """Remember a thread left different on the destination (skipped or refused)."""
        self._left_threads.add(thread_id)

    def leave_item(self, namespace: tuple[str, ...], key: str) -> None:
        self._left_items.add((tuple(namespace), key))

    def left_alone(self) -> tuple[set[str], set[tuple[tuple[str, ...], str]]]:
        """Threads and items left different on purpose, for ``verify`` to count apart."""
        return self._left_threads, self._left_items

    def thread_conflict(self, thread_id: str) -> None:
        self.thread_conflicts += 1
        if len(self.conflicting_threads) < MAX_LISTED:
            self.conflicting_threads.append(thread_id)

    def item_conflict(self, namespace: tuple[str, ...], key: str) -> None:
        self.item_conflicts += 1
        if len(self.conflicting_items) < MAX_LISTED:
            self.conflicting_items.append([list(namespace), key])

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    @property
    def conflicts(self) -> int:
        return self.thread_conflicts + self.item_conflicts

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class VerifyReport:
    """Source and destination compared: counts and content digests of the selection."""

    threads: int = 0
    checkpoints: int = 0
    writes: int = 0
    items: int = 0
    source_digest: str = ""
    destination_digest: str = ""
    excluded_threads: int = 0
    """Threads left different on purpose (``--on-conflict=skip`` or refused conflicts)."""
    excluded_items: int = 0
    mismatched_threads: list[str] = field(default_factory=list)
    mismatched_items: list[list[Any]] = field(default_factory=list)
    thread_mismatches: int = 0
    item_mismatches: int = 0

    @property
    def ok(self) -> bool:
        return not self.thread_mismatches and not self.item_mismatches

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}
