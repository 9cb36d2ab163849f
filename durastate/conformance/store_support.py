"""Shared pieces of the store contract: an offline embedder, reference scores, helpers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings
from langgraph.store.base import Item

from durastate.conformance.harness import Bound

NS: tuple[str, ...] = ("contract", "store")
DIMS = 5
TOLERANCE = 1e-5

# Fixed, deliberately irregular word vectors (so the three distances rank differently and
# scores never tie); the last axis is a constant bias so no text embeds to a zero vector.
WORDS: dict[str, tuple[float, float, float, float]] = {
    "apple": (1.0, 0.2, 0.0, 0.1),
    "banana": (0.3, 1.0, 0.1, 0.0),
    "car": (0.0, 0.15, 1.0, 0.4),
    "dog": (0.1, 0.0, 0.35, 1.0),
}
_BIAS = 0.25
QUERY_ALIASES: dict[str, str] = {"pet": "dog", "vehicle": "car"}
"""How ``embed_query`` reads a word; ``embed_documents`` reads these aliases differently."""
DOCUMENT_ALIASES: dict[str, str] = {"pet": "apple", "vehicle": "banana"}


def word_vector(text: str, aliases: dict[str, str] | None = None) -> list[float]:
    """Sum of the vectors of the known words in ``text``, plus the bias axis."""
    vec = [0.0] * DIMS
    vec[DIMS - 1] = _BIAS
    for word in re.findall(r"[a-z]+", text.lower()):
        known = WORDS.get((aliases or {}).get(word, word))
        if known is not None:
            for axis, x in enumerate(known):
                vec[axis] += x
    return vec


class WordEmbeddings(Embeddings):
    """Deterministic offline embeddings whose query side reads some words differently.

    ``embed_query("pet")`` means "dog", ``embed_documents(["pet"])`` means "apple", so a
    store that embeds queries with ``embed_documents`` ranks visibly wrong. Every text it
    was asked to embed is recorded.
    """

    def __init__(self) -> None:
        self.documents: list[str] = []
        self.queries: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.documents.extend(texts)
        return [word_vector(t, DOCUMENT_ALIASES) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        self.queries.append(text)
        return word_vector(text, QUERY_ALIASES)


def embed_texts(texts: list[str]) -> list[list[float]]:
    """The same embedder as a plain function (LangGraph accepts one as ``embed``)."""
    return [word_vector(t) for t in texts]


def index_config(
    embeddings: Embeddings | None = None,
    *,
    fields: Sequence[str] | None = None,
    distance_type: str | None = None,
) -> dict[str, Any]:
    """An ``index=`` argument for the opener with the offline embedder."""
    config: dict[str, Any] = {"dims": DIMS, "embed": embeddings or WordEmbeddings()}
    if fields is not None:
        config["fields"] = list(fields)
    if distance_type is not None:
        config["distance_type"] = distance_type
    return config


def expected_score(document: str, query: str, distance: str) -> float:
    """The score a store must give ``document`` for ``query`` (float64 numpy maths)."""
    d = np.asarray(word_vector(document, DOCUMENT_ALIASES), dtype=np.float64)
    q = np.asarray(word_vector(query, QUERY_ALIASES), dtype=np.float64)
    if distance == "cosine":
        return float(d @ q / (np.linalg.norm(d) * np.linalg.norm(q)))
    if distance == "l2":
        return float(-np.linalg.norm(d - q))
    if distance == "inner_product":
        return float(d @ q)
    raise ValueError(distance)


def best_score(documents: Sequence[str], query: str, distance: str) -> float:
    """An item indexed on several texts scores as its closest text."""
    return max(expected_score(d, query, distance) for d in documents)


def keys(items: Sequence[Item]) -> list[str]:
    return [it.key for it in items]


def scored(items: Sequence[Any]) -> list[tuple[str, float | None]]:
    return [(it.key, it.score) for it in items]


async def put_all(
    store: Bound, items: dict[str, dict[str, Any]], namespace: tuple[str, ...] = NS
) -> None:
    """Put every ``key: value`` of ``items`` into one namespace, one call each."""
    for key, value in items.items():
        await store.put(namespace, key, value)
