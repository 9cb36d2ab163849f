"""Vector maths on float32 numpy arrays: scoring per distance type and top-k."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

DistanceType = Literal["cosine", "l2", "inner_product"]
DISTANCE_TYPES: tuple[DistanceType, ...] = ("cosine", "l2", "inner_product")
Matrix = npt.NDArray[np.float32]


def as_matrix(vectors: Sequence[Sequence[float]] | Matrix, dims: int | None = None) -> Matrix:
    """Stack vectors into a C-contiguous float32 matrix, checking their width."""
    m = np.asarray(vectors, dtype=np.float32)
    if m.ndim == 1:
        m = m.reshape(1, -1) if m.size else m.reshape(0, dims or 0)
    if m.ndim != 2:
        raise ValueError(f"expected a list of vectors, got an array of shape {m.shape}")
    if dims is not None and m.shape[0] and m.shape[1] != dims:
        raise ValueError(f"expected vectors of {dims} dimensions, got {m.shape[1]}")
    if not np.all(np.isfinite(m)):
        raise ValueError("vectors must not contain NaN or infinity")
    return np.ascontiguousarray(m)


def to_blob(vector: Sequence[float] | Matrix) -> bytes:
    """A vector as little-endian float32 bytes."""
    return np.asarray(vector, dtype="<f4").tobytes()


def from_blob(data: bytes) -> Matrix:
    return np.frombuffer(data, dtype="<f4").astype(np.float32, copy=False)


def normalized(m: Matrix) -> Matrix:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0
    out: Matrix = (m / norms).astype(np.float32, copy=False)
    return out


def scores(matrix: Matrix, query: Matrix, distance: DistanceType) -> npt.NDArray[np.float32]:
    """Higher is closer: cosine similarity, negative L2 distance, or inner product."""
    if matrix.shape[0] == 0:
        return np.zeros(0, dtype=np.float32)
    q = query.reshape(-1)
    out: npt.NDArray[np.float32]
    if distance == "inner_product":
        out = matrix @ q
    elif distance == "cosine":
        out = normalized(matrix) @ normalized(q.reshape(1, -1)).reshape(-1)
    elif distance == "l2":
        diff = matrix - q
        out = -np.sqrt(np.einsum("ij,ij->i", diff, diff))
    else:
        raise ValueError(f"unknown distance type {distance!r}; use one of {DISTANCE_TYPES}")
    return out.astype(np.float32, copy=False)


def top_k(values: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.intp]:
    """Indices of the ``k`` highest values, highest first; ties go to the lower index."""
    n = values.shape[0]
    if k <= 0 or n == 0:
        return np.zeros(0, dtype=np.intp)
    if k < n:
        kth = values[np.argpartition(-values, k - 1)[k - 1]]
        above = np.flatnonzero(values > kth)
        tied = np.flatnonzero(values == kth)[: k - above.shape[0]]
        part = np.concatenate([above, tied])
        order = np.lexsort((part, -values[part]))
        return part[order]
    return np.lexsort((np.arange(n), -values))
