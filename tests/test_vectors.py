"""Vector scoring per distance type and top-k ordering."""

from __future__ import annotations

import numpy as np
import pytest

from durastate.store.vectors import as_matrix, from_blob, scores, to_blob, top_k


def test_scores_per_distance_type() -> None:
    m = as_matrix([[1.0, 0.0], [0.0, 2.0], [3.0, 4.0]])
    q = as_matrix([[1.0, 1.0]])[0]
    np.testing.assert_allclose(scores(m, q, "inner_product"), [1.0, 2.0, 7.0])
    np.testing.assert_allclose(
        scores(m, q, "cosine"), [1 / np.sqrt(2), 1 / np.sqrt(2), 7 / (5 * np.sqrt(2))], rtol=1e-6
    )
    np.testing.assert_allclose(scores(m, q, "l2"), [-1.0, -np.sqrt(2), -np.sqrt(13)], rtol=1e-6)


def test_top_k_is_highest_first_and_stable() -> None:
    values = np.array([0.5, 0.9, 0.5, 0.1, 0.9], dtype=np.float32)
    assert top_k(values, 3).tolist() == [1, 4, 0]
    assert top_k(values, 10).tolist() == [1, 4, 0, 2, 3]
    assert top_k(values, 0).tolist() == []


def test_blob_round_trip_and_validation() -> None:
    v = [0.25, -1.5, 3.0]
    assert from_blob(to_blob(v)).tolist() == v
    with pytest.raises(ValueError, match="3 dimensions"):
        as_matrix([[1.0, 2.0]], dims=3)
    with pytest.raises(ValueError, match="NaN"):
        as_matrix([[float("nan"), 1.0]])
