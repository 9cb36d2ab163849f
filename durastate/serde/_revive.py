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

# A plan rebuilds one stored (code, module, name) from its payload; plans that
# worked once are cached per Reviver, so the hot path is one dict lookup.
Plan = Callable[[Any], Any]
_PLAN_CACHE_LIMIT = 4096


class _BadArguments(Exception):
    """The stored arguments do not have the shape the encoding promises."""


class _Stale(Exception):
    """The cached class is no longer what its module holds (reloaded or removed)."""


def _args(payload: Any) -> tuple[Any, ...]:
    if not isinstance(payload, (list, tuple)):
        raise _BadArguments
    return tuple(payload)


def _kwargs(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise _BadArguments
    return payload


def _build_dataclass(cls: Any, payload: Any) -> Any:
    if isinstance(payload, (list, tuple)):
        return cls(*payload)
    kwargs = _kwargs(payload)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    init_kwargs = {k: v for k, v in kwargs.items() if k not in fields or fields[k].init}
    obj = cls(**init_kwargs)
    for key, value in kwargs.items():
        field = fields.get(key)
        if field is not None and not field.init:  # restore state set after __init__
            object.__setattr__(obj, key, value)
    return obj


def _build_pydantic(cls: Any, payload: Any) -> Any:
    kwargs = _kwargs(payload)
    try:
        return cls(**kwargs)
    except Exception:
        # Same as LangGraph: a value stored under an older schema keeps its data.
        return cls.model_construct(**kwargs)


def _build_pydantic_v1(cls: Any, payload: Any) -> Any:
    kwargs = _kwargs(payload)
    try:
        return cls(**kwargs)
    except Exception:
        return cls.construct(**kwargs)


def _build_one(cls: Any, payload: Any) -> Any:
    return cls(payload)


def _build_positional(cls: Any, payload: Any) -> Any:
    return cls(*_args(payload))


def _build_keywords(cls: Any, payload: Any) -> Any:
    return cls(**_kwargs(payload))


def _build_send(cls: Any, payload: Any) -> Any:
    args = _args(payload)
    if len(args) == 3:
        return cls(args[0], args[1], timeout=args[2])
    return cls(*args)


def _compile_regex(payload: Any) -> Any:
    args = _args(payload)
    if len(args) != 2 or not isinstance(args[0], (str, bytes)) or type(args[1]) is not int:
        raise _BadArguments
    return re.compile(args[0], args[1])


Builder = Callable[[Any, Any], Any]

_GENERIC_BUILDERS: dict[int, Builder] = {
    EXT_CONSTRUCTOR_SINGLE_ARG: _build_one,
    EXT_CONSTRUCTOR_POS_ARGS: _build_positional,
    EXT_CONSTRUCTOR_KW_ARGS: _build_keywords,
    EXT_PYDANTIC_V1: _build_keywords,
    EXT_PYDANTIC_V2: _build_keywords,
}

# Which stored encodings each kind of data type may be rebuilt from.
_DATA_BUILDERS: dict[tuple[str, int], Builder] = {
    ("enum", EXT_CONSTRUCTOR_SINGLE_ARG): _build_one,
    ("enum", EXT_CONSTRUCTOR_POS_ARGS): _build_positional,
    ("dataclass", EXT_CONSTRUCTOR_KW_ARGS): _build_dataclass,
    ("dataclass", EXT_CONSTRUCTOR_POS_ARGS): _build_dataclass,
    ("namedtuple", EXT_CONSTRUCTOR_KW_ARGS): _build_keywords,
    ("namedtuple", EXT_CONSTRUCTOR_POS_ARGS): _build_positional,
    ("pydantic", EXT_PYDANTIC_V2): _build_pydantic,
    ("pydantic", EXT_PYDANTIC_V1): _build_pydantic,
    ("pydantic", EXT_CONSTRUCTOR_KW_ARGS): _build_pydantic,
    ("pydantic_v1", EXT_PYDANTIC_V1): _build_pydantic_v1,
    ("pydantic_v1", EXT_PYDANTIC_V2): _build_pydantic_v1,
    ("pydantic_v1", EXT_CONSTRUCTOR_KW_ARGS): _build_pydantic_v1,
}


def _bind(build: Builder, cls: Any) -> Plan:
    return lambda payload: build(cls, payload)


def _bind_checked(build: Builder, cls: Any, module: str, name: str) -> Plan:
    def plan(payload: Any) -> Any:
        namespace = getattr(sys.modules.get(module), "__dict__", None)
        if not isinstance(namespace, dict) or namespace.get(name) is not cls:
            raise _Stale
        return build(cls, payload)

    return plan


def _known_plan(code: int, cls: type, module: str, name: str) -> Plan | str:
    kind = _data_kind(cls)
    if name == "Send" and module == "langgraph.types" and code == EXT_CONSTRUCTOR_POS_ARGS:
        return _bind(_build_send, cls)
    if kind is not None:
        build = _DATA_BUILDERS.get((kind, code))
        if build is not None:
            return _bind(build, cls)
    generic = _GENERIC_BUILDERS.get(code)
    if generic is None:
        return f"{module}.{name} cannot be stored as extension type {code}"
    return _bind(generic, cls)


class Reviver:
    """Rebuilds stored objects under one policy: data types only, optionally allowlisted.

    ``allowlist=None`` revives every data type the application has imported;
    a frozenset of ``(module, name)`` restricts application classes to it
    (known stdlib, LangChain and LangGraph types are always revived).
    """

    __slots__ = ("_plans", "allowlist")

    def __init__(self, allowlist: frozenset[TypeKey] | None) -> None:
        self.allowlist = allowlist
        self._plans: dict[tuple[int, str, str, str | None], Plan] = {}

    def revive(
        self, code: int, module: str, name: str, payload: Any, method: str | None = None
    ) -> Any:
        """Rebuild one stored object, or return an :class:`UnrevivedValue` saying why not."""
        key = (code, module, name, method if code == EXT_METHOD_SINGLE_ARG else None)
        plan = self._plans.get(key)
        for _ in range(2):
            if plan is None:
                made = self._plan(code, module, name, method)
                if isinstance(made, str):
                    return self._unrevived(code, module, name, payload, method, made)
                plan = made
                if len(self._plans) < _PLAN_CACHE_LIMIT:
                    self._plans[key] = plan
            try:
                return plan(payload)
            except _Stale:
                self._plans.pop(key, None)
                plan = None
            except _BadArguments:
                reason = "the stored arguments do not fit the stored encoding"
                return self._unrevived(code, module, name, payload, method, reason)
            except Exception as exc:
                reason = f"could not be rebuilt: {type(exc).__name__}: {exc}"
                return self._unrevived(code, module, name, payload, method, reason)
        return self._unrevived(  # pragma: no cover - a module swapped twice mid-call
            code, module, name, payload, method, "its class changed while loading"
        )

    def _plan(self, code: int, module: str, name: str, method: str | None) -> Plan | str:
        if code == EXT_METHOD_SINGLE_ARG:
            if module == "datetime" and name == "datetime" and method == "fromisoformat":
                return datetime.fromisoformat
            return (
                f"calls of {module}.{name}.{method} are never made while loading; "
                "only datetime.datetime.fromisoformat is known"
            )
        if module == "re" and name == "compile":
            if code != EXT_CONSTRUCTOR_POS_ARGS:
                return "re.compile is only known with positional arguments"
            return _compile_regex
        cls = known_type((module, name))
        if cls is not None:
            return _known_plan(code, cls, module, name)
        return self._application_plan(code, module, name)

    def _application_plan(self, code: int, module: str, name: str) -> Plan | str:
        if self.allowlist is not None and (module, name) not in self.allowlist:
            return (
                f"strict mode: {module}.{name} is not on the allowlist; add "
                f"({module!r}, {name!r}) with allowlist= or with_msgpack_allowlist()"
            )
        found = _find_application_class(module, name)
        if isinstance(found, str):
            return found
        kind = _data_kind(found)
        if kind is None:
            return f"{module}.{name} is not a data type ({_DATA_TYPE_WORDS} are revived)"
        build = _DATA_BUILDERS.get((kind, code))
        if build is None:
            return f"{module}.{name} is a {kind} but was stored as extension type {code}"
        return _bind_checked(build, found, module, name)

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
