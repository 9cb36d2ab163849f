"""Decode msgpack and legacy JSON blobs, rebuilding objects only through a Reviver."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import ormsgpack
from langgraph.checkpoint.serde.types import _DeltaSnapshot

from durastate.errors import DeserializationError
from durastate.serde._ext import (
    EXT_DELTA_SNAPSHOT,
    EXT_METHOD_SINGLE_ARG,
    EXT_NUMPY_ARRAY,
    EXT_PYDANTIC_V2,
    UNPACK_OPTIONS,
)
from durastate.serde._raw import UnrevivedValue
from durastate.serde._revive import Reviver, langchain_types

_unpackb = ormsgpack.unpackb

# dtype.str of every non-structured, non-object dtype: '<f8', '|b1', '<U10', '<M8[ns]'.
_DTYPE_RE = re.compile(r"[<>|=]?[bBiufcmMUSVa?]\d*(\[[A-Za-z0-9]+\])?")


class _Corrupt(Exception):
    """A structural problem inside an extension payload."""


def decode_array(value: Any) -> Any:
    """Rebuild a numpy array from (dtype, shape, order, buffer); writable, own memory."""
    if not (
        isinstance(value, list)
        and len(value) == 4
        and isinstance(value[0], str)
        and isinstance(value[1], list)
        and all(isinstance(n, int) and n >= 0 for n in value[1])
        and value[2] in ("C", "F")
        and isinstance(value[3], bytes)
    ):
        raise _Corrupt("numpy array payload is not (dtype, shape, order, buffer)")
    dtype_str, shape, order, buf = value
    if _DTYPE_RE.fullmatch(dtype_str) is None:
        return UnrevivedValue(
            "numpy",
            "ndarray",
            "extension",
            value,
            f"dtype {dtype_str!r} is not a plain numeric, text or time dtype",
            code=EXT_NUMPY_ARRAY,
        )
    import numpy as np  # a durastate dependency, imported on first array

    try:
        arr = np.frombuffer(buf, dtype=np.dtype(dtype_str)).reshape(shape, order=order)
    except (TypeError, ValueError) as exc:
        return UnrevivedValue(
            "numpy",
            "ndarray",
            "extension",
            value,
            f"could not be rebuilt: {exc}",
            code=EXT_NUMPY_ARRAY,
        )
    return arr.copy(order="K")


class Decoder:
    """Turns stored bytes into values; every failure is a DeserializationError."""

    __slots__ = ("_plain_hook", "reviver")

    def __init__(self, reviver: Reviver) -> None:
        self.reviver = reviver
        self._plain_hook = self._hook(None)
        """The hook for blobs that decode fine: made once, noting no problems."""

    def _hook(self, problems: list[str] | None) -> Callable[[int, bytes], Any]:
        revive = self.reviver.revive

        def ext_hook(code: int, data: bytes) -> Any:
            if code > EXT_DELTA_SNAPSHOT or code < 0:
                return UnrevivedValue(
                    "",
                    "",
                    "extension",
                    bytes(data),
                    f"unknown msgpack extension type {code}",
                    code=code,
                )
            try:
                value = _unpackb(data, ext_hook=ext_hook, option=UNPACK_OPTIONS)
                if code <= EXT_PYDANTIC_V2:
                    if not (
                        type(value) is list
                        and 3 <= len(value) <= 4
                        and type(value[0]) is str
                        and type(value[1]) is str
                    ):
                        raise _Corrupt(f"extension {code} payload is not (module, name, data)")
                    method = value[3] if len(value) == 4 else None
                    if method is not None and type(method) is not str:
                        raise _Corrupt(f"extension {code} method name is not a string")
                    if code == EXT_METHOD_SINGLE_ARG and method is None:
                        raise _Corrupt("method extension without a method name")
                    return revive(code, value[0], value[1], value[2], method)
                if code == EXT_NUMPY_ARRAY:
                    return decode_array(value)
                return _DeltaSnapshot(value)
            except Exception as exc:
                if problems is not None and not problems:
                    problems.append(str(exc) or type(exc).__name__)
                raise

        return ext_hook

    def unpack(self, data: bytes) -> Any:
        """Decode LangGraph's ``"msgpack"`` format."""
        try:
            return _unpackb(data, ext_hook=self._plain_hook, option=UNPACK_OPTIONS)
        except Exception:
            # Decode again with a hook that notes the first problem, for the message.
            problems: list[str] = []
            try:
                return _unpackb(data, ext_hook=self._hook(problems), option=UNPACK_OPTIONS)
            except Exception as exc:
                detail = problems[0] if problems else f"{type(exc).__name__}: {exc}"
                raise DeserializationError(f"corrupt msgpack blob: {detail}") from exc

    def load_json(self, data: bytes) -> Any:
        """Decode the legacy ``"json"`` format, reviving LangChain ``lc`` envelopes."""
        try:
            return json.loads(data, object_hook=self._revive_lc)
        except Exception as exc:
            raise DeserializationError(f"corrupt json blob: {type(exc).__name__}: {exc}") from exc

    def _revive_lc(self, value: dict[str, Any]) -> Any:
        lc = value.get("lc")
        kind = value.get("type")
        if lc not in (1, 2) or kind not in ("constructor", "secret", "not_implemented"):
            return value
        ident = value.get("id")
        if not (isinstance(ident, list) and ident and all(isinstance(p, str) for p in ident)):
            return value
        module, name = ".".join(ident[:-1]), ident[-1]
        if kind == "secret":
            reason = "secrets are never read from the environment while loading"
        elif kind == "not_implemented":
            reason = "it was stored as not serializable"
        elif lc == 1:
            return self._revive_lc1(value, tuple(ident), module, name)
        else:
            result = self._revive_lc2(value, module, name)
            if not isinstance(result, UnrevivedValue):
                return result
            reason = result.reason
        return UnrevivedValue(module, name, "langchain_json", value, reason)

    def _revive_lc1(
        self, value: dict[str, Any], ident: tuple[str, ...], module: str, name: str
    ) -> Any:
        cls = _lc_ids().get(ident)
        kwargs = value.get("kwargs", {})
        if cls is None:
            reason = "only LangChain messages and documents are revived from 'lc' JSON"
        elif not (isinstance(kwargs, dict) and all(isinstance(k, str) for k in kwargs)):
            reason = "unexpected arguments"
        else:
            try:
                return cls(**kwargs)
            except Exception as exc:
                reason = f"could not be rebuilt: {type(exc).__name__}: {exc}"
        return UnrevivedValue(module, name, "langchain_json", value, reason)

    def _revive_lc2(self, value: dict[str, Any], module: str, name: str) -> Any:
        args = value.get("args")
        kwargs = value.get("kwargs")
        method = value.get("method")
        if method == "fromisoformat" and isinstance(args, list) and len(args) == 1:
            return self.reviver.revive(EXT_METHOD_SINGLE_ARG, module, name, args[0], method)
        if isinstance(kwargs, dict) and kwargs:
            return self.reviver.revive(2, module, name, kwargs)
        if isinstance(args, list):
            return self.reviver.revive(1, module, name, args)
        return self.reviver.revive(2, module, name, {})


_lc_table: dict[tuple[str, ...], type] | None = None


def _lc_ids() -> dict[tuple[str, ...], type]:
    """LangChain serialization ids of messages and documents (both spellings)."""
    global _lc_table
    if _lc_table is None:
        table: dict[tuple[str, ...], type] = {}
        for (module, name), cls in langchain_types().items():
            ident = (*module.split("."), name)
            table[ident] = cls
            group = "document" if name == "Document" else "messages"
            table[("langchain", "schema", group, name)] = cls
        _lc_table = table
    return _lc_table
