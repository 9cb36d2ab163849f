"""Engine-independent checkpointer logic: config parsing, write preparation, tuple assembly."""

from __future__ import annotations

import copy
import json
import random
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    PendingWrite,
    get_checkpoint_metadata,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol, maybe_add_typed_methods

from durastate._limits import check_name_size
from durastate.errors import DeserializationError, InvalidInputError, SerializationError
from durastate.serde import apply_allowlist, default_serializer, serialization_error_with_prefix
from durastate.serde.plain_json import copy_in, json_without_nuls
from durastate.store.filters import json_equal

Blob = tuple[str, bytes]
"""A serialized value: (type string, bytes), as a serializer's ``dumps_typed`` returns it."""

EMPTY_BLOB: Blob = ("empty", b"")
"""Stored for a channel that has a new version but no value (it was cleared)."""

PruneStrategy = Literal["keep_latest", "delete"]


class CheckpointTTLConfig(TypedDict, total=False):
    """Thread retention for a checkpointer: threads expire after inactivity."""

    default_ttl: float
    """Minutes after its last write (or read, with refresh) before a thread expires."""
    refresh_on_read: bool
    """Whether reading a thread extends its expiry (default True)."""
    sweep_interval_minutes: float
    """How often the background sweeper deletes expired threads (default 5)."""


@dataclass(frozen=True, slots=True)
class CheckpointRef:
    """Where a checkpoint lives: thread, namespace and (optionally) its id."""

    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str | None

    def config(self, checkpoint_id: str | None = None) -> RunnableConfig:
        return {
            "configurable": {
                "thread_id": self.thread_id,
                "checkpoint_ns": self.checkpoint_ns,
                "checkpoint_id": checkpoint_id or self.checkpoint_id,
            }
        }


@dataclass(frozen=True, slots=True)
class PreparedBlob:
    """One channel value at one version, ready to store."""

    channel: str
    version: str
    type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class PreparedCheckpoint:
    """Everything ``put`` stores, already serialized."""

    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    parent_id: str | None
    checkpoint: Blob
    """The checkpoint without its channel values."""
    metadata: Blob
    """The metadata, serialized exactly."""
    metadata_json: str
    """The JSON-representable part of the metadata, for filtering."""
    blobs: tuple[PreparedBlob, ...]
    """Values of the channels that changed in this checkpoint."""
    channel_versions: Mapping[str, str]
    run_id: str | None
    created_at: float
    """Seconds since the epoch when ``put`` was called."""

    def result_config(self) -> RunnableConfig:
        return {
            "configurable": {
                "thread_id": self.thread_id,
                "checkpoint_ns": self.checkpoint_ns,
                "checkpoint_id": self.checkpoint_id,
            }
        }


@dataclass(frozen=True, slots=True)
class PreparedWrite:
    """One pending write of a task, ready to store."""

    task_id: str
    idx: int
    channel: str
    type: str
    data: bytes
    task_path: str

    @property
    def overwrites(self) -> bool:
        """Special writes (errors, interrupts, ...) replace; regular ones keep the first."""
        return self.idx < 0


@dataclass(frozen=True, slots=True)
class StoredWrite:
    """A pending write as an engine reads it back."""

    task_id: str
    channel: str
    type: str
    data: bytes
    task_path: str
    idx: int


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A checkpoint row as an engine reads it back, before decoding."""

    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    parent_id: str | None
    checkpoint: Blob
    metadata: Blob
    blobs: Mapping[str, Blob]
    """Channel name to value for the versions the checkpoint names."""
    writes: Sequence[StoredWrite]


def _text(value: Any, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return str(value)
    if value is not None and type(value).__name__ == "UUID":
        return str(value)
    raise InvalidInputError(f"{what} must be a string, got {type(value).__name__}: {value!r}")


def parse_config(config: RunnableConfig | None, *, need_id: bool = False) -> CheckpointRef:
    """Read thread, namespace and checkpoint id from a config, with clear errors."""
    if not config or not isinstance(config.get("configurable"), Mapping):
        raise InvalidInputError(
            "config['configurable'] is required: a mapping with at least a 'thread_id'"
        )
    conf = config["configurable"]
    if conf.get("thread_id") is None:
        raise InvalidInputError("config['configurable']['thread_id'] is required")
    thread_id = _text(conf["thread_id"], "config['configurable']['thread_id']")
    ns = conf.get("checkpoint_ns")
    checkpoint_ns = "" if ns is None else _text(ns, "config['configurable']['checkpoint_ns']")
    raw_id = conf.get("checkpoint_id")
    checkpoint_id = None if raw_id in (None, "") else _text(raw_id, "checkpoint_id")
    for label, text in (("thread_id", thread_id), ("checkpoint_ns", checkpoint_ns)):
        if "\x00" in text:
            raise InvalidInputError(f"config['configurable']['{label}'] must not contain NUL")
        check_name_size(text, f"config['configurable']['{label}']")
    if need_id and checkpoint_id is None:
        raise InvalidInputError("config['configurable']['checkpoint_id'] is required here")
    return CheckpointRef(thread_id, checkpoint_ns, checkpoint_id)


def list_scope(config: RunnableConfig | None) -> tuple[str | None, str | None, str | None]:
    """The (thread_id, checkpoint_ns, checkpoint_id) a ``list`` call is limited to.

    ``None`` means "any": no config lists every thread, an absent ``checkpoint_ns``
    lists every namespace, ``""`` only the root.
    """
    if config is None:
        return None, None, None
    conf = config.get("configurable") or {}
    thread = conf.get("thread_id")
    ns = conf.get("checkpoint_ns")
    cid = conf.get("checkpoint_id")
    return (
        None if thread is None else _text(thread, "thread_id"),
        None if ns is None else _text(ns, "checkpoint_ns"),
        None if cid in (None, "") else _text(cid, "checkpoint_id"),
    )


def before_id(before: RunnableConfig | None) -> str | None:
    """The checkpoint id that ``list(before=...)`` compares against."""
    if not before:
        return None
    cid = (before.get("configurable") or {}).get("checkpoint_id")
    return None if cid in (None, "") else _text(cid, "before checkpoint_id")


def check_limit(limit: int | None) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise InvalidInputError(f"limit must be an int or None, got {limit!r}")
    return max(limit, 0)


def check_filter(filter: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate a metadata filter: top-level keys, JSON values, equality."""
    if not filter:
        return {}
    if not isinstance(filter, Mapping):
        raise InvalidInputError(f"filter must be a mapping, got {type(filter).__name__}")
    out: dict[str, Any] = {}
    for key, value in filter.items():
        if not isinstance(key, str) or not key or "\x00" in key:
            raise InvalidInputError(f"filter key {key!r} must be a non-empty string without NUL")
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"filter value for {key!r} is not JSON: {exc}") from None
        out[key] = value
    return out


def metadata_matches(metadata: Mapping[str, Any], filter: Mapping[str, Any]) -> bool:
    """The reference semantics of ``list(filter=...)``: every key present and equal."""
    return all(k in metadata and json_equal(metadata[k], v) for k, v in filter.items())


def _jsonable(value: Any) -> Any:
    """The JSON projection of a metadata value, or a marker that it has none."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        return _NOT_JSON


_NOT_JSON = object()


def metadata_to_json(metadata: Mapping[str, Any]) -> str:
    """Metadata keys with JSON values, as text with NULs removed (Postgres rejects them)."""
    plain = copy_in(metadata)
    if plain is not None:
        # Only plain JSON types, finite, without NUL: every key kept, nothing to remove.
        return json.dumps(plain, ensure_ascii=False, separators=(",", ":"))
    out = {}
    for k, v in metadata.items():
        j = _jsonable(v)
        if j is not _NOT_JSON:
            out[k] = j
    return json_without_nuls(json.dumps(out, ensure_ascii=False, separators=(",", ":")))


def next_version(current: str | int | float | None) -> str:
    """Monotonic channel version: a zero-padded counter plus a random tie-breaker."""
    if current is None:
        n = 0
    elif isinstance(current, (int, float)):
        n = int(current)
    else:
        n = int(current.split(".", 1)[0])
    return f"{n + 1:032}.{random.random():016}"


def bound_dumps(serde: SerializerProtocol) -> Callable[[Any, str | None], Blob]:
    """``dumps_typed`` naming where the value is stored, for serializers that bind an
    encrypted value to its place (durastate's); others ignore the place."""
    bound = getattr(serde, "dumps_bound", None)
    if callable(bound):
        return cast(Callable[[Any, "str | None"], Blob], bound)
    plain = serde.dumps_typed
    return lambda value, place: plain(value)


def bound_loads(serde: SerializerProtocol) -> Callable[[Blob, str | None], Any]:
    """``loads_typed`` checking the place a bound value names (see ``bound_dumps``)."""
    bound = getattr(serde, "loads_bound", None)
    if callable(bound):
        return cast(Callable[[Blob, "str | None"], Any], bound)
    plain = serde.loads_typed
    return lambda blob, place: plain(blob)


def channel_place(channel: str, version: Any) -> str:
    return f"channel\x00{channel}\x00{version}"


def write_place(task_id: str, channel: str, idx: int) -> str:
    return f"write\x00{task_id}\x00{channel}\x00{idx}"


def checkpoint_place(checkpoint_id: str, part: str) -> str:
    """``part``: "checkpoint" or "metadata"."""
    return f"{part}\x00{checkpoint_id}"


def dumps_named(
    serde: SerializerProtocol, value: Any, label: str, place: str | None = None
) -> Blob:
    """Serialize, turning failures into an error that names where the value sits."""
    try:
        return bound_dumps(serde)(value, place)
    except SerializationError as exc:
        raise serialization_error_with_prefix(exc, label) from None
    except Exception as exc:
        raise SerializationError(f"{label}: {exc}", (label,)) from exc


def loads_named(serde: SerializerProtocol, blob: Blob, label: str, place: str | None = None) -> Any:
    """Deserialize, turning failures into an error that names the stored value."""
    try:
        return bound_loads(serde)(blob, place)
    except DeserializationError as exc:
        raise DeserializationError(f"{label}: {exc}") from exc
    except Exception as exc:
        raise DeserializationError(f"{label}: cannot decode stored value: {exc!r}") from exc


def _dumps(
    serde: SerializerProtocol, value: Any, label: Callable[[], str], place: str | None
) -> Blob:
    """``dumps_named`` with the label made only when serializing fails."""
    try:
        return bound_dumps(serde)(value, place)
    except Exception:
        return dumps_named(serde, value, label(), place)


def _loads(
    serde: SerializerProtocol, blob: Blob, label: Callable[[], str], place: str | None
) -> Any:
    """``loads_named`` with the label made only when decoding fails."""
    try:
        return bound_loads(serde)(blob, place)
    except Exception:
        return loads_named(serde, blob, label(), place)


def channel_serializer(
    serde: SerializerProtocol, checkpoint: Checkpoint
) -> Callable[[str], Blob | None]:
    """Serializes one channel's value of ``checkpoint`` on demand (None when it has none):
    for an unchanged channel whose stored value an engine finds missing at write time."""
    values = checkpoint.get("channel_values") or {}
    versions = checkpoint.get("channel_versions") or {}

    def serialize(channel: str) -> Blob | None:
        if channel not in values:
            return None
        place = channel_place(channel, versions.get(channel))
        return dumps_named(serde, values[channel], f"channel {channel!r}", place)

    return serialize


def prepare_checkpoint(
    serde: SerializerProtocol,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    new_versions: ChannelVersions,
) -> PreparedCheckpoint:
    """Serialize a ``put``: new channel blobs, the bare checkpoint and its metadata."""
    parts = checkpoint_parts(serde, config, checkpoint, metadata, new_versions)
    ref = parts.ref
    return PreparedCheckpoint(
        thread_id=ref.thread_id,
        checkpoint_ns=ref.checkpoint_ns,
        checkpoint_id=parts.checkpoint_id,
        parent_id=ref.checkpoint_id,
        checkpoint=parts.checkpoint,
        metadata=parts.metadata,
        metadata_json=metadata_to_json(parts.meta),
        blobs=tuple(PreparedBlob(*blob) for blob in parts.blobs),
        channel_versions=parts.channel_versions,
        run_id=parts.run_id,
        created_at=parts.created_at,
    )


@dataclass(slots=True)
class CheckpointParts:
    """What ``prepare_checkpoint`` makes, as plain values (for engines that keep their own
    records): the metadata as a dict, the blobs as (channel, version, type, data)."""

    ref: CheckpointRef
    checkpoint_id: str
    checkpoint: Blob
    metadata: Blob
    meta: dict[str, Any]
    """The metadata as stored (``writes`` left out); not to be changed."""
    blobs: list[tuple[str, str, str, bytes]]
    channel_versions: dict[str, str]
    run_id: str | None
    created_at: float


def checkpoint_parts(
    serde: SerializerProtocol,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    new_versions: ChannelVersions,
) -> CheckpointParts:
    """The work of ``prepare_checkpoint``, checks and errors included."""
    ref = parse_config(config)
    if (type(checkpoint) is not dict and not isinstance(checkpoint, Mapping)) or (
        "id" not in checkpoint
    ):
        raise InvalidInputError("checkpoint must be a Checkpoint mapping with an 'id'")
    checkpoint_id = _text(checkpoint["id"], "checkpoint['id']")
    values = checkpoint.get("channel_values") or {}
    dumps = bound_dumps(serde)
    blobs: list[tuple[str, str, str, bytes]] = []
    for channel, version in new_versions.items():
        if channel in values:
            place = channel_place(channel, version)
            try:
                typ, data = dumps(values[channel], place)
            except Exception:
                # Again through dumps_named for its error (labels only made on failure).
                typ, data = dumps_named(serde, values[channel], f"channel {channel!r}", place)
        else:
            typ, data = EMPTY_BLOB
        blobs.append((channel, str(version), typ, data))
    bare = {k: v for k, v in checkpoint.items() if k != "channel_values"}
    bare["channel_values"] = {}
    meta = get_checkpoint_metadata(config, metadata)
    meta_d = cast(dict[str, Any], meta)
    meta_d.pop("writes", None)
    run_id = meta_d.get("run_id")
    return CheckpointParts(
        ref,
        checkpoint_id,
        _dumps(
            serde,
            bare,
            lambda: f"checkpoint {checkpoint_id} of thread {ref.thread_id!r}",
            checkpoint_place(checkpoint_id, "checkpoint"),
        ),
        _dumps(
            serde,
            meta_d,
            lambda: f"metadata of checkpoint {checkpoint_id}",
            checkpoint_place(checkpoint_id, "metadata"),
        ),
        meta_d,
        blobs,
        {k: str(v) for k, v in checkpoint.get("channel_versions", {}).items()},
        None if run_id is None else str(run_id),
        time.time(),
    )


def metadata_view(metadata: dict[str, Any]) -> dict[str, Any]:
    """The JSON projection of metadata as a dict: ``json.loads(metadata_to_json(m))``."""
    plain = copy_in(metadata)
    if plain is not None:
        return plain
    view: dict[str, Any] = json.loads(metadata_to_json(metadata))
    return view


def prepare_writes(
    serde: SerializerProtocol,
    config: RunnableConfig,
    writes: Sequence[tuple[str, Any]],
    task_id: str,
    task_path: str = "",
) -> tuple[CheckpointRef, tuple[PreparedWrite, ...]]:
    """Serialize a ``put_writes``, giving each write its LangGraph index."""
    ref, rows = prepare_write_rows(serde, config, writes, task_id)
    return ref, tuple(
        PreparedWrite(task_id, idx, channel, typ, data, task_path)
        for idx, channel, typ, data in rows
    )


WriteRow = tuple[int, str, str, bytes]
"""A serialized pending write: LangGraph index, channel, type and data."""


def prepare_write_rows(
    serde: SerializerProtocol,
    config: RunnableConfig,
    writes: Sequence[tuple[str, Any]],
    task_id: str,
) -> tuple[CheckpointRef, list[WriteRow]]:
    """``prepare_writes`` as plain tuples (for engines that build their own records)."""
    ref = parse_config(config, need_id=True)
    if not isinstance(task_id, str):
        raise InvalidInputError(f"task_id must be a string, got {type(task_id).__name__}")
    out: list[WriteRow] = []
    dumps = bound_dumps(serde)
    for idx, item in enumerate(writes):
        try:
            channel, value = item
        except (TypeError, ValueError):
            raise InvalidInputError(f"write #{idx} must be a (channel, value) pair") from None
        if not isinstance(channel, str):
            raise InvalidInputError(f"write #{idx}: channel must be a string, got {channel!r}")
        index = WRITES_IDX_MAP.get(channel, idx)
        place = write_place(task_id, channel, index)
        try:
            typ, data = dumps(value, place)
        except Exception:
            # Again through dumps_named for its error (labels only made on failure).
            label = f"write to channel {channel!r} of task {task_id}"
            typ, data = dumps_named(serde, value, label, place)
        out.append((index, channel, typ, data))
    return ref, out


def sort_writes(writes: Iterable[StoredWrite]) -> list[StoredWrite]:
    """Pending writes in the order live execution applies them."""
    return sorted(writes, key=lambda w: writes_sort_key(w.task_path, w.task_id, w.idx))


def build_tuple(serde: SerializerProtocol, row: StoredCheckpoint) -> CheckpointTuple:
    """Decode a stored checkpoint with its blobs and pending writes into a tuple."""

    def where() -> str:
        return f"checkpoint {row.checkpoint_id} of thread {row.thread_id!r}"

    loads = bound_loads(serde)
    checkpoint = _loads(
        serde, row.checkpoint, where, checkpoint_place(row.checkpoint_id, "checkpoint")
    )
    if not isinstance(checkpoint, dict):
        raise DeserializationError(
            f"{where()}: the stored checkpoint decodes to a {type(checkpoint).__name__}, "
            "not a checkpoint"
        )
    metadata = _loads(
        serde,
        row.metadata,
        lambda: f"metadata of {where()}",
        checkpoint_place(row.checkpoint_id, "metadata"),
    )
    if not isinstance(metadata, dict):
        raise DeserializationError(
            f"metadata of {where()}: decodes to a {type(metadata).__name__}, not a mapping"
        )
    values = {}
    versions = checkpoint.get("channel_versions") or {}
    for channel, blob in row.blobs.items():
        if blob[0] != "empty":
            place = channel_place(channel, versions.get(channel))
            try:
                values[channel] = loads(blob, place)
            except Exception:
                # Again through loads_named for its error (labels only made on failure).
                label = f"channel {channel!r} of {where()}"
                values[channel] = loads_named(serde, blob, label, place)
    checkpoint["channel_values"] = values
    pending: list[PendingWrite] = []
    for w in sort_writes(row.writes) if len(row.writes) > 1 else row.writes:
        place = write_place(w.task_id, w.channel, w.idx)
        try:
            value = loads((w.type, w.data), place)
        except Exception:
            label = f"write to {w.channel!r} in {where()}"
            value = loads_named(serde, (w.type, w.data), label, place)
        pending.append((w.task_id, w.channel, value))
    parent = None
    if row.parent_id:
        parent = {
            "configurable": {
                "thread_id": row.thread_id,
                "checkpoint_ns": row.checkpoint_ns,
                "checkpoint_id": row.parent_id,
            }
        }
    return CheckpointTuple(
        config={
            "configurable": {
                "thread_id": row.thread_id,
                "checkpoint_ns": row.checkpoint_ns,
                "checkpoint_id": row.checkpoint_id,
            }
        },
        checkpoint=cast(Checkpoint, checkpoint),
        metadata=cast(CheckpointMetadata, metadata),
        parent_config=cast(RunnableConfig | None, parent),
        pending_writes=pending,
    )


def check_prune(strategy: str, keep: int) -> None:
    if strategy not in ("keep_latest", "delete"):
        raise InvalidInputError(
            f"unknown prune strategy {strategy!r}; use 'keep_latest' or 'delete'"
        )
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise InvalidInputError(f"keep must be a positive int, got {keep!r}")


@dataclass(frozen=True, slots=True)
class LineageRow:
    """The light view of a checkpoint that pruning decides on."""

    checkpoint_ns: str
    checkpoint_id: str
    parent_id: str | None
    delta_depth: int
    """Ancestors a delta channel of this checkpoint still needs (0 without delta channels)."""


def delta_depth(metadata: Mapping[str, Any]) -> int:
    """How many ancestors reconstructing this checkpoint's delta channels walks."""
    counters = metadata.get("counters_since_delta_snapshot") or {}
    depth = 0
    for pair in counters.values() if isinstance(counters, Mapping) else ():
        try:
            depth = max(depth, int(pair[1]))
        except (TypeError, ValueError, IndexError):
            continue
    return depth


def checkpoints_to_keep(rows: Iterable[LineageRow], keep: int) -> set[tuple[str, str]]:
    """(namespace, id) pairs that ``prune(strategy='keep_latest', keep=N)`` keeps.

    The newest ``keep`` checkpoints of each namespace survive, plus the ancestors
    their delta channels need to be rebuilt.
    """
    by_ns: dict[str, dict[str, LineageRow]] = {}
    for entry in rows:
        by_ns.setdefault(entry.checkpoint_ns, {})[entry.checkpoint_id] = entry
    kept: set[tuple[str, str]] = set()
    for ns, members in by_ns.items():
        for cid in sorted(members, reverse=True)[:keep]:
            current = members[cid]
            budget = current.delta_depth
            kept.add((ns, cid))
            while budget > 0 and current.parent_id in members:
                current = members[current.parent_id]
                kept.add((ns, current.checkpoint_id))
                budget -= 1
    return kept


def check_thread_ids(thread_ids: Sequence[str] | str, what: str = "thread_ids") -> list[str]:
    if isinstance(thread_ids, str):
        raise InvalidInputError(f"{what} must be a sequence of ids, not a single string")
    return [_text(t, "thread id") for t in thread_ids]


def ttl_seconds(ttl: CheckpointTTLConfig | None) -> float | None:
    """Thread lifetime in seconds from a TTL config (None: threads never expire)."""
    if not ttl or ttl.get("default_ttl") is None:
        return None
    minutes = ttl["default_ttl"]
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or minutes <= 0:
        raise InvalidInputError(f"ttl['default_ttl'] must be positive minutes, got {minutes!r}")
    return float(minutes) * 60.0


class CheckpointerBase(BaseCheckpointSaver[str]):
    """What every durastate checkpointer shares, whatever its engine.

    Beyond LangGraph's interface each backend offers retention: ``prune`` (keep the
    newest ``keep`` checkpoints per namespace, or delete all), ``delete_for_runs``,
    ``copy_thread``, ``delete_thread`` and an optional thread TTL (minutes of
    inactivity) with a sweeper.
    """

    ttl_config: CheckpointTTLConfig | None

    def __init__(
        self,
        *,
        serde: SerializerProtocol | None = None,
        ttl: CheckpointTTLConfig | None = None,
    ) -> None:
        super().__init__(serde=serde or default_serializer())
        self.ttl_config = dict(ttl) if ttl else None  # type: ignore[assignment]
        self._ttl_seconds = ttl_seconds(ttl)

    @property
    def refresh_on_read(self) -> bool:
        return bool(self._ttl_seconds) and bool(
            (self.ttl_config or {}).get("refresh_on_read", True)
        )

    @property
    def sweep_interval_seconds(self) -> float:
        minutes = (self.ttl_config or {}).get("sweep_interval_minutes") or 5
        return float(minutes) * 60.0

    def expires_at(self, now: float | None = None) -> float | None:
        """When a thread touched now expires (seconds since the epoch), or None."""
        if self._ttl_seconds is None:
            return None
        return (time.time() if now is None else now) + self._ttl_seconds

    def prune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: PruneStrategy | str = "keep_latest",
        keep: int = 1,
    ) -> None:
        """Keep the newest ``keep`` checkpoints per namespace (or delete all) of threads."""
        raise NotImplementedError

    async def aprune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: PruneStrategy | str = "keep_latest",
        keep: int = 1,
    ) -> None:
        """Async ``prune``."""
        raise NotImplementedError

    def get_next_version(self, current: str | None, channel: None = None) -> str:
        return next_version(current)

    def with_allowlist(self, extra_allowlist: Collection[tuple[str, ...]]) -> CheckpointerBase:
        serde = apply_allowlist(self.serde, extra_allowlist)
        if serde is self.serde:
            return self
        clone = copy.copy(self)
        clone.serde = maybe_add_typed_methods(serde)
        return clone
