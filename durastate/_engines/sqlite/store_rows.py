"""Store rows: the order-preserving namespace text, column lists and decoding into items.

A namespace is stored as its labels joined by ``"\\x01\\x01"`` with any ``"\\x01"`` inside a
label written ``"\\x01\\x02"``. Comparing these texts (SQLite compares UTF-8 bytes) gives
the same order as comparing the tuples, so ``ORDER BY ns`` sorts by labels, and the
namespaces under a prefix are one index range: the prefix itself and everything from
``prefix + "\\x01\\x01"`` up to ``prefix + "\\x01\\x02"``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from durastate.errors import InvalidInputError
from durastate.store.base import Namespace

SEP = "\x01\x01"
_PREFIX_END = "\x01\x02"
ITEM_COLUMNS = "id, ns, key, value, created_at, updated_at, ttl_minutes"
LIVE = "(expires_at IS NULL OR expires_at > ?)"

Deserializer = Callable[[str], dict[str, Any]]


def encode_namespace(namespace: Namespace) -> str:
    return SEP.join(label.replace("\x01", "\x01\x02") for label in namespace)


def decode_namespace(text: str) -> Namespace:
    if not text:
        return ()
    return tuple(part.replace("\x01\x02", "\x01") for part in text.split(SEP))


def prefix_sql(prefix: Namespace) -> tuple[str, list[Any]]:
    """A WHERE fragment on ``ns`` for namespaces starting with ``prefix`` (labels, no ``*``)."""
    if not prefix:
        return "1", []
    enc = encode_namespace(prefix)
    return "(ns = ? OR (ns >= ? AND ns < ?))", [enc, enc + SEP, enc + _PREFIX_END]


def prefix_range(prefix: Namespace) -> tuple[str, str | None]:
    """[low, high) of the ``ns`` texts at or under ``prefix`` (high None: unbounded)."""
    if not prefix:
        return "", None
    enc = encode_namespace(prefix)
    return enc, enc + _PREFIX_END


def check_text(text: str, what: str) -> None:
    """SQLite stores UTF-8; a string with lone surrogates cannot be stored or compared."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(
            f"{what} contains a lone surrogate, which is not valid text"
        ) from None


@dataclass(slots=True)
class ItemRow:
    """A row of ``durastate_store`` as read (value still JSON text)."""

    id: int
    namespace: Namespace
    key: str
    value_json: str
    created_at: float
    updated_at: float
    ttl_minutes: float | None

    @classmethod
    def of(cls, row: tuple[Any, ...]) -> ItemRow:
        return cls(row[0], decode_namespace(row[1]), row[2], row[3], row[4], row[5], row[6])

    def value(self, deserializer: Deserializer | None) -> dict[str, Any]:
        if deserializer is not None:
            return deserializer(self.value_json)
        loaded: dict[str, Any] = json.loads(self.value_json)
        return loaded
