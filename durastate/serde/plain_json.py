"""Checked copies of plain JSON values without a JSON round trip (store values, metadata).

A value made only of exact ``dict``/``list``/``str``/``int``/``float``/``bool``/``None``
is checked and copied by walking it once; anything else (subclasses, tuples, non-string
keys, very deep nesting, text that JSON would turn into ``\\u0000``) answers ``None``, and
the caller takes the JSON path, so every value is accepted or refused exactly as the
JSON path decides and copied exactly as ``json.loads`` would give it back.
"""

from __future__ import annotations

import math
import re
from typing import Any

_MAX_DEPTH = 100
_MAX_INT_BITS = 4096
"""Larger ints go the JSON way (Python refuses to print ints past 4300 digits)."""
_NUL = "\x00"
_ESCAPED_NUL = "\\u0000"


_NUL_IN_JSON = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")
r"""A NUL escape in JSON text: ``\u0000`` after an even run of backslashes (``\\u0000``
is a backslash followed by the text ``u0000``, which is no NUL)."""


def json_has_nul(text: str) -> bool:
    """Whether JSON text (from ``json.dumps``) holds a NUL character in a string."""
    return "\\u0000" in text and _NUL_IN_JSON.search(text) is not None


def json_without_nuls(text: str) -> str:
    """JSON text with every NUL character removed from its strings (Postgres rejects them)."""
    return _NUL_IN_JSON.sub(r"\1", text) if "\\u0000" in text else text


class _Fallback(Exception):
    """The value needs the JSON path."""


def _copy_node(value: Any, depth: int) -> Any:
    """A checked copy of a dict or list; raises ``_Fallback`` on anything unusual."""
    if depth > _MAX_DEPTH:
        raise _Fallback
    t = type(value)
    if t is dict:
        out: dict[str, Any] = {}
        for k, v in value.items():
            if type(k) is not str or _NUL in k or _ESCAPED_NUL in k:
                raise _Fallback
            out[k] = _copy_leaf(v, depth)
        return out
    if t is list:
        return [_copy_leaf(v, depth) for v in value]
    raise _Fallback


def _copy_leaf(v: Any, depth: int) -> Any:
    t = type(v)
    if t is str:
        if _NUL in v or _ESCAPED_NUL in v:
            raise _Fallback
    elif t is int:
        if v.bit_length() > _MAX_INT_BITS:
            raise _Fallback
    elif t is float:
        if not math.isfinite(v):
            raise _Fallback
    elif t is dict or t is list:
        return _copy_node(v, depth + 1)
    elif v is not None and t is not bool:
        raise _Fallback
    return v


def copy_in(value: Any) -> dict[str, Any] | None:
    """A checked copy of a store value.

    ``None`` when the value is not made of exact JSON types only: use the JSON path.
    """
    copied = copy_in_flat(value)
    return None if copied is None else copied[0]


def copy_in_flat(value: Any) -> tuple[dict[str, Any], bool] | None:
    """``copy_in``, and whether the value is flat (no nested dict or list)."""
    if type(value) is not dict:
        return None
    out: dict[str, Any] = {}
    flat = True
    try:
        # The top level inline: most values are a handful of plain fields.
        for k, v in value.items():
            if type(k) is not str or _NUL in k or _ESCAPED_NUL in k:
                return None
            t = type(v)
            if t is str:
                if _NUL in v or _ESCAPED_NUL in v:
                    return None
            elif t is int:
                if v.bit_length() > _MAX_INT_BITS:
                    return None
            elif t is float:
                if not math.isfinite(v):
                    return None
            elif t is dict or t is list:
                v = _copy_node(v, 1)
                flat = False
            elif v is not None and t is not bool:
                return None
            out[k] = v
    except _Fallback:
        return None
    return out, flat


def is_flat(value: dict[str, Any]) -> bool:
    """Whether a stored value holds no nested dict or list."""
    return not any(type(v) is dict or type(v) is list for v in value.values())


def copy_out(value: Any) -> Any:
    """A deep copy of a stored value (exact JSON types only), for a caller to keep."""
    t = type(value)
    if t is dict:
        return {
            k: copy_out(v) if type(v) is dict or type(v) is list else v for k, v in value.items()
        }
    if t is list:
        return [copy_out(v) if type(v) is dict or type(v) is list else v for v in value]
    return value
