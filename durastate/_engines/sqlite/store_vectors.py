"""Semantic search with numpy: an in-process copy of the store's vectors, ranked exactly.

The copy is keyed by ``durastate_store_changes.counter``, which triggers bump whenever a
vector row is added or removed by any connection or process; a search reads the
counter in its own snapshot and reloads the copy only when it moved. Items rank by
their best-scoring vector (cosine similarity, negative L2 distance or inner product),
ties by ``updated_at`` newest first, then namespace, then key.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from durastate._engines.sqlite.requests import Body, Rows
from durastate._engines.sqlite.store_rows import SEP, encode_namespace
from durastate.errors import InvalidInputError
from durastate.store.base import Namespace
from durastate.store.vectors import DistanceType, Matrix, normalized, scores

_COUNTER = "SELECT counter FROM durastate_store_changes WHERE name = 'vectors'"
_LOAD = """
SELECT v.item_id, v.embedding, i.ns, i.key, i.updated_at
FROM durastate_store_vectors v JOIN durastate_store i ON i.id = v.item_id
ORDER BY v.item_id, v.seq
"""


@dataclass(frozen=True, slots=True)
class _Snapshot:
    counter: int
    ids: npt.NDArray[np.int64]
    """Item ids, one per item that has vectors."""
    starts: npt.NDArray[np.intp]
    """Index of each item's first vector row."""
    ns: npt.NDArray[np.str_]
    names: list[str]
    """The distinct namespace texts; ``codes`` indexes into them."""
    codes: npt.NDArray[np.intp]
    keys: npt.NDArray[np.str_]
    updated: npt.NDArray[np.float64]
    matrix: Matrix
    unit: Matrix
    """Rows scaled to unit length, for cosine similarity."""


def _empty(counter: int, dims: int) -> _Snapshot:
    return _Snapshot(
        counter,
        np.zeros(0, dtype=np.int64),
        np.zeros(0, dtype=np.intp),
        np.zeros(0, dtype=np.str_),
        [],
        np.zeros(0, dtype=np.intp),
        np.zeros(0, dtype=np.str_),
        np.zeros(0, dtype=np.float64),
        np.zeros((0, dims), dtype=np.float32),
        np.zeros((0, dims), dtype=np.float32),
    )


class VectorIndex:
    """The vectors of one store, reloaded when another writer changed them."""

    def __init__(self, dims: int) -> None:
        self.dims = dims
        self._snap: _Snapshot | None = None

    def current_body(self) -> Body[_Snapshot]:
        """The snapshot matching the database as this transaction sees it."""
        rows = yield Rows(_COUNTER)
        counter = int(rows[0][0]) if rows else 0
        snap = self._snap
        if snap is not None and snap.counter == counter:
            return snap
        loaded = yield Rows(_LOAD)
        snap = self._build(counter, loaded)
        self._snap = snap
        return snap

    def _build(self, counter: int, rows: list[tuple[Any, ...]]) -> _Snapshot:
        if not rows:
            return _empty(counter, self.dims)
        width = self.dims * 4
        for row in rows:
            if len(row[1]) != width:
                raise InvalidInputError(
                    f"a stored vector has {len(row[1]) // 4} dimensions but index['dims'] is "
                    f"{self.dims}; open the store with the dimensions it was written with"
                )
        owners = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        first = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").astype(np.float32)
        matrix = matrix.reshape(len(rows), self.dims)
        heads = [rows[i] for i in first]
        ns = np.array([r[2] for r in heads], dtype=np.str_)
        names, codes = np.unique(ns, return_inverse=True)
        return _Snapshot(
            counter,
            owners[first],
            first.astype(np.intp),
            ns,
            names.tolist(),
            codes.astype(np.intp),
            np.array([r[3] for r in heads], dtype=np.str_),
            np.array([r[4] for r in heads], dtype=np.float64),
            matrix,
            normalized(matrix),
        )


def _in_prefix(snap: _Snapshot, prefix: Namespace) -> npt.NDArray[np.bool_]:
    if not prefix:
        return np.ones(snap.ids.shape[0], dtype=bool)
    enc = encode_namespace(prefix)
    under = enc + SEP
    ok = np.array([n == enc or n.startswith(under) for n in snap.names], dtype=bool)
    result: npt.NDArray[np.bool_] = ok[snap.codes]
    return result


def best_scores(snap: _Snapshot, query: Matrix, distance: DistanceType) -> npt.NDArray[np.float32]:
    """Each item's highest score over its vectors."""
    if distance == "cosine":
        q = normalized(query.reshape(1, -1)).reshape(-1)
        flat: npt.NDArray[np.float32] = (snap.unit @ q).astype(np.float32, copy=False)
    else:
        flat = scores(snap.matrix, query, distance)
    best: npt.NDArray[np.float32] = np.maximum.reduceat(flat, snap.starts)
    return best


def ranked(
    snap: _Snapshot, query: Matrix, distance: DistanceType, prefix: Namespace, first: int
) -> Iterator[list[tuple[int, float]]]:
    """(item id, score) in rank order, in growing chunks (``first`` items, then doubling)."""
    count = snap.ids.shape[0]
    if count == 0:
        return
    best = best_scores(snap, query, distance)
    candidates = np.flatnonzero(_in_prefix(snap, prefix))
    if candidates.shape[0] == 0:
        return
    values = best[candidates]
    done = 0
    want = max(first, 1)
    total = candidates.shape[0]
    while done < total:
        take = min(want, total)
        if take < total:
            part = np.argpartition(-values, take - 1)[:take]
            kth = values[part].min()
            part = np.flatnonzero(values >= kth)
        else:
            part = np.arange(total)
        idx = candidates[part]
        order = np.lexsort((snap.keys[idx], snap.ns[idx], -snap.updated[idx], -best[idx]))
        chosen = idx[order][done:take]
        yield [(int(snap.ids[i]), float(best[i])) for i in chosen]
        done = take
        want *= 2
