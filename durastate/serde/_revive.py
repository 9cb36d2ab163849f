"""Decide which stored type names are rebuilt, and find their classes without importing."""

from __future__ import annotations

import dataclasses
import decimal
import functools
import pathlib
import re
import sys
from collections import deque
from collections.abc import Callable, Iterable
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

from durastate.errors import InvalidInputError
from durastate.serde._ext import (
    EXT_CONSTRUCTOR_KW_ARGS,
    EXT_CONSTRUCTOR_POS_ARGS,
    EXT_CONSTRUCTOR_SINGLE_ARG,
    EXT_METHOD_SINGLE_ARG,
    EXT_PYDANTIC_V1,
    EXT_PYDANTIC_V2,
)
from durastate.serde._raw import UnrevivedValue

TypeKey = tuple[str, str]

_KIND_BY_CODE = {
    EXT_CONSTRUCTOR_SINGLE_ARG: "constructor",
    EXT_CONSTRUCTOR_POS_ARGS: "constructor",
    EXT_CONSTRUCTOR_KW_ARGS: "constructor",
    EXT_METHOD_SINGLE_ARG: "method",
    EXT_PYDANTIC_V1: "pydantic_v1",
    EXT_PYDANTIC_V2: "pydantic",
}

# Value types of the standard library, rebuilt by calling the class itself.
_STDLIB_TYPES: dict[TypeKey, type] = {
    ("datetime", "datetime"): datetime,
    ("datetime", "date"): date,
    ("datetime", "time"): time,
    ("datetime", "timedelta"): timedelta,
    ("datetime", "timezone"): timezone,
    ("uuid", "UUID"): UUID,
    ("decimal", "Decimal"): decimal.Decimal,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("collections", "deque"): deque,
    ("ipaddress", "IPv4Address"): IPv4Address,
    ("ipaddress", "IPv4Interface"): IPv4Interface,
    ("ipaddress", "IPv4Network"): IPv4Network,
    ("ipaddress", "IPv6Address"): IPv6Address,
    ("ipaddress", "IPv6Interface"): IPv6Interface,
    ("ipaddress", "IPv6Network"): IPv6Network,
    ("pathlib", "Path"): pathlib.Path,
    ("pathlib", "PosixPath"): pathlib.PosixPath,
    ("pathlib", "WindowsPath"): pathlib.WindowsPath,
    ("pathlib", "PurePath"): pathlib.PurePath,
    ("pathlib", "PurePosixPath"): pathlib.PurePosixPath,
    ("pathlib", "PureWindowsPath"): pathlib.PureWindowsPath,
    # Python 3.13 moved the path classes; blobs written there name this module.
    ("pathlib._local", "Path"): pathlib.Path,
    ("pathlib._local", "PosixPath"): pathlib.PosixPath,
    ("pathlib._local", "WindowsPath"): pathlib.WindowsPath,
    ("zoneinfo", "ZoneInfo"): ZoneInfo,
    ("zoneinfo._zoneinfo", "ZoneInfo"): ZoneInfo,
}

_LC_MESSAGE_MODULES = {
    "base": ("BaseMessage", "BaseMessageChunk"),
    "human": ("HumanMessage", "HumanMessageChunk"),
    "ai": ("AIMessage", "AIMessageChunk"),
    "system": ("SystemMessage", "SystemMessageChunk"),
    "chat": ("ChatMessage", "ChatMessageChunk"),
    "tool": ("ToolMessage", "ToolMessageChunk"),
    "function": ("FunctionMessage", "FunctionMessageChunk"),
    "modifier": ("RemoveMessage",),
}


@functools.cache
def langchain_types() -> dict[TypeKey, type]:
    """LangChain's message and document classes, by their defining module.

    These imports are durastate's own, of a fixed list; nothing stored chooses them.
    """
    try:
        from langchain_core import messages
        from langchain_core.documents.base import Document
    except ImportError:  # pragma: no cover - langchain-core is a LangGraph dependency
        return {}
    table: dict[TypeKey, type] = {}
    for names in _LC_MESSAGE_MODULES.values():
        for name in names:
            cls = getattr(messages, name, None)
            if isinstance(cls, type):
                table[(cls.__module__, name)] = cls
    table[("langchain_core.documents.base", "Document")] = Document
    return table


@functools.cache
def _other_known_types() -> dict[TypeKey, type]:
    """LangGraph's own value types and pydantic's secret types (a fixed list)."""
    table: dict[TypeKey, type] = {}
    from langgraph.store.base import GetOp, Item

    table[("langgraph.store.base", "Item")] = Item
    table[("langgraph.store.base", "GetOp")] = GetOp
    try:
        from langgraph.types import (
            Command,
            Interrupt,
            Overwrite,
            PregelTask,
            Send,
            StateSnapshot,
            TimeoutPolicy,
        )
    except ImportError:  # only langgraph-checkpoint is installed
        pass
    else:
        for cls in (Command, Interrupt, Overwrite, PregelTask, Send, StateSnapshot, TimeoutPolicy):
            table[("langgraph.types", cls.__name__)] = cls
    try:
        from pydantic import SecretBytes, SecretStr
    except ImportError:  # pragma: no cover - pydantic is a langchain-core dependency
        pass
    else:
        table[("pydantic.types", "SecretStr")] = SecretStr
        table[("pydantic.types", "SecretBytes")] = SecretBytes
    return table


@functools.cache
def _known_table() -> dict[TypeKey, type]:
    return {**_STDLIB_TYPES, **langchain_types(), **_other_known_types()}


def known_type(key: TypeKey) -> type | None:
    """The class of a built-in known type (stdlib, LangChain, LangGraph), if it is one."""
    return _known_table().get(key)


def normalize_allowlist(entries: Iterable[tuple[str, ...] | type]) -> frozenset[TypeKey]:
    """``(module, name)`` pairs from pairs or classes; anything else is rejected."""
    result: set[TypeKey] = set()
    for entry in entries:
        if isinstance(entry, type):
            result.add((entry.__module__, entry.__name__))
        elif (
            isinstance(entry, tuple)
            and len(entry) == 2
            and isinstance(entry[0], str)
            and isinstance(entry[1], str)
        ):
            result.add((entry[0], entry[1]))
        else:
            raise InvalidInputError(
                f"allowlist entries must be classes or (module, name) tuples, got {entry!r}"
            )
    return frozenset(result)


# --- what counts as a data type ------------------------------------------------------

_kind_cache: dict[type, str | None] = {}
_KIND_CACHE_LIMIT = 4096


def _data_kind(cls: type) -> str | None:
    try:
        return _kind_cache[cls]
    except KeyError:
        pass
    kind: str | None = None
    if issubclass(cls, BaseException):
        kind = None
    elif issubclass(cls, Enum):
        kind = "enum"
    elif dataclasses.is_dataclass(cls):
        kind = "dataclass"
    elif issubclass(cls, tuple) and isinstance(getattr(cls, "_fields", None), tuple):
        kind = "namedtuple"
    else:
        pydantic = sys.modules.get("pydantic")
        pydantic_v1 = sys.modules.get("pydantic.v1")
        if pydantic is not None and issubclass(cls, pydantic.BaseModel):
            kind = "pydantic"
        elif pydantic_v1 is not None and issubclass(cls, pydantic_v1.BaseModel):
            kind = "pydantic_v1"
    if len(_kind_cache) < _KIND_CACHE_LIMIT:
        _kind_cache[cls] = kind
    return kind


_DATA_TYPE_WORDS = "pydantic models, dataclasses, named tuples and enums"


def _find_application_class(module: str, name: str) -> type | str:
    """The class ``module.name`` if the application has imported it, else why not."""
    mod = sys.modules.get(module)
    if mod is None:
        return (
            f"module {module!r} is not imported; loading never imports modules, so "
            f"import it before loading if {module}.{name} is one of your data types"
        )
    namespace = getattr(mod, "__dict__", None)
    # Read the module's namespace directly: a module-level __getattr__ could import.
    cls = namespace.get(name) if isinstance(namespace, dict) else None
    if not isinstance(cls, type):
        return f"{module}.{name} is not a class defined in an imported module"
    if cls.__module__ != module or cls.__name__ != name:
        return f"{module}.{name} is an alias of {cls.__module__}.{cls.__name__}"
    return cls


# --- rebuilding -----------------------------------------------------------------------


def _call_args(code: int, payload: Any) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
    if code == EXT_CONSTRUCTOR_SINGLE_ARG or code == EXT_METHOD_SINGLE_ARG:
        return (payload,), {}
    if code == EXT_CONSTRUCTOR_POS_ARGS:
        return (tuple(payload), {}) if isinstance(payload, (list, tuple)) else None
    if isinstance(payload, dict) and all(isinstance(k, str) for k in payload):
        return (), payload
    return None


def _build_dataclass(cls: type, kwargs: dict[str, Any]) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    init_kwargs = {k: v for k, v in kwargs.items() if k not in fields or fields[k].init}
    obj = cls(**init_kwargs)
    for key, value in kwargs.items():
        field = fields.get(key)
        if field is not None and not field.init:
            object.__setattr__(obj, key, value)
    return obj


def _build_pydantic(cls: Any, kwargs: dict[str, Any], fallback: str) -> Any:
    try:
        return cls(**kwargs)
    except Exception:
        # A model whose schema changed since the value was stored: keep the data.
        return getattr(cls, fallback)(**kwargs)


def _build_send(cls: Any, args: tuple[Any, ...]) -> Any:
    if len(args) == 3:
        return cls(args[0], args[1], timeout=args[2])
    return cls(*args)


class Reviver:
    """Rebuilds stored objects under one policy: data types only, optionally allowlisted.

    ``allowlist=None`` revives every data type the application has imported;
    a frozenset of ``(module, name)`` restricts application classes to it
    (known stdlib, LangChain and LangGraph types are always revived).
    """

    __slots__ = ("allowlist",)

    def __init__(self, allowlist: frozenset[TypeKey] | None) -> None:
        self.allowlist = allowlist

    def revive(
        self, code: int, module: str, name: str, payload: Any, method: str | None = None
    ) -> Any:
        """Rebuild one stored object, or return an :class:`UnrevivedValue` saying why not."""
        key = (module, name)
        try:
            if code == EXT_METHOD_SINGLE_ARG:
                if key == ("datetime", "datetime") and method == "fromisoformat":
                    return datetime.fromisoformat(payload)
                return self._unrevived(
                    code,
                    module,
                    name,
                    payload,
                    method,
                    f"calls of {module}.{name}.{method} are never made while loading; "
                    "only datetime.datetime.fromisoformat is known",
                )
            if key == ("re", "compile"):
                return self._compile(code, payload)
            cls = known_type(key)
            if cls is not None:
                return self._build_known(code, cls, module, name, payload, method)
            return self._build_application(code, module, name, payload, method)
        except Exception as exc:
            return self._unrevived(
                code,
                module,
                name,
                payload,
                method,
                f"could not be rebuilt: {type(exc).__name__}: {exc}",
            )

    def _compile(self, code: int, payload: Any) -> Any:
        if (
            code == EXT_CONSTRUCTOR_POS_ARGS
            and isinstance(payload, (list, tuple))
            and len(payload) == 2
            and isinstance(payload[0], (str, bytes))
            and isinstance(payload[1], int)
        ):
            return re.compile(payload[0], payload[1])
        return self._unrevived(code, "re", "compile", payload, None, "unexpected arguments")

    def _build_known(
        self, code: int, cls: type, module: str, name: str, payload: Any, method: str | None
    ) -> Any:
        call = _call_args(code, payload)
        if call is None:
            return self._unrevived(code, module, name, payload, method, "unexpected arguments")
        args, kwargs = call
        kind = _data_kind(cls)
        if kind in ("pydantic", "pydantic_v1") and not args:
            fallback = "model_construct" if kind == "pydantic" else "construct"
            return _build_pydantic(cls, kwargs, fallback)
        if kind == "dataclass" and kwargs:
            return _build_dataclass(cls, kwargs)
        if name == "Send" and module == "langgraph.types":
            return _build_send(cls, args)
        return cls(*args, **kwargs)

    def _build_application(
        self, code: int, module: str, name: str, payload: Any, method: str | None
    ) -> Any:
        if self.allowlist is not None and (module, name) not in self.allowlist:
            return self._unrevived(
                code,
                module,
                name,
                payload,
                method,
                f"strict mode: {module}.{name} is not on the allowlist; add "
                f"({module!r}, {name!r}) with allowlist= or with_msgpack_allowlist()",
            )
        found = _find_application_class(module, name)
        if isinstance(found, str):
            return self._unrevived(code, module, name, payload, method, found)
        kind = _data_kind(found)
        builder = _BUILDERS.get((kind, code)) if kind is not None else None
        if builder is None:
            reason = (
                f"{module}.{name} is not a data type ({_DATA_TYPE_WORDS} are revived)"
                if kind is None
                else f"{module}.{name} is a {kind} but was stored as extension type {code}"
            )
            return self._unrevived(code, module, name, payload, method, reason)
        call = _call_args(code, payload)
        if call is None:
            return self._unrevived(code, module, name, payload, method, "unexpected arguments")
        return builder(found, *call)

    @staticmethod
    def _unrevived(
        code: int, module: str, name: str, payload: Any, method: str | None, reason: str
    ) -> UnrevivedValue:
        return UnrevivedValue(
            module,
            name,
            _KIND_BY_CODE.get(code, "extension"),
            payload,
            reason,
            code=code,
            method=method,
        )


Builder = Callable[[Any, tuple[Any, ...], dict[str, Any]], Any]


def _plain(cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return cls(*args, **kwargs)


def _dataclass(cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return _build_dataclass(cls, kwargs) if kwargs or not args else cls(*args)


def _pydantic(cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return _build_pydantic(cls, kwargs, "model_construct")


def _pydantic_v1(cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return _build_pydantic(cls, kwargs, "construct")


# Which stored encodings each kind of data type may be rebuilt from.
_BUILDERS: dict[tuple[str, int], Builder] = {
    ("enum", EXT_CONSTRUCTOR_SINGLE_ARG): _plain,
    ("enum", EXT_CONSTRUCTOR_POS_ARGS): _plain,
    ("dataclass", EXT_CONSTRUCTOR_KW_ARGS): _dataclass,
    ("dataclass", EXT_CONSTRUCTOR_POS_ARGS): _dataclass,
    ("namedtuple", EXT_CONSTRUCTOR_KW_ARGS): _plain,
    ("namedtuple", EXT_CONSTRUCTOR_POS_ARGS): _plain,
    ("pydantic", EXT_PYDANTIC_V2): _pydantic,
    ("pydantic", EXT_PYDANTIC_V1): _pydantic,
    ("pydantic", EXT_CONSTRUCTOR_KW_ARGS): _pydantic,
    ("pydantic_v1", EXT_PYDANTIC_V1): _pydantic_v1,
    ("pydantic_v1", EXT_PYDANTIC_V2): _pydantic_v1,
    ("pydantic_v1", EXT_CONSTRUCTOR_KW_ARGS): _pydantic_v1,
}
