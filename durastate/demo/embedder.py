"""A small deterministic embedder (hashed bag of words) that needs no model or network."""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Sequence

from langchain_core.embeddings import Embeddings

DIMS = 256
"""Dimensions of the demo's vectors; pass as ``index={"dims": DIMS, ...}``."""

_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    "a an and are as at be but by did do does for from had has have i in is it its me my "
    "of on or our so that the their them then there these this to was we were what when "
    "where which who why will with you your".split()
)


def tokens(text: str) -> list[str]:
    """Lower-cased words without stopwords or one-letter words, plural ``s`` removed."""
    out = []
    for word in _WORD.findall(text.lower()):
        if len(word) < 2 or word in _STOPWORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.append(word)
    return out


def _slot(token: str, dims: int) -> tuple[int, float]:
    digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
    number = int.from_bytes(digest, "big")
    return number % dims, (1.0 if (number >> 63) & 1 else -1.0)


def embed_text(text: str, dims: int = DIMS) -> list[float]:
    """One unit-length vector: each word adds its count to a hashed, signed slot.

    The hash is keyed on the word alone (never Python's randomized ``hash``), so every
    process computes the same vector. Text without words maps to the zero vector.
    """
    if isinstance(dims, bool) or not isinstance(dims, int) or dims <= 0:
        raise ValueError(f"dims must be a positive int, got {dims!r}")
    if not isinstance(text, str):
        raise TypeError(f"can only embed text, got {type(text).__name__}")
    vector = [0.0] * dims
    for token, count in Counter(tokens(text)).items():
        slot, sign = _slot(token, dims)
        vector[slot] += sign * count
    norm = math.sqrt(sum(v * v for v in vector))
    return [v / norm for v in vector] if norm else vector


def embed_texts(texts: Sequence[str]) -> list[list[float]]:
    """Vectors for many texts, in order (the function form LangGraph's index accepts)."""
    return [embed_text(t) for t in texts]


async def aembed_texts(texts: Sequence[str]) -> list[list[float]]:
    """The async form of ``embed_texts`` (the work is CPU-only and tiny)."""
    return embed_texts(texts)


class HashingEmbeddings(Embeddings):
    """``embed_texts`` as LangChain ``Embeddings``, sync and async, for any ``dims``."""

    def __init__(self, dims: int = DIMS) -> None:
        embed_text("", dims)  # validates dims
        self.dims = dims

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [embed_text(t, self.dims) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return embed_text(text, self.dims)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents(texts)

    async def aembed_query(self, text: str) -> list[float]:
        return self.embed_query(text)
