"""Channel values stored as deltas: a value that extends an earlier one keeps only what is new.

A growing message list serializes to the previous list's bytes behind a slightly
different header, plus the new messages. Such a value is stored as
``payload[:head] + base[skip:] + payload[head:]`` against the base row it extends, so a
thread's storage grows with what changed, not with the whole state at every step. A
full copy is stored at least every ``MAX_DEPTH`` versions, which bounds the rows a read
fetches; rows are immutable and their ids never reused, so a base named by id is
exactly the bytes it was when the delta was computed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from durastate.errors import DeserializationError

MAX_DEPTH = 16
"""Deltas in a chain before the next version is stored in full."""
MIN_SHARED = 128
"""Bytes a value must share with its base before a delta is worth storing."""
_HEADER_SLACK = 9
"""How many leading bytes of either value may differ (msgpack headers are at most 5)."""
DEFAULT_BUDGET = 64 * 1024 * 1024
"""Bytes of recently written values a process remembers as delta bases."""


def encode_delta(old: bytes, new: bytes) -> tuple[int, int, bytes] | None:
    """``(skip, head, payload)`` with ``new == payload[:head] + old[skip:] + payload[head:]``.

    None when ``new`` does not contain ``old`` (minus a short header) near its start.
    """
    if len(old) < MIN_SHARED:
        return None
    view = memoryview(old)
    for skip in range(min(_HEADER_SLACK, len(old) - MIN_SHARED) + 1):
        body = view[skip:]
        size = len(body)
        for head in range(min(_HEADER_SLACK, len(new) - size) + 1):
            if new.startswith(body, head):
                return skip, head, new[:head] + new[head + size :]
    return None


@dataclass(frozen=True, slots=True)
class BlobRow:
    """A stored channel value: full (``base_id`` None) or a delta against ``base_id``."""

    id: int
    type: str
    data: bytes
    base_id: int | None
    skip: int
    head: int


def _drop_front(pieces: deque[memoryview], count: int, blob_id: int) -> None:
    while count:
        if not pieces:
            raise DeserializationError(f"stored value #{blob_id} is shorter than its delta says")
        first = pieces[0]
        if len(first) <= count:
            count -= len(first)
            pieces.popleft()
        else:
            pieces[0] = first[count:]
            count = 0


class Materializer:
    """Rebuilds full values from rows fetched together (a checkpoint or a page of them)."""

    def __init__(self, rows: Iterable[BlobRow]) -> None:
        self.rows: dict[int, BlobRow] = {row.id: row for row in rows}
        self._done: dict[int, bytes] = {}

    def warm(self) -> None:
        """Rebuild every row oldest first, so each delta starts from its rebuilt base."""
        for blob_id in sorted(self.rows):
            self.full(blob_id)

    def full(self, blob_id: int) -> bytes:
        done = self._done.get(blob_id)
        if done is not None:
            return done
        chain: list[BlobRow] = []
        current = blob_id
        while current not in self._done:
            row = self.rows.get(current)
            if row is None:
                raise DeserializationError(
                    f"stored value #{blob_id} needs value #{current}, which is missing"
                )
            if row.base_id is None:
                self._done[current] = row.data
                break
            chain.append(row)
            current = row.base_id
        pieces: deque[memoryview] = deque([memoryview(self._done[current])])
        for row in reversed(chain):
            _drop_front(pieces, row.skip, row.id)
            payload = memoryview(row.data)
            pieces.appendleft(payload[: row.head])
            pieces.append(payload[row.head :])
        result = b"".join(pieces) if chain else self._done[current]
        self._done[blob_id] = result
        return result


@dataclass(frozen=True, slots=True)
class Known:
    """A value this process wrote (or verified), usable as a delta base by its row id."""

    blob_id: int
    type: str
    data: bytes
    depth: int


@dataclass(frozen=True, slots=True)
class BlobWrite:
    """How one channel value will be written: in full, or as a delta against ``base``."""

    channel: str
    version: str
    type: str
    data: bytes
    """The full serialized value."""
    base: Known | None = None
    skip: int = 0
    head: int = 0
    payload: bytes = b""

    @property
    def depth(self) -> int:
        return 0 if self.base is None else self.base.depth + 1


def plan_write(channel: str, version: str, typ: str, data: bytes, known: Known | None) -> BlobWrite:
    """Write as a delta when the last known value of the channel is a prefix of this one."""
    if known is not None and known.type == typ and known.depth < MAX_DEPTH:
        delta = encode_delta(known.data, data)
        if delta is not None:
            skip, head, payload = delta
            return BlobWrite(channel, version, typ, data, known, skip, head, payload)
    return BlobWrite(channel, version, typ, data)


BaseKey = tuple[str, str, str]
"""(thread_id, checkpoint_ns, channel)."""


class DeltaBases:
    """The most recent value written per channel, kept within a byte budget (LRU)."""

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self.budget = budget
        self._entries: OrderedDict[BaseKey, Known] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: BaseKey) -> Known | None:
        with self._lock:
            known = self._entries.get(key)
            if known is not None:
                self._entries.move_to_end(key)
            return known

    def lookup(self, thread_id: str, ns: str, channels: Iterable[str]) -> dict[str, Known]:
        found = {}
        for channel in channels:
            known = self.get((thread_id, ns, channel))
            if known is not None:
                found[channel] = known
        return found

    def remember(self, items: Mapping[BaseKey, Known]) -> None:
        with self._lock:
            for key, known in items.items():
                old = self._entries.pop(key, None)
                if old is not None:
                    self._bytes -= len(old.data)
                if len(known.data) > self.budget:
                    continue
                self._entries[key] = known
                self._bytes += len(known.data)
            while self._bytes > self.budget and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped.data)

    def forget_threads(self, thread_ids: Iterable[str] | None) -> None:
        """Drop entries of these threads (all entries when None)."""
        with self._lock:
            if thread_ids is None:
                self._entries.clear()
                self._bytes = 0
                return
            gone = set(thread_ids)
            for key in [k for k in self._entries if k[0] in gone]:
                self._bytes -= len(self._entries.pop(key).data)
