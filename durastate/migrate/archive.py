"""Exporting a source into a durastate archive, and reading an archive back as a source."""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from itertools import zip_longest
from pathlib import Path
from typing import IO, Any

import ormsgpack
from langgraph.checkpoint.base import CheckpointTuple

from durastate.cache.base import CacheEntry
from durastate.migrate.archive_format import (
    RecordWriter,
    cache_from_record,
    cache_record,
    checkpoint_from_record,
    checkpoint_record,
    header,
    item_from_record,
    item_record,
    read_header,
    read_records,
)
from durastate.migrate.checkpoints import Checkpoints
from durastate.migrate.digest import (
    checkpoint_key,
    core_digest,
    item_digest,
    thread_digest,
    write_digests,
)
from durastate.migrate.items import recent
from durastate.migrate.options import CopyOptions, Selection
from durastate.migrate.progress import progress_bar
from durastate.migrate.report import MAX_LISTED, CopyReport, VerifyReport
from durastate.migrate.sides import Source
from durastate.migrate.threads import checkpoint_time
from durastate.serde import default_serializer
from durastate.store.transfer import ExportedItem

_LENGTH = struct.Struct(">I")
SPOOL_BYTES = 16 * 1024 * 1024
"""A thread's records are held in memory up to this size while importing, then on disk."""


@dataclass
class ArchiveReport:
    """What an export wrote."""

    threads: int = 0
    checkpoints: int = 0
    writes: int = 0
    items: int = 0
    cache_entries: int = 0
    bytes: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def export_archive(
    source: Source, path: Path, options: CopyOptions, about: dict[str, Any]
) -> tuple[ArchiveReport, CopyReport]:
    """Write the selection into ``path`` (atomically: a failed export leaves no file)."""
    serde = default_serializer()
    written = ArchiveReport()
    notes = CopyReport()
    selection = options.selection
    batch = options.batch_size
    fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as raw:
            out = RecordWriter(raw)
            out.write(header(**about))
            if selection.checkpoints:
                with progress_bar(options.progress, "threads", "thread") as bar:
                    for thread_id, reader in source.threads(selection, notes):
                        out.write({"type": "thread", "thread_id": thread_id})
                        written.threads += 1
                        for tup in reader():
                            out.write(checkpoint_record(thread_id, tup, serde))
                            written.checkpoints += 1
                            written.writes += len(tup.pending_writes or ())
                        bar.update()
            if selection.store:
                with progress_bar(options.progress, "items", "item") as bar:
                    for prefix in selection.prefixes():
                        for item in recent(source.items(prefix, batch, notes), selection):
                            out.write(item_record(item))
                            written.items += 1
                            bar.update()
            if selection.caches:
                for entry in source.cache_entries(options.batch_size, notes):
                    out.write(cache_record(entry))
                    written.cache_entries += 1
            out.write(
                {
                    "type": "end",
                    "threads": written.threads,
                    "checkpoints": written.checkpoints,
                    "items": written.items,
                }
            )
            out.close()
        os.replace(partial, path)
    except BaseException:
        if os.path.exists(partial):
            os.unlink(partial)
        raise
    written.bytes = path.stat().st_size
    return written, notes


class _Spool:
    """One thread's checkpoint records, re-readable (memory, then a temporary file)."""

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)

    def add(self, record: dict[str, Any]) -> None:
        data = ormsgpack.packb(record)
        self._file.write(_LENGTH.pack(len(data)))
        self._file.write(data)

    def records(self) -> Iterator[dict[str, Any]]:
        self._file.seek(0)
        while raw := self._file.read(_LENGTH.size):
            yield ormsgpack.unpackb(self._file.read(_LENGTH.unpack(raw)[0]))

    def close(self) -> None:
        self._file.close()


class ArchiveSource:
    """An archive file read as a ``Source`` (for ``durastate import``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.header = read_header(path)
        self._serde = default_serializer()

    def _reader(self, spool: _Spool) -> Checkpoints:
        def read() -> Iterator[CheckpointTuple]:
            for record in spool.records():
                yield checkpoint_from_record(record, self._serde)

        return read

    def _recent(self, spool: _Spool, selection: Selection) -> bool:
        """Whether the spooled thread has a checkpoint at or after ``active_since``."""
        if selection.active_since is None:
            return True
        times = [checkpoint_time(tup) for tup in self._reader(spool)()]
        known = [t for t in times if t is not None]
        return not known or max(known) >= selection.active_since

    def threads(
        self, selection: Selection, report: CopyReport
    ) -> Iterator[tuple[str, Checkpoints]]:
        wanted = set(selection.thread_ids)
        found: set[str] = set()
        current: str | None = None
        spool: _Spool | None = None
        for record in read_records(self.path):
            kind = record["type"]
            if kind == "checkpoint":
                if spool is not None and record.get("thread_id") == current:
                    spool.add(record)
                continue
            if spool is not None and current is not None:
                try:
                    if self._recent(spool, selection):
                        yield current, self._reader(spool)
                finally:
                    spool.close()
                spool = None
            if kind != "thread":
                break
            current = str(record["thread_id"])
            if not wanted or current in wanted:
                found.add(current)
                spool = _Spool()
        if spool is not None and current is not None:
            try:
                if self._recent(spool, selection):
                    yield current, self._reader(spool)
            finally:
                spool.close()
        for missing in sorted(wanted - found):
            report.warn(f"thread {missing!r} is not in the archive")

    def items(
        self, prefix: tuple[str, ...], batch_size: int, report: CopyReport
    ) -> Iterator[ExportedItem]:
        n = len(prefix)
        for record in read_records(self.path):
            if record["type"] == "item" and tuple(record["namespace"][:n]) == prefix:
                yield item_from_record(record)

    def cache_entries(self, batch_size: int, report: CopyReport) -> Iterator[CacheEntry]:
        for record in read_records(self.path):
            if record["type"] == "cache":
                yield cache_from_record(record)


def verify_archive(source: Source, archive: ArchiveSource, options: CopyOptions) -> VerifyReport:
    """Compare a written archive with its source, thread by thread and item by item."""
    result = VerifyReport()
    src_total, dst_total = hashlib.sha256(), hashlib.sha256()
    scratch = CopyReport()
    selection = options.selection

    def mismatch_thread(thread_id: str) -> None:
        result.thread_mismatches += 1
        if len(result.mismatched_threads) < MAX_LISTED:
            result.mismatched_threads.append(thread_id)

    def digest(reader: Checkpoints) -> tuple[str, int, int]:
        entries = []
        writes = 0
        for tup in reader():
            ns, cid = checkpoint_key(tup)
            ws = write_digests(tup)
            writes += len(ws)
            entries.append((ns, cid, core_digest(tup), ws))
        return thread_digest(entries), len(entries), writes

    if selection.checkpoints:
        stored = {tid: digest(reader)[0] for tid, reader in archive.threads(selection, scratch)}
        for thread_id, reader in source.threads(selection, scratch):
            mine, count, writes = digest(reader)
            theirs = stored.pop(thread_id, "")
            result.threads += 1
            result.checkpoints += count
            result.writes += writes
            src_total.update(mine.encode())
            dst_total.update(theirs.encode())
            if mine != theirs:
                mismatch_thread(thread_id)
        for thread_id in stored:
            mismatch_thread(thread_id)
    if selection.store:
        for prefix in selection.prefixes():
            items = zip_longest(
                recent(source.items(prefix, options.batch_size, scratch), selection),
                recent(archive.items(prefix, options.batch_size, scratch), selection),
            )
            for item, held in items:
                result.items += item is not None
                if item is not None:
                    src_total.update(item_digest(item))
                if held is not None:
                    dst_total.update(item_digest(held))
                same = (
                    item is not None
                    and held is not None
                    and item_digest(item) == item_digest(held)
                    and (item.created_at, item.updated_at, item.ttl_minutes)
                    == (held.created_at, held.updated_at, held.ttl_minutes)
                )
                if not same:
                    result.item_mismatches += 1
                    shown = item or held
                    if shown is not None and len(result.mismatched_items) < MAX_LISTED:
                        result.mismatched_items.append([list(shown.namespace), shown.key])
    result.source_digest = src_total.hexdigest()
    result.destination_digest = dst_total.hexdigest()
    return result
