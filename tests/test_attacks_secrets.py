"""Secrets: encrypted blobs on every engine are unreadable without the key and tampering is
detected; passwords never appear in a repr, a log record, an exception or CLI output."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from attacks_support import (
    RAW_ENGINES,
    all_stored_bytes,
    cache_bytes,
    channel_blobs,
    poison_cache,
    reopened,
    set_channel_bytes,
)
from hostile_support import Engines, engines
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import empty_checkpoint

from durastate.errors import DeserializationError
from durastate.serde import DurastateSerializer

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
    return len(b"msgpack+aesgcm\x00") if engine == "redis" else 0


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
    poison_cache(sealed, engine, ns, "k", ("msgpack+aesgcm", changed))
    with pytest.raises(DeserializationError, match=r"authentication|truncated"):
        cache.get([(ns, "k")])
    assert cache.get([(ns, "other")]) == {(ns, "other"): "kept"}
