"""The one Redis key layout: every key name durastate uses, with ids escaped.

All keys of one thread share the hash tag ``{t:<escaped thread id>}`` so the scripts
that touch a whole thread work on Redis Cluster; all entries of one cache namespace
share ``{c:<escaped namespace>}``. Ids are percent-escaped (``%``, ``{``, ``}``, ``:``,
glob characters, whitespace and control characters), so a user id can neither break the
hash tag nor collide with another id or key part, and SCAN patterns stay literal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from durastate.errors import InvalidInputError

DEFAULT_PREFIX = "durastate"

_NEEDS_ESCAPE = re.compile(r"[%{}:*?\[\]\\ \x00-\x1f]")
"""``%``, braces, ``:``, glob characters, space and control characters (tab, CR, LF, NUL...)."""
_UNESCAPE = re.compile("%([0-9A-F]{2})")
_GLOB = re.compile(r"([*?\[\]\\])")


def _percent(match: re.Match[str]) -> str:
    return f"%{ord(match.group()):02X}"


def escape(text: str) -> str:
    """``text`` with every character that matters to key parsing percent-escaped."""
    return _NEEDS_ESCAPE.sub(_percent, text)


def unescape(text: str) -> str:
    return _UNESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def glob_escape(text: str) -> str:
    """A SCAN ``MATCH`` pattern matching ``text`` literally."""
    return _GLOB.sub(r"\\\1", text)


def check_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or not prefix:
        raise InvalidInputError(f"key_prefix must be a non-empty string, got {prefix!r}")
    bad = [ch for ch in "{}\x00" if ch in prefix]
    if bad:
        raise InvalidInputError(
            f"key_prefix {prefix!r} must not contain {''.join(bad)!r} (they would break the "
            "hash tags that keep a thread's keys in one cluster slot)"
        )
    return prefix


@dataclass(frozen=True, slots=True)
class ThreadKeys:
    """The keys of one thread; per-namespace keys are built by the scripts from ``base``."""

    thread_id: str
    base: str

    @property
    def namespaces(self) -> str:
        """Set of the thread's escaped checkpoint namespaces; it exists iff the thread does."""
        return f"{self.base}:n"


@dataclass(frozen=True, slots=True)
class CacheKeys:
    """The keys of one cache namespace: its entries and an index of them by expiry."""

    ns_text: str
    base: str

    @property
    def index(self) -> str:
        """Sorted set: entry key suffix -> expiry in server milliseconds (+inf: never)."""
        return f"{self.base}:i"

    def entry(self, key: str) -> str:
        return f"{self.base}:e:{escape(key)}"

    @staticmethod
    def member(key: str) -> str:
        return escape(key)


@dataclass(frozen=True, slots=True)
class Layout:
    """Key names under one prefix (``key_prefix=``; default ``durastate``)."""

    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        check_prefix(self.prefix)

    def thread(self, thread_id: str) -> ThreadKeys:
        return ThreadKeys(thread_id, f"{self.prefix}:{{t:{escape(thread_id)}}}")

    @property
    def threads(self) -> str:
        """Set of thread ids that have (or recently had) checkpoints."""
        return f"{self.prefix}:threads"

    def cache(self, ns_text: str) -> CacheKeys:
        return CacheKeys(ns_text, f"{self.prefix}:cache:{{c:{escape(ns_text)}}}")

    @property
    def cache_namespaces(self) -> str:
        """Set of cache namespace texts that have (or recently had) entries."""
        return f"{self.prefix}:cache:namespaces"

    def everything(self) -> str:
        """A SCAN pattern for every key under this prefix.

        It also matches the keys of a longer prefix that starts with this one and ``:``
        (``app`` and ``app:eu``); :meth:`patterns` and :meth:`owns` tell them apart.
        """
        return f"{glob_escape(self.prefix)}:*"

    def patterns(self) -> tuple[str, ...]:
        """SCAN patterns that together match exactly this prefix's keys.

        After ``<prefix>:`` every key goes on with a hash tag or a fixed name, and a prefix
        cannot contain braces, so no other prefix's key matches one of these.
        """
        p = glob_escape(self.prefix)
        return (
            f"{p}:threads",
            f"{p}:{{t:*",
            f"{p}:cache:namespaces",
            f"{p}:cache:{{c:*",
            f"{p}:{{store:{p}}}*",
        )

    def owns(self, key: bytes | str) -> bool:
        """Whether ``key`` is one of this prefix's keys (not one of a longer prefix's)."""
        text = key.decode(errors="replace") if isinstance(key, bytes) else key
        head = f"{self.prefix}:"
        if not text.startswith(head):
            return False
        rest = text[len(head) :]
        return (
            rest in ("threads", "cache:namespaces")
            or rest.startswith(("{t:", "cache:{c:"))
            or rest.startswith(f"{{store:{self.prefix}}}")
        )
