"""The in-memory store's vectors: every indexed row of a store in one float32 matrix.

Rows of one item are contiguous and named by the item's first row; an update or delete
marks the old rows dead and appends new ones, and the table compacts itself when half of
it is dead. Each row also carries its item's namespace id and expiry, so a search scores
the whole matrix with one matrix-vector product and masks it with array operations.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from durastate.store.vectors import DistanceType, Matrix, normalized

_MIN_CAPACITY = 64


class VectorTable:
    """Rows of one width: raw vectors, unit-length copies, owner, namespace id, expiry."""

    def __init__(self, dims: int) -> None:
        self.dims = dims
        self.size = 0
        self.dead = 0
        self.multi = 0
        """Items with more than one row (scores then need max pooling)."""
        self._alloc(_MIN_CAPACITY)

    def _alloc(self, capacity: int) -> None:
        self.raw: Matrix = np.zeros((capacity, self.dims), dtype=np.float32)
        self.unit: Matrix = np.zeros((capacity, self.dims), dtype=np.float32)
        self.first: npt.NDArray[np.int64] = np.full(capacity, -1, dtype=np.int64)
        """Per row: the item's first row, or -1 for a dead row."""
        self.ns_id: npt.NDArray[np.int64] = np.zeros(capacity, dtype=np.int64)
        self.expires: npt.NDArray[np.float64] = np.full(capacity, np.inf, dtype=np.float64)
        self.owners: list[Any] = [None] * capacity
        """Per row: the item it belongs to (whatever the caller keeps)."""

    def _grow(self, needed: int) -> None:
        capacity = self.raw.shape[0]
        if needed <= capacity:
            return
        while capacity < needed:
            capacity *= 2
        old = (self.raw, self.unit, self.first, self.ns_id, self.expires)
        owners = self.owners
        self._alloc(capacity)
        n = self.size
        self.raw[:n] = old[0][:n]
        self.unit[:n] = old[1][:n]
        self.first[:n] = old[2][:n]
        self.ns_id[:n] = old[3][:n]
        self.expires[:n] = old[4][:n]
        self.owners[:n] = owners[:n]

    def append(self, rows: Matrix, ns_id: int, expires: float | None, owner: Any) -> int:
        """Add one item's rows; answers its first row."""
        start = self.size
        count = rows.shape[0]
        self._grow(start + count)
        end = start + count
        self.raw[start:end] = rows
        self.unit[start:end] = normalized(rows)
        self.first[start:end] = start
        self.ns_id[start:end] = ns_id
        self.expires[start:end] = np.inf if expires is None else expires
        self.owners[start:end] = [owner] * count
        self.size = end
        if count > 1:
            self.multi += 1
        return start

    def extend(
        self,
        blocks: list[Matrix],
        ns_ids: list[int],
        expires: list[float | None],
        owners: list[Any],
    ) -> list[int]:
        """Add several items' rows at once; answers each item's first row."""
        counts = [b.shape[0] for b in blocks]
        start = self.size
        rows = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
        end = start + rows.shape[0]
        self._grow(end)
        starts = np.cumsum([start, *counts[:-1]])
        self.raw[start:end] = rows
        self.unit[start:end] = normalized(rows)
        self.first[start:end] = np.repeat(starts, counts)
        self.ns_id[start:end] = np.repeat(ns_ids, counts)
        self.expires[start:end] = np.repeat([np.inf if e is None else e for e in expires], counts)
        self.owners[start:end] = [o for o, c in zip(owners, counts, strict=True) for _ in range(c)]
        self.size = end
        self.multi += sum(1 for c in counts if c > 1)
        out: list[int] = starts.tolist()
        return out

    def remove(self, start: int, count: int) -> None:
        self.first[start : start + count] = -1
        self.owners[start : start + count] = [None] * count
        self.dead += count
        if count > 1:
            self.multi -= 1

    def set_expiry(self, start: int, count: int, expires: float | None) -> None:
        self.expires[start : start + count] = np.inf if expires is None else expires

    def needs_compaction(self) -> bool:
        return self.size >= _MIN_CAPACITY and self.dead * 2 > self.size

    def compact(self) -> dict[int, int]:
        """Drop dead rows; answers old first row -> new first row for every live item."""
        n = self.size
        keep = np.flatnonzero(self.first[:n] >= 0)
        old_first = self.first[keep]
        owners = [self.owners[i] for i in keep.tolist()]
        raw, unit, ns_id, expires = (
            self.raw[keep],
            self.unit[keep],
            self.ns_id[keep],
            self.expires[keep],
        )
        m = keep.shape[0]
        # New first row of each row: the position of its item's first row after the move.
        starts = np.flatnonzero(np.r_[True, old_first[1:] != old_first[:-1]]) if m else keep
        new_first = np.repeat(starts, np.diff(np.r_[starts, m])) if m else keep
        self._alloc(max(_MIN_CAPACITY, 2 * m))
        self.raw[:m] = raw
        self.unit[:m] = unit
        self.first[:m] = new_first
        self.ns_id[:m] = ns_id
        self.expires[:m] = expires
        self.owners[:m] = owners
        self.size = m
        self.dead = 0
        return {int(old_first[s]): int(s) for s in starts}

    def item_scores(
        self,
        query: Matrix,
        distance: DistanceType,
        ns_mask: npt.NDArray[np.bool_] | None,
        now: float | None,
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """Per live item in the masked namespaces: its best score and its first row."""
        n = self.size
        first = self.first[:n]
        mask = first >= 0
        if ns_mask is not None:
            mask &= ns_mask[self.ns_id[:n]]
        if now is not None:
            mask &= self.expires[:n] > now
        rows = np.flatnonzero(mask)
        if rows.shape[0] == 0:
            return np.zeros(0, dtype=np.float32), rows.astype(np.int64)
        q = query.reshape(-1)
        # einsum rather than BLAS: BLAS rounds a row differently depending on where it sits
        # in the matrix, so equal vectors would not tie (and lose the newest-first order).
        if distance == "cosine":
            flat = np.einsum("ij,j->i", self.unit[:n], normalized(q.reshape(1, -1)).reshape(-1))
        elif distance == "inner_product":
            flat = np.einsum("ij,j->i", self.raw[:n], q)
        else:
            diff = self.raw[:n] - q
            flat = -np.sqrt(np.einsum("ij,ij->i", diff, diff))
        picked = flat[rows].astype(np.float32, copy=False)
        owners = first[rows]
        if self.multi == 0:
            return picked, owners
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        return np.maximum.reduceat(picked, starts).astype(np.float32, copy=False), owners[starts]
