"""Semantic-index configuration: dimensions, distance, indexed fields and the embedder."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.embeddings import Embeddings
from langgraph.store.base import IndexConfig, ensure_embeddings, get_text_at_path, tokenize_path

from durastate.errors import InvalidInputError
from durastate.store.vectors import DISTANCE_TYPES, DistanceType


class DurastateIndexConfig(IndexConfig, total=False):
    """LangGraph's ``IndexConfig`` plus the distance used to score matches."""

    distance_type: DistanceType
    """``"cosine"`` (default), ``"l2"`` or ``"inner_product"``."""


@dataclass(frozen=True)
class FieldPath:
    """One indexed field: as written, and tokenized for extraction."""

    path: str
    tokens: tuple[str, ...]

    @classmethod
    def parse(cls, path: str) -> FieldPath:
        if not isinstance(path, str) or not path:
            raise InvalidInputError(f"index field {path!r} must be a non-empty string")
        tokens = () if path == "$" else tuple(tokenize_path(path))
        return cls(path, tokens)

    def texts(self, value: Mapping[str, Any]) -> list[str]:
        if not self.tokens:
            return get_text_at_path(value, "$")
        return [t for t in get_text_at_path(value, list(self.tokens)) if t]


@dataclass(frozen=True)
class IndexSettings:
    """A validated index configuration shared by every store engine."""

    dims: int
    distance_type: DistanceType
    fields: tuple[FieldPath, ...]
    embeddings: Embeddings
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Engine-specific keys (e.g. ``ann_index_config``) passed through untouched."""

    def field_paths(self, index: Sequence[str] | None) -> tuple[FieldPath, ...]:
        """Fields to embed for one put: its own ``index=`` list, else the configured ones."""
        if index is None:
            return self.fields
        return tuple(FieldPath.parse(p) for p in index)


_KNOWN = {"dims", "embed", "fields", "distance_type"}


def parse_index(index: Mapping[str, Any] | None) -> IndexSettings | None:
    """Check an ``index=`` argument and build the embedder it names."""
    if index is None:
        return None
    if not isinstance(index, Mapping):
        raise InvalidInputError(f"index must be a mapping, got {type(index).__name__}")
    dims = index.get("dims")
    if isinstance(dims, bool) or not isinstance(dims, int) or dims <= 0:
        raise InvalidInputError(f"index['dims'] must be a positive int, got {dims!r}")
    if index.get("embed") is None:
        raise InvalidInputError("index['embed'] is required (Embeddings, function or model name)")
    distance = index.get("distance_type", "cosine")
    if distance not in DISTANCE_TYPES:
        raise InvalidInputError(
            f"index['distance_type'] must be one of {DISTANCE_TYPES}, got {distance!r}"
        )
    raw_fields = index.get("fields") or ["$"]
    if isinstance(raw_fields, str):
        raise InvalidInputError("index['fields'] must be a list of paths, not a string")
    return IndexSettings(
        dims=dims,
        distance_type=distance,
        fields=tuple(FieldPath.parse(p) for p in raw_fields),
        embeddings=ensure_embeddings(index["embed"]),
        extra={k: v for k, v in index.items() if k not in _KNOWN},
    )
