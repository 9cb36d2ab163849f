"""Open a checkpointer, store and cache from one URL (``sqlite:///app.db``, ``redis://...``).

URL schemes
-----------
``memory://``
    Process memory (``InMemorySaver``, ``InMemoryStore``, ``InMemoryCache``); nothing
    survives the process.
``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``, ``sqlite:///:memory:``
    A SQLite file (three slashes, then the path; a fourth slash makes it absolute).
    SQLite's URI parameters ``mode`` (e.g. ``ro``), ``cache``, ``immutable``, ``nolock``,
    ``psow`` and ``vfs`` are passed on; any other parameter is refused.
``postgresql://user:password@host:5432/dbname`` (or ``postgres://``)
    PostgreSQL. Query parameters other than durastate's own (below) are libpq's
    (``sslmode``, ``connect_timeout``, ``application_name``, ...) and are passed on.
``redis://[:password@]host:6379/0``, ``rediss://...`` (TLS)
    Redis, Valkey or a managed service. ``redis+cluster://`` / ``rediss+cluster://``
    (or ``?cluster=true``) connect to a Redis Cluster. Other query parameters are
    redis-py's (``socket_timeout``, ``ssl_cert_reqs``, ...) and are passed on.

durastate's own query parameters (removed before the URL reaches the driver)
----------------------------------------------------------------------------
``timeout=SECONDS``     (SQLite)  how long to wait for another writer (busy timeout).
``cluster=true|false``  (Redis)   connect to a Redis Cluster.
``schema=NAME``         (Postgres) the schema holding durastate's tables.
``key_prefix=TEXT``     (Redis)   the prefix of durastate's keys.

An unknown scheme, a malformed URL or an option an engine does not take raises
``InvalidURLError`` naming the problem, with any password shown as ``***``.
"""

from __future__ import annotations

import importlib
import inspect
import math
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from contextlib import (
    AbstractAsyncContextManager,
    AsyncExitStack,
    ExitStack,
    asynccontextmanager,
    contextmanager,
    nullcontext,
)
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from langgraph.cache.base import BaseCache
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.store.base import BaseStore, TTLConfig

from durastate.checkpoint.base import CheckpointTTLConfig
from durastate.errors import InvalidInputError

Engine = Literal["memory", "sqlite", "postgres", "redis"]
Part = Literal["checkpointer", "store", "cache"]
PARTS: tuple[Part, ...] = ("checkpointer", "store", "cache")

_SCHEMES: dict[str, Engine] = {
    "memory": "memory",
    "sqlite": "sqlite",
    "postgresql": "postgres",
    "postgres": "postgres",
    "redis": "redis",
    "rediss": "redis",
    "redis+cluster": "redis",
    "rediss+cluster": "redis",
}
EXAMPLES = "memory://, sqlite:///app.db, postgresql://user@host/db, redis://host:6379/0"

_SQLITE_URI_PARAMS = frozenset({"mode", "cache", "immutable", "nolock", "psow", "vfs"})
_DRIVER_PARAMS: dict[Engine, frozenset[str] | None] = {
    "memory": frozenset(),
    "sqlite": _SQLITE_URI_PARAMS,
    "postgres": None,
    "redis": None,
}
"""Query parameters passed on to the driver per engine (None: any, the driver checks)."""

_SECRET_PARAMS = ("password", "passwd", "pass", "sslpassword")


class InvalidURLError(InvalidInputError):
    """A backend URL was malformed, had an unknown scheme or an unsupported option."""


# -- masking ------------------------------------------------------------------------------
_SECRET_QUERY = re.compile(r"(?i)(?<![\w])(" + "|".join(_SECRET_PARAMS) + r")=([^&#\s]*)")


def mask_url(url: str) -> str:
    """The URL with its password (userinfo and ``password=`` parameters) shown as ``***``.

    Works on malformed input too, erring towards hiding: everything between the first
    ``:`` after ``scheme://`` and the last ``@`` before the query counts as the password.
    """
    text = str(url)
    scheme, sep, rest = text.partition("://")
    if sep:
        cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
        head, tail = rest[:cut], rest[cut:]
        at = head.rfind("@")
        if at >= 0:
            user, colon, _ = head[:at].partition(":")
            if colon:
                head = f"{user}:***{head[at:]}"
        text = f"{scheme}{sep}{head}{tail}"
    return _SECRET_QUERY.sub(lambda m: f"{m.group(1)}=***", text)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret (raw or percent-encoded) as ``***``."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def url_secrets(url: str) -> tuple[str, ...]:
    """The passwords a URL carries, raw and as written, for ``redact``."""
    found: list[str] = []
    _, sep, rest = str(url).partition("://")
    if sep:
        cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
        at = rest[:cut].rfind("@")
        if at >= 0:
            _, colon, password = rest[:at].partition(":")
            if colon and password:
                found += [password, unquote(password)]
    for match in _SECRET_QUERY.finditer(str(url)):
        if match.group(2):
            found += [match.group(2), unquote(match.group(2))]
    return tuple(dict.fromkeys(found))


# -- parsing ------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class BackendURL:
    """A parsed backend URL. ``str()`` and ``repr()`` never show the password."""

    engine: Engine
    raw: str
    target: str
    """What the engine's ``from_conn_string`` receives: a file path or a driver URL."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """durastate's query parameters, converted: keyword arguments for the classes."""
    cluster: bool = False

    @property
    def masked(self) -> str:
        return mask_url(self.raw)

    @property
    def secrets(self) -> tuple[str, ...]:
        return url_secrets(self.raw)

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"BackendURL({self.masked!r})"


def _fail(url: str, problem: str) -> InvalidURLError:
    return InvalidURLError(f"backend URL {mask_url(url)!r}: {problem}")


def _flag(url: str, name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise _fail(url, f"query parameter {name!r} must be true or false, got {value!r}")


def _seconds(url: str, name: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise _fail(url, f"query parameter {name!r} must be positive seconds, got {value!r}")
    return seconds


def _name(url: str, name: str, value: str) -> str:
    if not value or "\x00" in value:
        raise _fail(url, f"query parameter {name!r} must be a non-empty name")
    return value


_Converter = Callable[[str, str, str], Any]
_OPTIONS: dict[Engine, dict[str, _Converter]] = {
    "memory": {},
    "sqlite": {"timeout": _seconds},
    "postgres": {"schema": _name},
    "redis": {"cluster": _flag, "key_prefix": _name},
}
"""durastate's own query parameters per engine, each with its converter."""

QUERY_PARAMETERS: dict[Engine, tuple[tuple[str, str], ...]] = {
    "memory": (),
    "sqlite": (
        ("timeout=SECONDS", "how long to wait for another writer"),
        ("mode cache immutable nolock psow vfs", "SQLite's, passed on"),
    ),
    "postgres": (
        ("schema=NAME", "the schema holding durastate's tables"),
        ("others", "libpq's (sslmode, connect_timeout, ...), passed on"),
    ),
    "redis": (
        ("cluster=true|false", "a Redis Cluster (like redis+cluster://)"),
        ("key_prefix=TEXT", "the prefix of durastate's keys (default durastate)"),
        ("others", "redis-py's (socket_timeout, ...), passed on"),
    ),
}
"""What each engine's URL query string may hold, for help texts (keep beside ``_OPTIONS``)."""


def parse_url(url: str) -> BackendURL:
    """Check a backend URL and split it into engine, driver target and durastate options."""
    if not isinstance(url, str):
        raise InvalidURLError(f"backend URL must be a string, got {type(url).__name__}")
    if not url:
        raise InvalidURLError(f"backend URL is empty; examples: {EXAMPLES}")
    if url != url.strip() or any(c.isspace() for c in url):
        raise _fail(url, "contains whitespace")
    scheme, sep, _ = url.partition("://")
    if not sep:
        raise _fail(url, f"not a URL (expected scheme://...); examples: {EXAMPLES}")
    engine = _SCHEMES.get(scheme.lower())
    if engine is None:
        known = ", ".join(f"{s}://" for s in _SCHEMES)
        raise _fail(url, f"unknown scheme {scheme!r}; known schemes: {known}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _fail(url, f"malformed ({mask_url(str(exc))})") from None
    if parts.fragment:
        raise _fail(url, "a '#fragment' is not allowed")
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    ours_known = _OPTIONS[engine]
    names = [k for k, _ in pairs if k in ours_known]
    if len(names) != len(set(names)):
        raise _fail(url, "a durastate query parameter is given twice")
    ours = {k: ours_known[k](url, k, v) for k, v in pairs if k in ours_known}
    rest = [(k, v) for k, v in pairs if k not in ours_known]
    passes = _DRIVER_PARAMS[engine]
    unknown = sorted({k for k, _ in rest if passes is not None and k not in passes})
    if unknown:
        allowed = ", ".join(sorted({*ours_known, *(passes or ())})) or "none"
        raise _fail(url, f"unknown query parameter(s) {', '.join(unknown)} (allowed: {allowed})")
    query = urlencode(rest) if ours else parts.query
    cluster = bool(ours.pop("cluster", False))
    if engine == "memory":
        if parts.netloc or parts.path:
            raise _fail(url, "memory:// takes no host or path")
        return BackendURL("memory", url, "", ours)
    if engine == "sqlite":
        if parts.netloc:
            raise _fail(
                url,
                "SQLite URLs have no host; use sqlite:///relative.db or sqlite:////abs/path.db"
                f" (did you mean sqlite:///{parts.netloc}{parts.path}?)",
            )
        path = unquote(parts.path[1:])
        if not path:
            raise _fail(url, "needs a file path, e.g. sqlite:///app.db or sqlite:///:memory:")
        if "\x00" in path:
            raise _fail(url, "the path contains NUL")
        if query:
            return BackendURL("sqlite", url, f"sqlite:///{parts.path[1:]}?{query}", ours)
        return BackendURL("sqlite", url, path, ours)
    if port is not None and not 0 < port < 65536:
        raise _fail(url, f"port {port} is out of range")
    base = scheme.lower()
    cluster = cluster or base.endswith("+cluster")
    if engine == "redis":
        base = base.removesuffix("+cluster")
        if not parts.hostname:
            raise _fail(url, "needs a host, e.g. redis://localhost:6379/0")
    target = f"{base}://{parts.netloc}{parts.path}" + (f"?{query}" if query else "")
    if engine == "postgres":
        _check_conninfo(url, target)
    return BackendURL(engine, url, target, ours, cluster)


def _check_conninfo(url: str, target: str) -> None:
    """Let libpq parse a Postgres URL now (it does not connect), so a malformed one is
    refused here with the password masked, instead of by a pool that retries it in the
    background and logs libpq's message, which can quote the password."""
    try:
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:  # no postgres extra: opening the class says what to install
        return
    try:
        conninfo_to_dict(target)
        return
    except Exception as exc:  # raised below, so libpq's unmasked error is not its context
        reason = redact(mask_url(str(exc)), url_secrets(url))
    raise _fail(url, f"malformed ({reason.strip()})")


# -- opening ------------------------------------------------------------------------------
class Backends(NamedTuple):
    """What ``open_backends`` yields: pass them to ``compile(checkpointer=, store=, cache=)``."""

    checkpointer: BaseCheckpointSaver[Any]
    store: BaseStore
    cache: BaseCache[Any]


@dataclass(frozen=True)
class PartOptions:
    """Arguments for the classes: the store's index and TTL, the saver's TTL, the serde."""

    index: Mapping[str, Any] | None = None
    ttl: TTLConfig | None = None
    checkpoint_ttl: CheckpointTTLConfig | None = None
    serde: SerializerProtocol | None = None


_CLASSES: dict[tuple[Engine, Part], tuple[str, str, str]] = {
    ("memory", "checkpointer"): ("durastate.checkpoint", "InMemorySaver", "InMemorySaver"),
    ("memory", "store"): ("durastate.store", "InMemoryStore", "InMemoryStore"),
    ("memory", "cache"): ("durastate.cache", "InMemoryCache", "InMemoryCache"),
    ("sqlite", "checkpointer"): ("durastate.checkpoint", "SqliteSaver", "AsyncSqliteSaver"),
    ("sqlite", "store"): ("durastate.store", "SqliteStore", "AsyncSqliteStore"),
    ("sqlite", "cache"): ("durastate.cache", "SqliteCache", "SqliteCache"),
    ("postgres", "checkpointer"): ("durastate.checkpoint", "PostgresSaver", "AsyncPostgresSaver"),
    ("postgres", "store"): ("durastate.store", "PostgresStore", "AsyncPostgresStore"),
    ("postgres", "cache"): ("durastate.cache", "PostgresCache", "PostgresCache"),
    ("redis", "checkpointer"): ("durastate.checkpoint", "RedisSaver", "AsyncRedisSaver"),
    ("redis", "store"): ("durastate.store", "RedisStore", "AsyncRedisStore"),
    ("redis", "cache"): ("durastate.cache", "RedisCache", "RedisCache"),
}
"""(module, sync class, async class) for each engine and part."""

_DRIVERS = {
    "aiosqlite": "sqlite",
    "psycopg": "postgres",
    "psycopg_pool": "postgres",
    "redis": "redis",
    "hiredis": "redis",
}


def backend_class(engine: Engine, part: Part, *, use_async: bool = False) -> type[Any]:
    """The durastate class serving ``part`` on ``engine`` (imported on first use)."""
    module, sync_name, async_name = _CLASSES[(engine, part)]
    name = async_name if use_async else sync_name
    try:
        return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]
    except ModuleNotFoundError as exc:
        extra = _DRIVERS.get((exc.name or "").split(".")[0])
        if extra is None:
            raise
        raise ModuleNotFoundError(
            f"{name} needs the {exc.name!r} package: pip install 'durastate[{extra}]'",
            name=exc.name,
        ) from exc


def _kwargs(fn: Callable[..., Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The non-None arguments ``fn`` accepts; an argument it lacks is an error, not dropped."""
    params = inspect.signature(fn).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    out = {}
    for name, value in wanted.items():
        if value is None:
            continue
        if not takes_any and name not in params:
            owner = getattr(fn, "__qualname__", repr(fn))
            raise InvalidInputError(f"{owner} does not take {name}=")
        out[name] = value
    return out


def _arguments(part: Part, opts: PartOptions) -> dict[str, Any]:
    if part == "store":
        return {"index": opts.index, "ttl": opts.ttl}
    if part == "checkpointer":
        return {"ttl": opts.checkpoint_ttl, "serde": opts.serde}
    return {"serde": opts.serde}


def _opener(url: BackendURL, part: Part, opts: PartOptions, use_async: bool) -> Any:
    """A context manager (sync or async, as the class offers) that yields the object."""
    cls = backend_class(url.engine, part, use_async=use_async)
    wanted = _arguments(part, opts)
    if url.engine == "memory":
        instance = cls(**_kwargs(cls, wanted))
        return instance if hasattr(instance, "__enter__") else nullcontext(instance)
    wanted.update(url.options)
    if url.cluster:
        wanted["cluster"] = True
    factory = cls.from_conn_string
    return factory(url.target, **_kwargs(factory, wanted))


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _setup_sync(obj: Any) -> None:
    setup = getattr(obj, "setup", None)
    if setup is not None:
        result = setup()
        if inspect.isawaitable(result):
            raise TypeError(f"{type(obj).__name__}.setup() is async; use aopen_backends")


@contextmanager
def open_part(
    url: str | BackendURL, part: Part, options: PartOptions | None = None, *, setup: bool = False
) -> Iterator[Any]:
    """Open one part (``"checkpointer"``, ``"store"`` or ``"cache"``) of a backend, sync."""
    parsed = url if isinstance(url, BackendURL) else parse_url(url)
    with _opener(parsed, part, options or PartOptions(), use_async=False) as obj:
        if setup:
            _setup_sync(obj)
        yield obj


@asynccontextmanager
async def aopen_part(
    url: str | BackendURL, part: Part, options: PartOptions | None = None, *, setup: bool = False
) -> AsyncIterator[Any]:
    """Open one part of a backend with its async class."""
    parsed = url if isinstance(url, BackendURL) else parse_url(url)
    opener = _opener(parsed, part, options or PartOptions(), use_async=True)
    async with AsyncExitStack() as stack:
        if isinstance(opener, AbstractAsyncContextManager) or hasattr(opener, "__aenter__"):
            obj = await stack.enter_async_context(opener)
        else:
            obj = stack.enter_context(opener)
        if setup and getattr(obj, "setup", None) is not None:
            await _maybe_await(obj.setup())
        yield obj


@contextmanager
def open_backends(
    url: str,
    *,
    index: Mapping[str, Any] | None = None,
    ttl: TTLConfig | None = None,
    checkpoint_ttl: CheckpointTTLConfig | None = None,
    serde: SerializerProtocol | None = None,
    setup: bool = False,
) -> Iterator[Backends]:
    """Open the checkpointer, store and cache a URL names (sync classes); close them after.

    ``index`` and ``ttl`` configure the store (as in ``PostgresStore(index=, ttl=)``),
    ``checkpoint_ttl`` the checkpointer's thread TTL, ``serde`` the checkpointer's and
    cache's serializer. ``setup=True`` creates or upgrades the schemas first.
    """
    parsed = parse_url(url)
    opts = PartOptions(index, ttl, checkpoint_ttl, serde)
    with ExitStack() as stack:
        found = [stack.enter_context(open_part(parsed, p, opts, setup=setup)) for p in PARTS]
        yield Backends(*found)


@asynccontextmanager
async def aopen_backends(
    url: str,
    *,
    index: Mapping[str, Any] | None = None,
    ttl: TTLConfig | None = None,
    checkpoint_ttl: CheckpointTTLConfig | None = None,
    serde: SerializerProtocol | None = None,
    setup: bool = False,
) -> AsyncIterator[Backends]:
    """``open_backends`` with the async classes (``AsyncSqliteSaver``, ...)."""
    parsed = parse_url(url)
    opts = PartOptions(index, ttl, checkpoint_ttl, serde)
    async with AsyncExitStack() as stack:
        found = [
            await stack.enter_async_context(aopen_part(parsed, p, opts, setup=setup)) for p in PARTS
        ]
        yield Backends(*found)


__all__ = [
    "PARTS",
    "BackendURL",
    "Backends",
    "InvalidURLError",
    "PartOptions",
    "aopen_backends",
    "aopen_part",
    "backend_class",
    "mask_url",
    "open_backends",
    "open_part",
    "parse_url",
    "redact",
    "url_secrets",
]
