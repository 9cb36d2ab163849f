"""Copying one thread: whole, completing an interrupted copy, or refusing a conflict."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from langgraph.checkpoint.base import ChannelVersions, CheckpointTuple

from durastate.migrate.digest import checkpoint_key, core_digest, write_digests
from durastate.migrate.options import ConflictPolicy
from durastate.migrate.threads import (
    Fingerprint,
    Key,
    Saver,
    fingerprints,
    put_checkpoint,
    put_pending_writes,
)

Outcome = Literal["copied", "completed", "unchanged", "replaced", "skipped", "conflict"]
Checkpoints = Callable[[], Iterator[CheckpointTuple]]
"""Re-iterable: the source thread's checkpoints in copy order (oldest first per namespace)."""


@dataclass
class ThreadResult:
    outcome: Outcome
    checkpoints: int = 0
    writes: int = 0


def _plan(source: Checkpoints, held: dict[Key, Fingerprint]) -> tuple[bool, set[Key], int]:
    """(conflict?, checkpoints whose writes need completing, checkpoints missing)."""
    unseen = set(held)
    top_up: set[Key] = set()
    missing = 0
    for tup in source():
        key = checkpoint_key(tup)
        if key not in held:
            missing += 1
            continue
        unseen.discard(key)
        core, writes = held[key]
        if core != core_digest(tup):
            return True, set(), missing
        want = Counter(write_digests(tup))
        have = Counter(writes)
        if have - want:
            return True, set(), missing
        if want - have:
            top_up.add(key)
    return bool(unseen), top_up, missing


def _write(
    saver: Saver,
    thread_id: str,
    source: Checkpoints,
    skip: set[Key],
    top_up: set[Key],
    tick: Callable[[], None],
) -> tuple[int, int]:
    known: dict[str, ChannelVersions] = {}
    checkpoints = writes = 0
    for tup in source():
        key = checkpoint_key(tup)
        if key in skip:
            known[key[1]] = dict(tup.checkpoint.get("channel_versions", {}))
            if key in top_up:
                writes += put_pending_writes(saver, thread_id, tup)
            continue
        put_checkpoint(saver, thread_id, tup, known)
        writes += put_pending_writes(saver, thread_id, tup)
        checkpoints += 1
        tick()
    return checkpoints, writes


def copy_thread(
    saver: Saver,
    thread_id: str,
    source: Checkpoints,
    on_conflict: ConflictPolicy,
    tick: Callable[[], None] = lambda: None,
) -> ThreadResult:
    """Bring the destination's thread to the source's state, never duplicating anything.

    A destination holding nothing is copied whole; one holding an identical subset (an
    interrupted copy) is completed; one holding anything else is left alone unless
    ``on_conflict`` is ``replace`` (the destination thread is deleted and copied again).
    """
    held = fingerprints(saver, thread_id)
    if not held:
        done, writes = _write(saver, thread_id, source, set(), set(), tick)
        return ThreadResult("copied", done, writes)
    conflict, top_up, missing = _plan(source, held)
    if conflict:
        if on_conflict != "replace":
            return ThreadResult("skipped" if on_conflict == "skip" else "conflict")
        saver.delete_thread(thread_id)
        done, writes = _write(saver, thread_id, source, set(), set(), tick)
        return ThreadResult("replaced", done, writes)
    if not missing and not top_up:
        return ThreadResult("unchanged")
    done, writes = _write(saver, thread_id, source, set(held), top_up, tick)
    return ThreadResult("completed", done, writes)
