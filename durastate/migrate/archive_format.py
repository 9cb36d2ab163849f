"""The durastate archive: gzip'd, length-prefixed msgpack records behind a versioned header.

Layout (version 1): a gzip stream of records, each a 4-byte big-endian length followed by
one msgpack map. The first record is the header ``{"format": "durastate-archive",
"version": 1, ...}``; then per thread a ``thread`` record followed by its ``checkpoint``
records (oldest first within each namespace); then ``item`` records; the last record is
``end`` with the counts, so a truncated archive is detected. Channel values, metadata and
pending writes are kept as the serializer's ``(type, bytes)`` pairs, byte for byte.
"""

from __future__ import annotations

import gzip
import json
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
import ormsgpack
from langgraph.checkpoint.base import Checkpoint, CheckpointMetadata, CheckpointTuple
from langgraph.checkpoint.serde.base import SerializerProtocol

from durastate.cache.base import CacheEntry, encode_namespace
from durastate.errors import DurastateError
from durastate.migrate.digest import checkpoint_key, parent_id
from durastate.migrate.threads import thread_config
from durastate.store.transfer import ExportedItem, ExportedVector

FORMAT = "durastate-archive"
VERSION = 1
_LENGTH = struct.Struct(">I")


class ArchiveError(DurastateError):
    """A file is not a durastate archive, is damaged, or has a version this code cannot read."""


def _pair(typed: tuple[str, bytes]) -> list[Any]:
    return [typed[0], typed[1]]


def _typed(value: Any, where: str) -> tuple[str, bytes]:
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[1], bytes)):
        raise ArchiveError(f"damaged archive: {where} is not a (type, bytes) pair")
    return str(value[0]), value[1]


class RecordWriter:
    """Writes records into a gzip stream."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._out = gzip.GzipFile(fileobj=stream, mode="wb", compresslevel=6, mtime=0)

    def write(self, record: dict[str, Any]) -> None:
        data = ormsgpack.packb(record)
        self._out.write(_LENGTH.pack(len(data)))
        self._out.write(data)

    def close(self) -> None:
        self._out.close()


def header(**about: Any) -> dict[str, Any]:
    return {"type": "header", "format": FORMAT, "version": VERSION, **about}


_EOF = object()


def _next(stream: gzip.GzipFile, path: Path) -> Any:
    """The next record, or ``_EOF`` at a clean end of the stream."""
    raw = stream.read(_LENGTH.size)
    if not raw:
        return _EOF
    if len(raw) != _LENGTH.size:
        raise ArchiveError(f"{path}: the archive is truncated (a record is cut short)")
    size = _LENGTH.unpack(raw)[0]
    data = stream.read(size)
    if len(data) != size:
        raise ArchiveError(f"{path}: the archive is truncated (a record is cut short)")
    return ormsgpack.unpackb(data)


@contextmanager
def _reading(path: Path) -> Iterator[gzip.GzipFile]:
    try:
        with gzip.open(path, "rb") as stream:
            yield stream
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ArchiveError(f"{path}: not a gzip-compressed durastate archive ({exc})") from None
    except ormsgpack.MsgpackDecodeError as exc:
        raise ArchiveError(f"{path}: damaged archive ({exc})") from None


def _first(stream: gzip.GzipFile, path: Path) -> dict[str, Any]:
    head = _next(stream, path)
    if head is _EOF:
        raise ArchiveError(f"{path}: empty, not a durastate archive")
    check_header(head, path)
    return cast(dict[str, Any], head)


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """The archive's records after its header, checked; the ``end`` record is not yielded."""
    with _reading(path) as stream:
        _first(stream, path)
        while True:
            record = _next(stream, path)
            if record is _EOF:
                raise ArchiveError(f"{path}: the archive is truncated (no end record)")
            if not isinstance(record, dict) or "type" not in record:
                raise ArchiveError(f"{path}: damaged archive (a record has no type)")
            if record["type"] == "end":
                return
            yield record


def read_header(path: Path) -> dict[str, Any]:
    """The header record (checked), without reading further."""
    with _reading(path) as stream:
        return _first(stream, path)


def check_header(head: Any, path: Path) -> None:
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise ArchiveError(f"{path}: not a durastate archive (no {FORMAT!r} header)")
    version = head.get("version")
    if version != VERSION:
        raise ArchiveError(
            f"{path}: archive format version {version!r} is not supported: this durastate "
            f"reads version {VERSION}; upgrade durastate to import it"
        )


def checkpoint_record(
    thread_id: str, tup: CheckpointTuple, serde: SerializerProtocol
) -> dict[str, Any]:
    ns, cid = checkpoint_key(tup)
    bare = {k: v for k, v in tup.checkpoint.items() if k != "channel_values"}
    values = tup.checkpoint.get("channel_values") or {}
    return {
        "type": "checkpoint",
        "thread_id": thread_id,
        "checkpoint_ns": ns,
        "checkpoint_id": cid,
        "parent_id": parent_id(tup),
        "checkpoint": _pair(serde.dumps_typed(bare)),
        "channels": {ch: _pair(serde.dumps_typed(v)) for ch, v in values.items()},
        "metadata": _pair(serde.dumps_typed(dict(tup.metadata or {}))),
        "writes": [
            [task, channel, *serde.dumps_typed(value)]
            for task, channel, value in tup.pending_writes or ()
        ],
    }


def checkpoint_from_record(record: dict[str, Any], serde: SerializerProtocol) -> CheckpointTuple:
    tid, ns, cid = record["thread_id"], record["checkpoint_ns"], record["checkpoint_id"]
    where = f"checkpoint {cid} of thread {tid!r}"
    checkpoint = dict(serde.loads_typed(_typed(record["checkpoint"], where)))
    checkpoint["channel_values"] = {
        ch: serde.loads_typed(_typed(v, f"channel {ch!r} of {where}"))
        for ch, v in record["channels"].items()
    }
    writes = [
        (task, channel, serde.loads_typed((typ, data)))
        for task, channel, typ, data in record["writes"]
    ]
    parent = record.get("parent_id")
    return CheckpointTuple(
        config=thread_config(tid, ns, cid),
        checkpoint=cast(Checkpoint, checkpoint),
        metadata=cast(CheckpointMetadata, serde.loads_typed(_typed(record["metadata"], where))),
        parent_config=thread_config(tid, ns, parent) if parent else None,
        pending_writes=writes,
    )


def item_record(item: ExportedItem) -> dict[str, Any]:
    return {
        "type": "item",
        "namespace": list(item.namespace),
        "key": item.key,
        "value": json.dumps(item.value, ensure_ascii=False, separators=(",", ":")),
        "created_at": float(item.created_at),
        "updated_at": float(item.updated_at),
        "expires_at": item.expires_at,
        "ttl_minutes": item.ttl_minutes,
        "vectors": None
        if item.vectors is None
        else [[v.field, np.asarray(v.vector, dtype="<f4").tobytes()] for v in item.vectors],
    }


def cache_record(entry: CacheEntry) -> dict[str, Any]:
    return {
        "type": "cache",
        "namespace": list(entry.namespace),
        "key": entry.key,
        "value": [entry.type, entry.data],
        "expires_at": entry.expires_at,
    }


def cache_from_record(record: dict[str, Any]) -> CacheEntry:
    namespace = tuple(record["namespace"])
    typ, data = _typed(record["value"], f"cache entry {record.get('key')!r}")
    return CacheEntry(
        namespace, encode_namespace(namespace), record["key"], typ, data, None, record["expires_at"]
    )


def item_from_record(record: dict[str, Any]) -> ExportedItem:
    vectors = record.get("vectors")
    return ExportedItem(
        namespace=tuple(record["namespace"]),
        key=record["key"],
        value=json.loads(record["value"]),
        created_at=record["created_at"],
        updated_at=record["updated_at"],
        expires_at=record.get("expires_at"),
        ttl_minutes=record.get("ttl_minutes"),
        vectors=None
        if vectors is None
        else tuple(
            ExportedVector(field, np.frombuffer(data, dtype="<f4").astype(np.float32))
            for field, data in vectors
        ),
    )
