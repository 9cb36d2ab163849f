"""The store's Redis key layout: items, per-namespace recency sets, namespace and expiry indexes.

Under ``<key_prefix>:{store:<key_prefix>}``, one hash tag, so on a Redis Cluster the
whole store lives in one slot (its scripts span namespaces; it works, on one shard):

- ``:i:<ns>:<key>``: hash of one item (``v`` JSON value, ``c``/``u`` created/updated epoch
  seconds, ``t`` TTL minutes when it has one, ``nv`` its number of vectors); a get is one
  read of it. An item with a TTL carries a native expiry (``PEXPIREAT``).
- ``:v:<ns>:<key>:<n>``: hash of the item's n-th vector (``vec`` float32 bytes, ``f`` the
  field it came from, ``nsp`` tags of every namespace prefix), with the item's expiry; the
  query engine's index covers these keys only.
- ``:u:<ns>``: sorted set of the namespace's keys by ``-updated_at`` (recency order).
- ``:n``: sorted set (lexicographic) of namespaces that hold items, for ``list_namespaces``.
- ``:h``: sorted set of namespace -> the lowest ``-updated_at`` ever written there, so a
  search merging namespaces by recency opens one only when the merge reaches it.
- ``:x``: sorted set of ``<ns>\\0<key>`` by expiry in server milliseconds, so expired items
  leave ``:u`` and ``:n`` lazily (on ``list_namespaces`` and a few on every write) and on
  ``sweep_ttl``.
- ``:idx``: the name of the query-engine index (when an index is configured).

Namespaces are their labels joined by ``.`` (labels never contain one); ``<ns>`` and
``<key>`` are percent-escaped like every durastate key part, so they cannot collide.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from durastate._engines.redis.keys import Layout, escape, unescape

Namespace = tuple[str, ...]


def ns_text(namespace: Sequence[str]) -> str:
    """A namespace as stored: its labels joined by ``.``."""
    return ".".join(namespace)


def ns_from_text(text: str) -> Namespace:
    return tuple(text.split("."))


def prefix_tag(prefix: Sequence[str]) -> str:
    """The TAG value naming one namespace prefix (hex, so no query-syntax escaping)."""
    return hashlib.blake2b(ns_text(prefix).encode(), digest_size=10).hexdigest()


def namespace_tags(namespace: Sequence[str]) -> str:
    """Tags of every prefix of ``namespace`` (itself included), comma separated."""
    return ",".join(prefix_tag(namespace[:n]) for n in range(1, len(namespace) + 1))


def lex_range(prefix: Sequence[str]) -> tuple[bytes, bytes]:
    """``ZRANGEBYLEX`` bounds covering every namespace that may start with ``prefix``.

    The range also holds lookalikes (``a.b-x`` for ``a.b``); callers check labels exactly.
    """
    if not prefix:
        return b"-", b"+"
    text = ns_text(prefix).encode()
    return b"[" + text, b"(" + text + b"/"


@dataclass(frozen=True, slots=True)
class StoreKeys:
    """Key names of one store (``key_prefix`` + ``:{store:<key_prefix>}``)."""

    base: str

    @classmethod
    def of(cls, layout: Layout) -> StoreKeys:
        return cls(f"{layout.prefix}:{{store:{layout.prefix}}}")

    @property
    def route(self) -> tuple[str]:
        """The key a script call declares: it puts the call in the store's one hash slot."""
        return (self.namespaces,)

    @property
    def namespaces(self) -> str:
        return f"{self.base}:n"

    @property
    def expiry(self) -> str:
        return f"{self.base}:x"

    @property
    def index(self) -> str:
        return f"{self.base}:idx"

    @property
    def vector_prefix(self) -> str:
        return f"{self.base}:v:"

    def item(self, namespace: Sequence[str], key: str) -> str:
        return f"{self.base}:i:{escape(ns_text(namespace))}:{escape(key)}"

    def recency(self, namespace: Sequence[str]) -> str:
        return f"{self.base}:u:{escape(ns_text(namespace))}"

    def item_of_vector(self, doc_id: bytes | str) -> tuple[Namespace, str]:
        """The (namespace, key) a vector document belongs to, from its key name."""
        text = doc_id.decode() if isinstance(doc_id, bytes) else doc_id
        rest = text[len(self.vector_prefix) :]
        ns_part, key_part, _ = rest.split(":")
        return ns_from_text(unescape(ns_part)), unescape(key_part)


def expiry_member(namespace: Sequence[str], key: str) -> bytes:
    return ns_text(namespace).encode() + b"\x00" + key.encode()


__all__ = [
    "StoreKeys",
    "expiry_member",
    "lex_range",
    "namespace_tags",
    "ns_from_text",
    "ns_text",
    "prefix_tag",
]
