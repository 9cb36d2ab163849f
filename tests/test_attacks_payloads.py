"""Attack payloads written straight into SQLite rows, Postgres rows and Redis keys, where a
saver, store or cache keeps its data, never run code when loaded: callables come back as
marked raw values, pickle and unknown formats raise DeserializationError naming the channel,
write or entry, and LangChain ``lc`` payloads are revived only for allowlisted types."""

from __future__ import annotations

import json
import os
import pickle
import sys
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ormsgpack
import pytest
from attacks_support import (
    RAW_ENGINES,
    SQL_ENGINES,
    _sql,
    poison_cache,
    poison_channels,
    poison_store,
    poison_writes,
)
from hostile_support import Engines, engines
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple, empty_checkpoint
from redis_support import admin

from durastate._engines.redis.keys import Layout
from durastate._engines.redis.requests import Cmd
from durastate.cache.base import encode_namespace
from durastate.errors import DeserializationError
from durastate.serde import UnrevivedValue

ENV_FLAG = "DURASTATE_ATTACK_RAN"
TRAP_MODULE = "durastate_attack_trap"


def ext(code: int, payload: tuple[Any, ...]) -> bytes:
    return ormsgpack.packb(ormsgpack.Ext(code, ormsgpack.packb(payload)))


def lc_json(payload: dict[str, Any]) -> tuple[str, bytes]:
    return "json", json.dumps(payload).encode()


class _Reduce:
    """Pickles to a call of ``fn(*args)``, which unpickling would make."""

    def __init__(self, fn: Any, *args: Any) -> None:
        self.call = (fn, args)

    def __reduce__(self) -> Any:
        return self.call


@dataclass(frozen=True)
class Payload:
    """Hostile stored bytes and what loading them must give instead of running them."""

    name: str
    blob: tuple[str, bytes]
    named: str | None = None
    """``module.name`` an UnrevivedValue must keep; None when loading must raise."""
    refused: str = ""
    """Regex the DeserializationError must match, when loading must raise."""


def payloads(marks: Path) -> list[Payload]:
    def mark(name: str) -> str:
        return str(marks / name)

    set_env = f"__import__('os').environ.__setitem__('{ENV_FLAG}', '1')"
    return [
        Payload(
            "os.system", ("msgpack", ext(0, ("os", "system", f"touch {mark('a')}"))), "os.system"
        ),
        Payload(
            "builtins.eval", ("msgpack", ext(0, ("builtins", "eval", set_env))), "builtins.eval"
        ),
        Payload(
            "builtins.exec",
            ("msgpack", ext(1, ("builtins", "exec", [f"open({mark('b')!r}, 'w')"]))),
            "builtins.exec",
        ),
        Payload(
            "subprocess.Popen",
            ("msgpack", ext(1, ("subprocess", "Popen", [["touch", mark("c")]]))),
            "subprocess.Popen",
        ),
        Payload(
            "subprocess.run",
            ("msgpack", ext(2, ("subprocess", "run", {"args": ["touch", mark("d")]}))),
            "subprocess.run",
        ),
        Payload(
            "importlib.import_module",
            ("msgpack", ext(0, ("importlib", "import_module", TRAP_MODULE))),
            "importlib.import_module",
        ),
        Payload(
            "class of a module not imported",
            ("msgpack", ext(2, (TRAP_MODULE, "Trap", {"x": 1}))),
            f"{TRAP_MODULE}.Trap",
        ),
        Payload(
            "method call",
            ("msgpack", ext(3, ("pathlib", "Path", mark("e"), "touch"))),
            "pathlib.Path",
        ),
        Payload(
            "pydantic v2 ext with a method",
            ("msgpack", ext(5, ("os", "system", {"command": f"touch {mark('f')}"}, "run"))),
            "os.system",
        ),
        Payload(
            "pickle",
            ("pickle", pickle.dumps(_Reduce(os.system, f"touch {mark('g')}"))),
            refused=r"pickle.*pickle_fallback=True",
        ),
        Payload(
            "pickle compressed",
            ("pickle+z", zlib.compress(pickle.dumps(_Reduce(eval, set_env)))),
            refused=r"pickle.*pickle_fallback=True",
        ),
        Payload("unknown format", ("dill", b"\x80\x04."), refused=r"unknown serialization type"),
        Payload(
            "lc constructor outside the allowlist",
            lc_json(
                {
                    "lc": 1,
                    "type": "constructor",
                    "id": ["langchain", "llms", "openai", "OpenAI"],
                    "kwargs": {"model": "x"},
                }
            ),
            "langchain.llms.openai.OpenAI",
        ),
        Payload(
            "lc constructor naming subprocess",
            lc_json(
                {
                    "lc": 1,
                    "type": "constructor",
                    "id": ["subprocess", "Popen"],
                    "kwargs": {"args": ["touch", mark("h")]},
                }
            ),
            "subprocess.Popen",
        ),
        Payload(
            "lc 2 constructor naming os.system",
            lc_json({"lc": 2, "type": "constructor", "id": ["os", "system"], "args": [mark("i")]}),
            "os.system",
        ),
        Payload(
            "lc secret from the environment",
            lc_json({"lc": 1, "type": "secret", "id": ["DURASTATE_ATTACK_SECRET"]}),
            "",
        ),
    ]


@pytest.fixture(scope="module")
def marks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where a payload that ran would leave a file; also holds the trap module."""
    path = tmp_path_factory.mktemp("attack-marks")
    (path / f"{TRAP_MODULE}.py").write_text(
        f"open({str(path / 'imported')!r}, 'w').close()\n"
        "import dataclasses\n@dataclasses.dataclass\nclass Trap:\n    x: int = 0\n"
    )
    sys.path.insert(0, str(path))
    os.environ["DURASTATE_ATTACK_SECRET"] = "hunter2-attack"
    try:
        yield path
    finally:
        sys.path.remove(str(path))
        os.environ.pop("DURASTATE_ATTACK_SECRET", None)


ALL_PAYLOADS = payloads(Path("/nonexistent"))
IDS = [p.name for p in ALL_PAYLOADS]


@pytest.fixture(params=range(len(ALL_PAYLOADS)), ids=IDS)
def payload(request: pytest.FixtureRequest, marks: Path) -> Payload:
    chosen: Payload = payloads(marks)[request.param]
    return chosen


@pytest.fixture(scope="module")
def backends(postgres_url: str, redis_url: str) -> Iterator[Engines]:
    with engines(postgres_url, redis_url) as made:
        yield made


def nothing_ran(marks: Path) -> None:
    """No payload left a file, set the variable or imported the trap module."""
    assert sorted(p.name for p in marks.iterdir()) == [f"{TRAP_MODULE}.py"]
    assert ENV_FLAG not in os.environ
    assert TRAP_MODULE not in sys.modules


def check_loaded(value: Any, payload: Payload) -> None:
    """A loaded hostile value is a marked raw value keeping what it named, never revived."""
    assert isinstance(value, UnrevivedValue), (payload.name, value)
    assert value.reason
    if payload.named:
        assert value.qualified_name == payload.named, (value.qualified_name, payload.named)
    assert "hunter2-attack" not in repr(value)


def check_refused(exc: DeserializationError, payload: Payload, where: str) -> None:
    import re

    assert re.search(payload.refused, str(exc)), str(exc)
    assert where in str(exc), str(exc)


def _thread(backends: Engines, engine: str) -> tuple[RunnableConfig, RunnableConfig]:
    """A fresh thread with one checkpoint (one large channel, so it sits in the blob table
    on every engine) and one pending write; answers (thread config, checkpoint config)."""
    saver = backends.savers[engine]
    thread: RunnableConfig = {
        "configurable": {"thread_id": f"attack-{uuid.uuid4().hex}", "checkpoint_ns": ""}
    }
    cp = empty_checkpoint()
    cp["channel_values"] = {"state": "x" * 2000}
    cp["channel_versions"] = {"state": "00001"}
    saved = saver.put(thread, cp, {"source": "input", "step": -1}, {"state": "00001"})
    saver.put_writes(saved, [("state", "y" * 2000)], "task-1")
    return thread, saved


@pytest.mark.parametrize("engine", RAW_ENGINES)
def test_stored_channel_payload_does_nothing_on_load(
    backends: Engines, marks: Path, payload: Payload, engine: str
) -> None:
    """get_tuple and list read a hostile channel blob: nothing runs; the value is marked
    raw, or the error names the channel."""
    saver = backends.savers[engine]
    thread, _ = _thread(backends, engine)
    tid = thread["configurable"]["thread_id"]
    assert poison_channels(backends, engine, tid, payload.blob) == 1
    poison_writes(backends, engine, tid, ("msgpack", ormsgpack.packb("clean")))
    loads: list[Callable[[], CheckpointTuple | None]] = [
        lambda: saver.get_tuple(thread),
        lambda: next(iter(saver.list(thread))),
    ]
    for load in loads:
        if payload.named is None:
            with pytest.raises(DeserializationError) as info:
                load()
            check_refused(info.value, payload, "channel 'state'")
        else:
            got = load()
            assert got is not None
            check_loaded(got.checkpoint["channel_values"]["state"], payload)
            assert [w[2] for w in got.pending_writes or []] == ["clean"]
        nothing_ran(marks)


@pytest.mark.parametrize("engine", RAW_ENGINES)
def test_stored_pending_write_payload_does_nothing_on_load(
    backends: Engines, marks: Path, payload: Payload, engine: str
) -> None:
    saver = backends.savers[engine]
    thread, _ = _thread(backends, engine)
    tid = thread["configurable"]["thread_id"]
    assert poison_writes(backends, engine, tid, payload.blob) == 1
    if payload.named is None:
        with pytest.raises(DeserializationError) as info:
            saver.get_tuple(thread)
        check_refused(info.value, payload, "write to 'state'")
    else:
        got = saver.get_tuple(thread)
        assert got is not None
        assert got.checkpoint["channel_values"]["state"] == "x" * 2000
        [(task, channel, value)] = got.pending_writes or []
        assert (task, channel) == ("task-1", "state")
        check_loaded(value, payload)
    nothing_ran(marks)


@pytest.mark.parametrize("engine", RAW_ENGINES)
def test_stored_cache_payload_does_nothing_on_load(
    backends: Engines, marks: Path, payload: Payload, engine: str
) -> None:
    cache = backends.caches[engine]
    ns = ("attack", uuid.uuid4().hex)
    neighbour = (ns, "neighbour")
    cache.set({(ns, "k"): ("clean", None), neighbour: ("kept", None)})
    poison_cache(backends, engine, ns, "k", payload.blob)
    if payload.named is None:
        with pytest.raises(DeserializationError) as info:
            cache.get([(ns, "k"), neighbour])
        check_refused(info.value, payload, "'k'")
    else:
        got = cache.get([(ns, "k"), neighbour])
        assert got[neighbour] == "kept"
        check_loaded(got[(ns, "k")], payload)
    nothing_ran(marks)


LC_STORE_VALUES: list[dict[str, Any]] = [
    {"lc": 1, "type": "constructor", "id": ["os", "system"], "kwargs": {"command": "touch x"}},
    {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "HumanMessage"]},
    {"lc": 2, "type": "constructor", "id": ["builtins", "eval"], "args": ["1 + 1"]},
    {"lc": 1, "type": "secret", "id": ["DURASTATE_ATTACK_SECRET"]},
    {"nested": {"lc": 1, "type": "constructor", "id": ["subprocess", "Popen"], "kwargs": {}}},
]


@pytest.mark.parametrize("engine", RAW_ENGINES)
@pytest.mark.parametrize("value", LC_STORE_VALUES, ids=range(len(LC_STORE_VALUES)))
def test_stored_lc_store_values_stay_plain_json(
    backends: Engines, marks: Path, engine: str, value: dict[str, Any]
) -> None:
    """Store values are JSON documents: an ``lc`` payload written into the row comes back
    as the same dict from get and search, never revived (not even an allowlisted type),
    and no secret is read from the environment."""
    store = backends.stores[engine]
    ns = ("attack", uuid.uuid4().hex)
    key = f"lc-{uuid.uuid4().hex}"
    store.put(ns, key, {"v": 0})
    poison_store(backends, engine, ns, key, value)
    item = store.get(ns, key)
    assert item is not None and item.value == value
    assert [i.value for i in store.search(ns)] == [value]
    assert [i.value for i in store.search(ns, filter={"lc": value.get("lc")})] == (
        [value] if "lc" in value else []
    )
    assert "hunter2-attack" not in repr(item)
    nothing_ran(marks)


def test_allowlisted_lc_message_in_a_channel_is_revived(backends: Engines) -> None:
    """Guards the tests above: an allowlisted ``lc`` message in the same raw path is revived,
    so the payloads are refused for what they name, not for where they are stored."""
    good = {
        "lc": 1,
        "type": "constructor",
        "id": ["langchain", "schema", "messages", "HumanMessage"],
        "kwargs": {"content": "hi"},
    }
    for engine in RAW_ENGINES:
        thread, _ = _thread(backends, engine)
        tid = thread["configurable"]["thread_id"]
        poison_channels(backends, engine, tid, lc_json(good))
        got = backends.savers[engine].get_tuple(thread)
        assert got is not None
        assert got.checkpoint["channel_values"]["state"] == HumanMessage("hi"), engine


GARBAGE: list[tuple[str, bytes]] = [
    ("msgpack", b"\xc1"),  # a byte msgpack never uses
    ("msgpack", b"\x92\x01"),  # a list of two holding one
    ("msgpack", b"\xc7\xff\x00"),  # an extension longer than the blob
    ("json", b"{not json"),
    ("msgpack+z", b"not zlib"),
    ("msgpack+aesgcm", b"\x00" * 40),
    ("", b""),
]


@pytest.mark.parametrize("engine", RAW_ENGINES)
def test_corrupt_stored_bytes_raise_deserialization_errors(
    backends: Engines, marks: Path, engine: str
) -> None:
    """Malformed bytes in a channel blob, a pending write or a cache entry (and, on Redis, a
    cache entry without the engine's own framing) raise DeserializationError, nothing else."""
    saver, cache = backends.savers[engine], backends.caches[engine]
    for blob in GARBAGE:
        thread, _ = _thread(backends, engine)
        tid = thread["configurable"]["thread_id"]
        poison_channels(backends, engine, tid, blob)
        with pytest.raises(DeserializationError, match="channel 'state'"):
            saver.get_tuple(thread)
        thread, _ = _thread(backends, engine)
        poison_writes(backends, engine, thread["configurable"]["thread_id"], blob)
        with pytest.raises(DeserializationError, match="write to 'state'"):
            saver.get_tuple(thread)
        ns = ("attack", uuid.uuid4().hex)
        cache.set({(ns, "k"): ("clean", None)})
        poison_cache(backends, engine, ns, "k", blob)
        with pytest.raises(DeserializationError):
            cache.get([(ns, "k")])
    if engine == "redis":
        ns = ("attack", uuid.uuid4().hex)
        cache.set({(ns, "k"): ("clean", None)})
        entry = Layout(backends.prefix).cache(encode_namespace(ns)).entry("k")
        admin(backends.redis_url).execute(Cmd(("SET", entry, b"no framing", "XX", "KEEPTTL")))
        with pytest.raises(DeserializationError, match="not a durastate cache entry"):
            cache.get([(ns, "k")])
    nothing_ran(marks)


@pytest.mark.parametrize("engine", SQL_ENGINES)
@pytest.mark.parametrize("column", ["checkpoint", "metadata"])
def test_stored_checkpoint_and_metadata_payloads_run_nothing(
    backends: Engines, marks: Path, engine: str, column: str
) -> None:
    """Every payload written over a checkpoint row's own serialized checkpoint or metadata:
    get_tuple and list run nothing, and refused formats raise DeserializationError naming
    the checkpoint's thread."""
    saver = backends.savers[engine]
    for payload in payloads(marks):
        thread, _ = _thread(backends, engine)
        tid = thread["configurable"]["thread_id"]
        _sql(
            backends,
            engine,
            f"UPDATE durastate_checkpoints SET {column}_type = %s, {column} = %s"
            " WHERE thread_id = %s",
            (*payload.blob, tid),
        )
        loads: list[Callable[[], Any]] = [
            lambda t=thread: saver.get_tuple(t),  # type: ignore[misc]
            lambda t=thread: list(saver.list(t)),  # type: ignore[misc]
        ]
        for load in loads:
            if payload.named is None:
                with pytest.raises(DeserializationError) as info:
                    load()
                check_refused(info.value, payload, repr(tid))
            else:
                # A named value comes back marked, and a marked value is no checkpoint.
                with pytest.raises(DeserializationError, match=r"not a (checkpoint|mapping)"):
                    load()
            nothing_ran(marks)
