"""Encode Python values to msgpack bytes in LangGraph's checkpoint format."""

from __future__ import annotations

import dataclasses
import decimal
import pathlib
import re
import sys
from collections import deque
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from enum import Enum
from ipaddress import (
    IPv4Address,
    IPv4Interface,
    IPv4Network,
    IPv6Address,
    IPv6Interface,
    IPv6Network,
)
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import ormsgpack
from langgraph.checkpoint.serde.types import SendProtocol, _DeltaSnapshot
from langgraph.store.base import Item

from durastate.serde._errors import Step, UnserializableValueError
from durastate.serde._ext import (
    EXT_CONSTRUCTOR_KW_ARGS,
    EXT_CONSTRUCTOR_POS_ARGS,
    EXT_CONSTRUCTOR_SINGLE_ARG,
    EXT_DELTA_SNAPSHOT,
    EXT_METHOD_SINGLE_ARG,
    EXT_NUMPY_ARRAY,
    EXT_PYDANTIC_V1,
    EXT_PYDANTIC_V2,
    PACK_OPTIONS,
)
from durastate.serde._raw import UnrevivedValue

# A handler turns one object into (extension code, payload). Code -1 means the
# payload itself is the replacement value (exceptions are stored as their repr).
Handler = Callable[[Any], tuple[int, Any]]

_AS_VALUE = -1
_CACHE_LIMIT = 1024
_MAX_DEPTH = 512

_packb = ormsgpack.packb
_Ext = ormsgpack.Ext


def pack(obj: Any) -> bytes:
    """Encode ``obj``; raises ``TypeError`` (``MsgpackEncodeError``) on failure."""
    return _packb(obj, default=_default, option=PACK_OPTIONS)


def _default(obj: Any) -> Any:
    handler = _handlers.get(type(obj))
    if handler is None:
        handler = _resolve(obj)
    code, payload = handler(obj)
    if code == _AS_VALUE:
        return payload
    if code == EXT_NUMPY_ARRAY:
        return _pack_array_meta(payload)
    return _Ext(code, _packb(payload, default=_default, option=PACK_OPTIONS))


def _names(obj: Any) -> tuple[str, str]:
    cls = obj.__class__
    return cls.__module__, cls.__name__


def _h_delta(obj: Any) -> tuple[int, Any]:
    return EXT_DELTA_SNAPSHOT, obj.value


def _h_pydantic(obj: Any) -> tuple[int, Any]:
    return EXT_PYDANTIC_V2, (*_names(obj), obj.model_dump(), "model_validate_json")


def _h_secret(obj: Any) -> tuple[int, Any]:
    return EXT_CONSTRUCTOR_SINGLE_ARG, (*_names(obj), obj.get_secret_value())


def _h_pydantic_v1(obj: Any) -> tuple[int, Any]:
    return EXT_PYDANTIC_V1, (*_names(obj), obj.dict())


def _h_namedtuple(obj: Any) -> tuple[int, Any]:
    return EXT_CONSTRUCTOR_KW_ARGS, (*_names(obj), obj._asdict())


def _h_path(obj: Any) -> tuple[int, Any]:
    return EXT_CONSTRUCTOR_POS_ARGS, (*_names(obj), obj.parts)


def _h_pattern(obj: Any) -> tuple[int, Any]:
    return EXT_CONSTRUCTOR_POS_ARGS, ("re", "compile", (obj.pattern, obj.flags))


def _h_uuid(obj: Any) -> tuple[int, Any]:
    return EXT_CONSTRUCTOR_SINGLE_ARG, (*_names(obj), obj.hex)


def _h_str_arg(obj: Any) -> tuple[int, Any]:
    return EXT_CONSTRUCTOR_SINGLE_ARG, (*_names(obj), str(obj))


def _h_collection(obj: Any) -> tuple[int, Any]:
    return EXT_CONSTRUCTOR_SINGLE_ARG, (*_names(obj), tuple(obj))


def _h_datetime(obj: Any) -> tuple[int, Any]:
    return EXT_METHOD_SINGLE_ARG, (*_names(obj), obj.isoformat(), "fromisoformat")


def _h_timedelta(obj: Any) -> tuple[int, Any]:
    return EXT_CONSTRUCTOR_POS_ARGS, (*_names(obj), (obj.days, obj.seconds, obj.microseconds))


def _h_date(obj: Any) -> tuple[int, Any]:
    return EXT_CONSTRUCTOR_POS_ARGS, (*_names(obj), (obj.year, obj.month, obj.day))


def _h_time(obj: Any) -> tuple[int, Any]:
    fields = {
        "hour": obj.hour,
        "minute": obj.minute,
        "second": obj.second,
        "microsecond": obj.microsecond,
        "tzinfo": obj.tzinfo,
        "fold": obj.fold,
    }
    return EXT_CONSTRUCTOR_KW_ARGS, (*_names(obj), fields)


def _h_timezone(obj: Any) -> tuple[int, Any]:
    return EXT_CONSTRUCTOR_POS_ARGS, (*_names(obj), obj.__getinitargs__())


def _h_zoneinfo(obj: Any) -> tuple[int, Any]:
    return EXT_CONSTRUCTOR_SINGLE_ARG, (*_names(obj), obj.key)


def _h_enum(obj: Any) -> tuple[int, Any]:
    return EXT_CONSTRUCTOR_SINGLE_ARG, (*_names(obj), obj.value)


def _h_send(obj: Any) -> tuple[int, Any]:
    timeout = getattr(obj, "timeout", None)
    args = (obj.node, obj.arg) if timeout is None else (obj.node, obj.arg, timeout)
    return EXT_CONSTRUCTOR_POS_ARGS, (*_names(obj), args)


def _h_dataclass(obj: Any) -> tuple[int, Any]:
    fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    return EXT_CONSTRUCTOR_KW_ARGS, (*_names(obj), fields)


def _h_item(obj: Any) -> tuple[int, Any]:
    return EXT_CONSTRUCTOR_KW_ARGS, (*_names(obj), {k: getattr(obj, k) for k in obj.__slots__})


def _h_ndarray(obj: Any) -> tuple[int, Any]:
    flags = obj.flags
    order = "F" if flags.f_contiguous and not flags.c_contiguous else "C"
    buf: bytes | memoryview
    if flags.c_contiguous:
        try:
            buf = memoryview(obj)
        except (TypeError, ValueError):  # dtypes without a buffer format, e.g. datetime64
            buf = obj.tobytes()
    else:
        buf = obj.tobytes(order="A")
    return EXT_NUMPY_ARRAY, (obj.dtype.str, obj.shape, order, buf)


def _pack_array_meta(meta: tuple[Any, ...]) -> ormsgpack.Ext:
    try:
        return _Ext(EXT_NUMPY_ARRAY, _packb(meta, default=_default, option=PACK_OPTIONS))
    finally:
        if isinstance(meta[3], memoryview):
            meta[3].release()


def _h_exception(obj: Any) -> tuple[int, Any]:
    return _AS_VALUE, repr(obj)


def _h_unrevived(obj: Any) -> tuple[int, Any]:
    value: UnrevivedValue = obj
    if value.code is None:  # read from the "json" format: store what was read
        return _AS_VALUE, value.payload
    if value.kind == "extension":
        return _AS_VALUE, _Ext(value.code, bytes(value.payload))
    if value.method is not None:
        return value.code, (value.module, value.name, value.payload, value.method)
    return value.code, (value.module, value.name, value.payload)


def _has_method(obj: Any, name: str) -> bool:
    return callable(getattr(obj, name, None))


def _handler_for(obj: Any) -> Handler | None:
    """Pick the encoding for a non-native value; the order of the checks is
    part of the format (it decides, e.g., that a named tuple of LangGraph's own
    is a delta snapshot and not a plain named tuple)."""
    if isinstance(obj, UnrevivedValue):
        return _h_unrevived
    if isinstance(obj, _DeltaSnapshot):
        return _h_delta
    if _has_method(obj, "model_dump"):
        return _h_pydantic
    if _has_method(obj, "get_secret_value"):
        return _h_secret
    if _has_method(obj, "dict"):
        return _h_pydantic_v1
    if _has_method(obj, "_asdict"):
        return _h_namedtuple
    if isinstance(obj, pathlib.Path):
        return _h_path
    if isinstance(obj, re.Pattern):
        return _h_pattern
    if isinstance(obj, UUID):
        return _h_uuid
    if isinstance(obj, decimal.Decimal):
        return _h_str_arg
    if isinstance(obj, (set, frozenset, deque)):
        return _h_collection
    if isinstance(
        obj, (IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Interface, IPv6Network)
    ):
        return _h_str_arg
    if isinstance(obj, datetime):
        return _h_datetime
    if isinstance(obj, timedelta):
        return _h_timedelta
    if isinstance(obj, date):
        return _h_date
    if isinstance(obj, time):
        return _h_time
    if isinstance(obj, timezone):
        return _h_timezone
    if isinstance(obj, ZoneInfo):
        return _h_zoneinfo
    if isinstance(obj, Enum):
        return _h_enum
    if isinstance(obj, SendProtocol):
        return _h_send
    if dataclasses.is_dataclass(obj):
        return _h_dataclass
    if isinstance(obj, Item):
        return _h_item
    np = sys.modules.get("numpy")
    if np is not None and isinstance(obj, np.ndarray):
        return _h_ndarray
    if isinstance(obj, BaseException):
        return _h_exception
    return None


_handlers: dict[type, Handler] = {}


def _resolve(obj: Any) -> Handler:
    handler = _handler_for(obj)
    if handler is None:
        raise TypeError(f"cannot serialize object of type {type(obj).__qualname__}")
    # Class objects are looked at by their own attributes, not their type's.
    if not isinstance(obj, type) and len(_handlers) < _CACHE_LIMIT:
        _handlers[type(obj)] = handler
    return handler


# --- locating a failure --------------------------------------------------------------


def _packs(obj: Any) -> bool:
    try:
        pack(obj)
    except Exception:
        return False
    return True


def _children(obj: Any) -> list[tuple[Step, Any]]:
    """The parts of ``obj`` as the encoder sees them, each with its path step."""
    if isinstance(obj, dict):
        return [(("key", k), v) for k, v in obj.items()]
    if type(obj) in (list, tuple):
        return [(("index", i), v) for i, v in enumerate(obj)]
    handler = _handler_for(obj)
    if handler is None:
        return []
    code, payload = handler(obj)
    if code == _AS_VALUE or code == EXT_NUMPY_ARRAY:
        return []
    if code == EXT_DELTA_SNAPSHOT:
        return [(("field", "value"), payload)]
    data = payload[2]
    if isinstance(data, dict):
        return [(("field", k), v) for k, v in data.items()]
    if handler is _h_send:
        return [(("field", n), v) for n, v in zip(("node", "arg", "timeout"), data, strict=False)]
    if isinstance(data, (tuple, list)):
        return [(("index", i), v) for i, v in enumerate(data)]
    return [(("field", "value"), data)]


def _reason(obj: Any, exc: BaseException) -> str:
    name = type(obj).__qualname__
    if isinstance(obj, int) and not isinstance(obj, bool):
        return f"cannot serialize int {obj}: outside the 64-bit range msgpack can store"
    if not isinstance(obj, (dict, list, tuple)) and _handler_for(obj) is None:
        return f"cannot serialize object of type {name}"
    return f"cannot serialize object of type {name}: {exc}"


def locate_failure(obj: Any) -> UnserializableValueError:
    """Find the innermost part of ``obj`` that cannot be encoded and describe it.

    Only called after encoding failed, so the hot path never pays for it.
    """
    steps: list[Step] = []
    chain: list[Any] = []  # the objects on the path; kept alive so identity checks hold
    current = obj
    while True:
        if len(steps) >= _MAX_DEPTH:
            return UnserializableValueError("value is nested too deeply", tuple(steps))
        chain.append(current)
        try:
            children = _children(current)
        except Exception as exc:
            return UnserializableValueError(_reason(current, exc), tuple(steps))
        if isinstance(current, dict):
            for key in current:
                if not _packs({key: None}):
                    steps.append(("key", key))
                    return UnserializableValueError(
                        f"cannot serialize dict key of type {type(key).__qualname__}",
                        tuple(steps),
                    )
        for step, child in children:
            if any(child is seen for seen in chain):
                steps.append(step)
                return UnserializableValueError("circular reference", tuple(steps))
            if not _packs(child):
                steps.append(step)
                current = child
                break
        else:
            try:
                pack(current)
            except Exception as exc:
                return UnserializableValueError(_reason(current, exc), tuple(steps))
            return UnserializableValueError(  # pragma: no cover - encoding is deterministic
                f"cannot serialize object of type {type(current).__qualname__}", tuple(steps)
            )
