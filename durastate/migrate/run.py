"""``copy_data`` and ``verify``: the selection moved from a source into a backend, checked."""

from __future__ import annotations

import hashlib

from durastate.cache.base import CacheBase
from durastate.migrate.checkpoints import copy_thread
from durastate.migrate.digest import (
    checkpoint_key,
    core_digest,
    hash_value,
    item_digest,
    item_matches,
    thread_digest,
    write_digests,
)
from durastate.migrate.items import chunks, copy_items, imports_exactly, lookup, recent
from durastate.migrate.options import CopyOptions
from durastate.migrate.progress import progress_bar
from durastate.migrate.report import MAX_LISTED, CopyReport, VerifyReport
from durastate.migrate.sides import BackendSide, Source
from durastate.migrate.threads import fingerprints


def copy_data(source: Source, destination: BackendSide, options: CopyOptions) -> CopyReport:
    """Copy the selected threads and store items; idempotent, and resumable by re-running.

    Threads the destination lacks are copied whole; threads it holds part of identically
    (an interrupted copy) are completed; identical ones are left as they are. A thread or
    item holding different data is handled by ``options.on_conflict``; under ``error``
    it is left untouched and reported in the result (``report.conflicts``).
    """
    report = CopyReport()
    selection = options.selection
    if selection.checkpoints and destination.saver is not None:
        saver = destination.saver
        with progress_bar(options.progress, "threads", "thread") as bar:
            for thread_id, reader in source.threads(selection, report):
                result = copy_thread(saver, thread_id, reader, options.on_conflict)
                report.checkpoints_written += result.checkpoints
                report.writes_written += result.writes
                if result.outcome in ("conflict", "skipped"):
                    report.leave_thread(thread_id)
                if result.outcome == "conflict":
                    report.thread_conflict(thread_id)
                else:
                    name = f"threads_{result.outcome}"
                    setattr(report, name, getattr(report, name) + 1)
                bar.update()
                bar.note(f"{report.checkpoints_written} checkpoints")
    if selection.store and destination.store is not None:
        store = destination.store
        with progress_bar(options.progress, "items", "item") as bar:
            for prefix in selection.prefixes():
                copy_items(
                    recent(source.items(prefix, options.batch_size, report), selection),
                    store,
                    options.batch_size,
                    options.on_conflict,
                    options.reembed,
                    report,
                    bar.update,
                )
    if selection.caches and destination.cache is not None:
        cache = destination.cache
        if not isinstance(cache, CacheBase):
            raise TypeError(f"{type(cache).__name__} is not a durastate cache: cannot import")
        with progress_bar(options.progress, "cache", "entry") as bar:
            for chunk in chunks(source.cache_entries(options.batch_size, report), 500):
                report.cache_entries_copied += cache.import_entries(chunk)
                bar.update(len(chunk))
    return report


def verify(
    source: Source,
    destination: BackendSide,
    options: CopyOptions,
    excluded_threads: set[str] | frozenset[str] = frozenset(),
    excluded_items: set[tuple[tuple[str, ...], str]] | frozenset[tuple[tuple[str, ...], str]] = (
        frozenset()
    ),
) -> VerifyReport:
    """Compare the selection on both sides: checkpoint/write/item counts and digests.

    Threads and items in ``excluded_*`` (left different on purpose) are counted apart.
    """
    result = VerifyReport()
    src_total, dst_total = hashlib.sha256(), hashlib.sha256()
    scratch = CopyReport()
    selection = options.selection
    if selection.checkpoints and destination.saver is not None:
        for thread_id, reader in source.threads(selection, scratch):
            if thread_id in excluded_threads:
                result.excluded_threads += 1
                continue
            entries = []
            for tup in reader():
                ns, cid = checkpoint_key(tup)
                writes = write_digests(tup)
                entries.append((ns, cid, core_digest(tup), writes))
                result.checkpoints += 1
                result.writes += len(writes)
            held = fingerprints(destination.saver, thread_id)
            mine = thread_digest(entries)
            theirs = thread_digest((ns, cid, c, w) for (ns, cid), (c, w) in held.items())
            src_total.update(mine.encode())
            dst_total.update(theirs.encode())
            result.threads += 1
            if mine != theirs:
                result.thread_mismatches += 1
                if len(result.mismatched_threads) < MAX_LISTED:
                    result.mismatched_threads.append(thread_id)
    if selection.store and destination.store is not None:
        exact = imports_exactly(destination.store)
        for prefix in selection.prefixes():
            items = recent(source.items(prefix, options.batch_size, scratch), selection)
            for chunk in chunks(items, options.batch_size):
                found = lookup(destination.store, chunk)
                for item, held_item in zip(chunk, found, strict=True):
                    if (item.namespace, item.key) in excluded_items:
                        result.excluded_items += 1
                        continue
                    result.items += 1
                    src_total.update(item_digest(item))
                    if held_item is not None:
                        dst_total.update(
                            hash_value([list(held_item.namespace), held_item.key, held_item.value])
                        )
                    if not item_matches(item, held_item, timestamps=exact):
                        result.item_mismatches += 1
                        if len(result.mismatched_items) < MAX_LISTED:
                            result.mismatched_items.append([list(item.namespace), item.key])
    result.source_digest = src_total.hexdigest()
    result.destination_digest = dst_total.hexdigest()
    return result
