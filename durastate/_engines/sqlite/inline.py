"""Small channel values kept inside the checkpoint row, so reading them needs no lookup.

A value of at most ``INLINE_MAX`` serialized bytes (counters, flags, short strings,
a first message) is stored in the checkpoint's ``inline_values`` column and carried
forward to its children while its version stays the same; larger values live once
per version in ``durastate_checkpoint_blobs``. The column holds a msgpack map of
channel to ``[version, type, bytes]``.
"""

from __future__ import annotations

from collections.abc import Mapping

import ormsgpack

from durastate.errors import DeserializationError

INLINE_MAX = 256
"""Largest serialized value (bytes) stored inline."""

Inline = dict[str, tuple[str, str, bytes]]
"""Channel to (version, type, serialized bytes); read back as lists of the same."""


def pack_inline(values: Mapping[str, tuple[str, str, bytes]]) -> bytes:
    return ormsgpack.packb({ch: list(entry) for ch, entry in values.items()})


def unpack_inline(data: bytes | None) -> Inline:
    if not data:
        return {}
    try:
        raw = ormsgpack.unpackb(data)
    except (ormsgpack.MsgpackDecodeError, TypeError, ValueError) as exc:
        raise DeserializationError(f"a checkpoint's inline values are damaged: {exc}") from exc
    if not isinstance(raw, dict):
        raise DeserializationError("a checkpoint's inline values are damaged: not a map")
    return raw  # written by pack_inline: channel -> [version, type, bytes]
