"""Secrets: encrypted blobs on every engine are unreadable without the key and tampering is
detected; passwords never appear in a repr, a log record, an exception or CLI output."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import ormsgpack
import pytest
from attacks_support import (
    RAW_ENGINES,
    all_stored_bytes,
    cache_bytes,
    channel_blobs,
    poison_cache,
    poison_channels,
    reopened,
    set_channel_bytes,
)
from hostile_support import Engines, engines
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import empty_checkpoint
from redis_support import delete_prefix

from durastate.errors import DeserializationError, InvalidInputError
from durastate.serde import DurastateSerializer
from durastate.serde._ciphers import LangGraphAesCipher

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
SECRET = f"top-secret-{uuid.uuid4().hex}"
"""Plaintext that must not be found in any stored byte."""


@pytest.fixture(scope="module")
def sealed(postgres_url: str, redis_url: str) -> Iterator[Engines]:
    """Backends of every engine whose savers and caches encrypt with ``KEY``."""
    with engines(postgres_url, redis_url, serde=DurastateSerializer(encryption_key=KEY)) as made:
        yield made


def _secret_thread(backends: Engines, engine: str) -> RunnableConfig:
    """A thread whose two large channels, one small (inline on SQLite) channel, metadata-free
    values and pending write all hold ``SECRET``."""
    thread: RunnableConfig = {
        "configurable": {"thread_id": f"sealed-{uuid.uuid4().hex}", "checkpoint_ns": ""}
    }
    cp = empty_checkpoint()
    cp["channel_values"] = {
        "a": f"{SECRET}-a" + "." * 2000,
        "b": f"{SECRET}-b" + "," * 2000,
        "small": f"{SECRET}-s",
    }
    cp["channel_versions"] = {"a": "00001", "b": "00001", "small": "00001"}
    versions = dict(cp["channel_versions"])
    saved = backends.savers[engine].put(thread, cp, {"source": "input", "step": -1}, versions)
    backends.savers[engine].put_writes(saved, [("a", f"{SECRET}-w")], "task-1")
    return thread


def _values(backends: Engines, engine: str, thread: RunnableConfig) -> dict[str, Any]:
    got = backends.savers[engine].get_tuple(thread)
    assert got is not None
    return dict(got.checkpoint["channel_values"])


@pytest.mark.parametrize("engine", RAW_ENGINES)
def test_stored_bytes_hold_no_plaintext(sealed: Engines, engine: str) -> None:
    """Channel values (inline and blob), pending writes and cache entries are ciphertext in
    the SQLite file, in every Postgres column and in every Redis value; the owner reads them."""
    thread = _secret_thread(sealed, engine)
    ns = ("sealed", uuid.uuid4().hex)
    sealed.caches[engine].set({(ns, "k"): ({"v": f"{SECRET}-c"}, None)})
    stored = all_stored_bytes(sealed, engine)
    assert len(stored) > 4000  # the walk found the data
    assert SECRET.encode() not in stored
    assert SECRET[:16].encode() not in stored
    got = sealed.savers[engine].get_tuple(thread)
    assert got is not None
    assert got.checkpoint["channel_values"]["small"] == f"{SECRET}-s"
    assert [w[2] for w in got.pending_writes or []] == [f"{SECRET}-w"]
    assert sealed.caches[engine].get([(ns, "k")]) == {(ns, "k"): {"v": f"{SECRET}-c"}}


READERS: dict[str, tuple[DurastateSerializer, str]] = {
    "no key": (DurastateSerializer(), r"encrypted with AES-256-GCM and needs a key"),
    "wrong key": (DurastateSerializer(encryption_key=OTHER_KEY), r"failed authentication"),
    "old key only as previous": (
        DurastateSerializer(encryption_key=OTHER_KEY, previous_keys=[bytes(32)]),
        r"failed authentication",
    ),
}


@pytest.mark.parametrize("engine", RAW_ENGINES)
@pytest.mark.parametrize("reader", list(READERS))
def test_reading_without_the_key_fails_clearly(sealed: Engines, engine: str, reader: str) -> None:
    thread = _secret_thread(sealed, engine)
    ns = ("sealed", uuid.uuid4().hex)
    sealed.caches[engine].set({(ns, "k"): (f"{SECRET}-c", None)})
    serde, message = READERS[reader]
    with reopened(sealed, engine, serde) as (saver, cache):
        with pytest.raises(DeserializationError, match=message) as info:
            saver.get_tuple(thread)
        assert repr(thread["configurable"]["thread_id"]) in str(info.value)
        with pytest.raises(DeserializationError, match=message):
            list(saver.list(thread))
        with pytest.raises(DeserializationError, match=message):
            cache.get([(ns, "k")])
    with reopened(sealed, engine, DurastateSerializer(previous_keys=[OTHER_KEY, KEY])) as pair:
        got = pair[0].get_tuple(thread)  # the key as a previous key still reads
        assert got is not None and got.checkpoint["channel_values"]["small"] == f"{SECRET}-s"


def _flip(data: bytes, at: int) -> bytes:
    out = bytearray(data)
    out[at] ^= 0x01
    return bytes(out)


def _framing(engine: str) -> int:
    """Bytes before the ciphertext in a stored blob (Redis keeps ``type NUL`` in front)."""
    return len(b"msgpack+at+aesgcm\x00") if engine == "redis" else 0


TAMPERS: dict[str, Callable[[list[bytes], int], list[bytes]]] = {
    "flip a nonce byte": lambda b, f: [_flip(b[0], f), *b[1:]],
    "flip a ciphertext byte": lambda b, f: [_flip(b[0], f + 12 + 20), *b[1:]],
    "flip the last tag byte": lambda b, f: [_flip(b[0], len(b[0]) - 1), *b[1:]],
    "truncate the tag": lambda b, f: [b[0][:-3], *b[1:]],
    "truncate to the nonce": lambda b, f: [b[0][: f + 12], *b[1:]],
    "empty ciphertext": lambda b, f: [b[0][:f], *b[1:]],
    "append a byte": lambda b, f: [b[0] + b"\x00", *b[1:]],
}


@pytest.mark.parametrize("engine", RAW_ENGINES)
@pytest.mark.parametrize("tamper", list(TAMPERS))
def test_tampered_channel_blob_is_detected(sealed: Engines, engine: str, tamper: str) -> None:
    """A changed stored ciphertext is refused with an error naming the channel, through the
    saver that wrote it (nothing cached) and through a fresh one; never wrong data."""
    thread = _secret_thread(sealed, engine)
    tid = thread["configurable"]["thread_id"]
    blobs = channel_blobs(sealed, engine, tid)
    assert len(blobs) == (2 if engine == "sqlite" else 3)  # 'a', 'b', ('small'): by name
    set_channel_bytes(sealed, engine, tid, TAMPERS[tamper](blobs, _framing(engine)))
    with pytest.raises(DeserializationError, match=r"channel 'a'.*(authentication|truncated)"):
        sealed.savers[engine].get_tuple(thread)
    with reopened(sealed, engine, DurastateSerializer(encryption_key=KEY)) as (saver, _):
        with pytest.raises(DeserializationError, match=r"channel 'a'"):
            saver.get_tuple(thread)
    set_channel_bytes(sealed, engine, tid, blobs)
    assert _values(sealed, engine, thread)["a"].startswith(f"{SECRET}-a")


@pytest.mark.parametrize("engine", ("sqlite", "postgres"))
@pytest.mark.parametrize("type_", ["json+aesgcm", "bytes+aesgcm", "msgpack+z+aesgcm"])
def test_changed_type_string_is_detected(sealed: Engines, engine: str, type_: str) -> None:
    """The inner type string is authenticated: relabelling a blob's format is refused."""
    from attacks_support import _sql

    thread = _secret_thread(sealed, engine)
    tid = thread["configurable"]["thread_id"]
    _sql(
        sealed,
        engine,
        "UPDATE durastate_checkpoint_blobs SET type = %s WHERE thread_id = %s AND channel = 'a'",
        (type_, tid),
    )
    with pytest.raises(DeserializationError, match=r"channel 'a'.*authentication"):
        sealed.savers[engine].get_tuple(thread)


@pytest.mark.parametrize("engine", RAW_ENGINES)
@pytest.mark.parametrize("tamper", ["flip a ciphertext byte", "truncate the tag"])
def test_tampered_cache_entry_is_detected(sealed: Engines, engine: str, tamper: str) -> None:
    ns = ("sealed", uuid.uuid4().hex)
    cache = sealed.caches[engine]
    cache.set({(ns, "k"): (f"{SECRET}-c" * 10, None), (ns, "other"): ("kept", None)})
    data = cache_bytes(sealed, engine, ns, "k")
    [changed] = TAMPERS[tamper]([data], 0)
    poison_cache(sealed, engine, ns, "k", ("msgpack+at+aesgcm", changed))
    with pytest.raises(DeserializationError, match=r"authentication|truncated"):
        cache.get([(ns, "k")])
    assert cache.get([(ns, "other")]) == {(ns, "other"): "kept"}


@pytest.mark.parametrize("engine", RAW_ENGINES)
def test_swapped_channel_ciphertexts_are_detected(sealed: Engines, engine: str) -> None:
    """Each ciphertext names the channel and version it was written for: two valid
    ciphertexts swapped between channels are refused, never read as each other's value."""
    thread = _secret_thread(sealed, engine)
    tid = thread["configurable"]["thread_id"]
    blobs = channel_blobs(sealed, engine, tid)
    set_channel_bytes(sealed, engine, tid, [blobs[1], blobs[0], *blobs[2:]])
    with pytest.raises(DeserializationError, match=r"channel '.*stored for .*moved or swapped"):
        sealed.savers[engine].get_tuple(thread)
    set_channel_bytes(sealed, engine, tid, blobs)
    assert _values(sealed, engine, thread)["a"].startswith(f"{SECRET}-a")


@pytest.mark.parametrize("engine", RAW_ENGINES)
def test_swapped_cache_ciphertexts_are_detected(sealed: Engines, engine: str) -> None:
    ns = ("sealed", uuid.uuid4().hex)
    cache = sealed.caches[engine]
    cache.set({(ns, "k"): (f"{SECRET}-k", None), (ns, "j"): (f"{SECRET}-j", None)})
    k, j = cache_bytes(sealed, engine, ns, "k"), cache_bytes(sealed, engine, ns, "j")
    poison_cache(sealed, engine, ns, "k", ("msgpack+at+aesgcm", j))
    with pytest.raises(DeserializationError, match="moved or swapped"):
        cache.get([(ns, "k")])
    poison_cache(sealed, engine, ns, "k", ("msgpack+at+aesgcm", k))
    assert cache.get([(ns, "k")]) == {(ns, "k"): f"{SECRET}-k"}


@pytest.mark.parametrize("engine", RAW_ENGINES)
def test_require_encryption_refuses_planted_plaintext(sealed: Engines, engine: str) -> None:
    """Without the key no one can forge a ciphertext, but they can write a plain value in
    its place; a reader with ``require_encryption=True`` refuses it."""
    thread = _secret_thread(sealed, engine)
    tid = thread["configurable"]["thread_id"]
    assert poison_channels(sealed, engine, tid, ("msgpack", ormsgpack.packb("planted"))) >= 2
    assert _values(sealed, engine, thread)["a"] == "planted"  # a plain reader takes it
    strict = DurastateSerializer(encryption_key=KEY, require_encryption=True)
    with reopened(sealed, engine, strict) as (saver, _):
        with pytest.raises(DeserializationError, match=r"not encrypted.*require_encryption"):
            saver.get_tuple(thread)


def test_require_encryption_needs_a_key_and_encrypts_none() -> None:
    with pytest.raises(InvalidInputError, match="require_encryption"):
        DurastateSerializer(require_encryption=True)
    strict = DurastateSerializer(encryption_key=KEY, require_encryption=True)
    sealed_none = strict.dumps_typed(None)
    assert sealed_none[0].endswith("+aesgcm") and strict.loads_typed(sealed_none) is None
    with pytest.raises(DeserializationError, match="not encrypted"):
        strict.loads_typed(("null", b""))
    assert "require_encryption=True" in repr(strict)
    with_cipher = DurastateSerializer(cipher=LangGraphAesCipher("k" * 16), require_encryption=True)
    assert "cipher=LangGraphAesCipher" in repr(with_cipher)
    assert "require_encryption=True" in repr(with_cipher)


# --- passwords in reprs, logs, exceptions and CLI output ----------------------------------

PASSWORD = "S3cret-pw-attack"
"""A password no server here has: in every URL below, and nowhere in any output."""
CLOSED = "127.0.0.1:1"
"""Nothing listens on port 1, so connecting fails at once."""


def _no_password(text: str) -> None:
    assert PASSWORD not in text, text
    assert PASSWORD.replace("-", "%2D") not in text, text


def _exception_text(exc: BaseException) -> str:
    """str, repr and the full traceback of an exception with its causes and contexts."""
    import traceback

    out, seen = [], set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        out += [str(cur), repr(cur), repr(cur.args)]
        cur = cur.__cause__ or cur.__context__
    out.append("".join(traceback.format_exception(exc)))
    return "\n".join(out)


def _reprs(obj: Any, depth: int = 3) -> Iterator[str]:
    """repr and str of an object and of the objects it holds (its clients, pools, drivers)."""
    seen: set[int] = set()

    def walk(o: Any, level: int) -> Iterator[str]:
        if id(o) in seen or isinstance(o, (str, bytes, int, float, bool, type(None))):
            return
        seen.add(id(o))
        yield repr(o)
        yield str(o)
        if level == 0:
            return
        children: list[Any] = []
        if isinstance(o, dict):
            children = list(o.values())
        elif isinstance(o, (list, tuple, set)):
            children = list(o)
        else:
            children = list(getattr(o, "__dict__", {}).values())
            children += [getattr(o, s, None) for s in getattr(type(o), "__slots__", ())]
        for child in children:
            yield from walk(child, level - 1)

    yield from walk(obj, depth)


def _pg(host: str, *, user: str = "durastate", query: str = "") -> str:
    return f"postgresql://{user}:{PASSWORD}@{host}/durastate{query}"


def _redis(host: str, *, user: str = "", query: str = "") -> str:
    return f"redis://{user}:{PASSWORD}@{host}/0{query}"


def _server(url: str) -> str:
    """host:port of a test server URL."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}"


FAST_POOL = {"pool_config": {"timeout": 1.0}}
"""A pool that gives up after a second (the default waits 30 s)."""


def _postgres_classes() -> list[Any]:
    from durastate.cache.postgres import PostgresCache
    from durastate.checkpoint.postgres import PostgresSaver
    from durastate.store.postgres import PostgresStore

    return [PostgresSaver, PostgresStore, PostgresCache]


def _redis_classes() -> list[Any]:
    from durastate.cache.redis import RedisCache
    from durastate.checkpoint.redis import RedisSaver
    from durastate.store.redis import RedisStore

    return [RedisSaver, RedisStore, RedisCache]


def _touch(obj: Any) -> None:
    """One operation that needs the server."""
    if hasattr(obj, "get_tuple"):
        obj.get_tuple({"configurable": {"thread_id": "attack-secrets"}})
    elif hasattr(obj, "search"):
        obj.get(("attack", "secrets"), "k")
    else:
        obj.get([(("attack", "secrets"), "k")])


def test_reprs_of_backends_and_their_clients_hide_the_password(
    postgres_url: str, redis_url: str, redis_cluster_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Every repr/str of savers, stores and caches opened from a URL with a password, and of
    the pools, clients and drivers they hold, hides it (Redis here has no password, so a
    URL with one still opens; the Postgres pool is opened and never used)."""
    caplog.set_level("DEBUG")
    opened = 0
    for cls in _postgres_classes():
        with cls.from_conn_string(_pg(_server(postgres_url)), **FAST_POOL) as obj:
            for text in _reprs(obj):
                _no_password(text)
            opened += 1
    for url, kw in ((redis_url, {}), (redis_cluster_url, {"cluster": True})):
        for cls in _redis_classes():
            prefix = f"dstest-attack-{uuid.uuid4().hex[:8]}"
            with cls.from_conn_string(_redis(_server(url)), key_prefix=prefix, **kw) as obj:
                _touch(obj)
                for text in _reprs(obj):
                    _no_password(text)
                opened += 1
    assert opened == 9
    for record in caplog.records:
        _no_password(record.getMessage())
        _no_password(str(record.args))


def _failing_cases(postgres_url: str, redis_url: str, redis_cluster_url: str) -> list[Any]:
    """(label, class, URL, keyword arguments): unreachable, wrong password, bad options."""
    pg_saver, pg_store, pg_cache = _postgres_classes()
    r_saver, r_store, r_cache = _redis_classes()
    pg, rd, rc = _server(postgres_url), _server(redis_url), _server(redis_cluster_url)
    return [
        ("postgres closed port", pg_saver, _pg(CLOSED), FAST_POOL),
        ("postgres wrong password", pg_store, _pg(pg), FAST_POOL),
        ("postgres bad sslmode", pg_cache, _pg(pg, query="?sslmode=bogus"), FAST_POOL),
        (
            "postgres password= parameter",
            pg_saver,
            f"postgresql://u@{CLOSED}/d?password={PASSWORD}",
            FAST_POOL,
        ),
        ("redis closed port", r_saver, _redis(CLOSED), {}),
        ("redis wrong password", r_store, _redis(rd, user="nobody"), {}),
        ("redis bad option", r_cache, _redis(rd, query="?socket_timeout=soon"), {}),
        ("redis bad port", r_saver, f"redis://:{PASSWORD}@127.0.0.1:port/0", {}),
        ("redis cluster wrong password", r_cache, _redis(rc, user="nobody"), {"cluster": True}),
        ("redis cluster closed port", r_store, _redis(CLOSED), {"cluster": True}),
    ]


def test_failures_to_connect_never_show_the_password(
    postgres_url: str, redis_url: str, redis_cluster_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Unreachable servers, wrong passwords and bad options: the exception (message, repr,
    causes, traceback) and every log record down to DEBUG hide the password."""
    caplog.set_level("DEBUG")
    failed = []
    for label, cls, url, kw in _failing_cases(postgres_url, redis_url, redis_cluster_url):
        with pytest.raises(Exception) as info:
            with cls.from_conn_string(url, **kw) as obj:
                _touch(obj)
        _no_password(_exception_text(info.value))
        failed.append(label)
    assert len(failed) == 10
    assert caplog.records  # the drivers did log the failed attempts
    for record in caplog.records:
        _no_password(record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            _no_password(_exception_text(record.exc_info[1]))


MALFORMED = [
    f"postgresql://durastate:{PASSWORD}%ZZ@127.0.0.1:1/durastate",
    f"postgresql://durastate:{PASSWORD}@[::1/durastate",
    f"postgresql://durastate:{PASSWORD}@127.0.0.1:1/durastate?foo=bar",
    f"postgresql://durastate:{PASSWORD}@127.0.0.1:99999/durastate",
    f"redis://:{PASSWORD}@[::1/0",
    f"redis://:{PASSWORD}@127.0.0.1:port/0",
    f"rediss+cluster://:{PASSWORD}@/0",
    f"postgres://durastate:{PASSWORD}@127.0.0.1:1/durastate#frag",
    f"sqlite:///x.db?password={PASSWORD}",
    f"nosuch://u:{PASSWORD}@host/db",
]


@pytest.mark.parametrize("url", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_urls_are_refused_without_the_password(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """``open_backends`` refuses a malformed URL before anything connects, with an
    InvalidURLError that hides the password; nothing logged shows it either."""
    from durastate.connect import InvalidURLError, open_backends

    caplog.set_level("DEBUG")
    with pytest.raises(InvalidURLError) as info:
        with open_backends(url):
            pass
    _no_password(_exception_text(info.value))
    assert "***" in str(info.value)
    for record in caplog.records:
        _no_password(record.getMessage())


def _cli(args: list[str], capfd: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from durastate.cli.main import run

    code = run(args)
    out, err = capfd.readouterr()
    return code, out + err


def test_cli_status_and_setup_never_show_the_password(
    postgres_url: str, redis_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """``durastate status`` and ``setup`` (plain, --json, --debug) on unreachable servers,
    wrong passwords and malformed URLs fail with the URL masked; on a server that accepts the
    URL, the output shows it masked too."""
    pg, rd = _server(postgres_url), _server(redis_url)
    failing = [
        _pg(CLOSED),
        _pg(pg),
        _pg(pg, query="?sslmode=bogus"),
        f"postgresql://durastate:{PASSWORD}%ZZ@{pg}/durastate",
        f"postgresql://durastate@{CLOSED}/durastate?password={PASSWORD}",
        _redis(CLOSED),
        _redis(rd, user="nobody"),
        f"redis://:{PASSWORD}@[::1/0",
        f"redis+cluster://nobody:{PASSWORD}@{CLOSED}",
    ]
    runs = 0
    for url in failing:
        for command in (["status"], ["status", "--json"], ["setup"], ["--debug", "setup"]):
            code, text = _cli([*command, url], capfd)
            assert code != 0, (command, url, text)
            assert "***" in text, text
            _no_password(text)
            runs += 1
    prefix = f"dstest-attack-{uuid.uuid4().hex[:8]}"
    ok = _redis(rd, query=f"?key_prefix={prefix}")
    for command in (["setup"], ["status"], ["status", "--json"]):
        code, text = _cli([*command, ok], capfd)
        assert code == 0, text
        assert "redis://:***@" in text
        _no_password(text)
        runs += 1
    assert runs == 39


def test_cli_in_a_subprocess_masks_the_password_from_the_environment(postgres_url: str) -> None:
    """The console script itself, with the URL given in DURASTATE_URL-style variables too."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "DURASTATE_URL": _pg(CLOSED)}
    for args in (
        ["status", _pg(CLOSED)],
        ["--debug", "setup", "--json", _pg(_server(postgres_url))],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "durastate.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert done.returncode != 0
        assert "***" in done.stderr
        _no_password(done.stdout + done.stderr)


async def test_async_backends_from_urls_hide_the_password(
    postgres_url: str, redis_url: str, redis_cluster_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The async classes opened through ``aopen_backends`` (Postgres with a password the
    server refuses, Redis and Redis Cluster with one they ignore): every repr of them and of
    their pools and clients, and every log record, hides it; a failing call's error too."""
    from durastate.connect import aopen_backends

    caplog.set_level("DEBUG")
    prefix = f"dstest-attack-{uuid.uuid4().hex[:8]}"
    urls = [
        _redis(_server(redis_url), query=f"?key_prefix={prefix}"),
        _redis(_server(redis_cluster_url), query=f"?key_prefix={prefix}&cluster=true"),
        _pg(_server(postgres_url)),
    ]
    seen = 0
    for url in urls:
        async with aopen_backends(url) as found:
            for part in found:
                for text in _reprs(part):
                    _no_password(text)
                seen += 1
            if url.startswith("redis"):
                await found.checkpointer.aget_tuple({"configurable": {"thread_id": "x"}})
                assert await found.cache.aget([(("a",), "k")]) == {}
    assert seen == 9
    for record in caplog.records:
        _no_password(record.getMessage())
    for server in (redis_url, redis_cluster_url):
        delete_prefix(server, prefix)
