"""Hostile names: namespaces, keys, thread ids, checkpoint namespaces and cache keys with
separators, wildcards, quotes, backslashes, NUL, 10k characters and non-ASCII text are kept
exactly on every engine or rejected by every engine with the same exception type."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hostile_support import Engines, engines, outcome
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from langchain_core.runnables import RunnableConfig
from langgraph.cache.base import BaseCache
from langgraph.checkpoint.base import BaseCheckpointSaver, empty_checkpoint
from langgraph.store.base import BaseStore

EXAMPLES = 100
"""Examples per property (each one runs on all four engines)."""

PIECES = [
    ".",
    ":",
    "/",
    ",",
    "|",
    "*",
    "%",
    "_",
    "?",
    "[",
    "]",
    "^",
    "-",
    "{",
    "}",
    "{a}",
    "'",
    '"',
    "`",
    "\\",
    "\\*",
    "\x00",
    "\n",
    " ",
    ";",
    "--",
    "$",
    "a",
    "Z",
    "é",
    "日本",
    "\U0001f600",
    "\u200b",
    "redis.call('FLUSHALL')",
    "'; DROP TABLE store; --",
]
_rng = random.Random(11)
LONG = [
    "x" * 10_000,
    "".join(chr(_rng.randrange(0x20, 0xD7FF)) for _ in range(10_000)),
]
NAMES = st.one_of(
    st.lists(st.sampled_from(PIECES), min_size=0, max_size=5).map("".join),
    st.sampled_from(LONG),
    st.text(st.characters(codec="utf-8"), max_size=8),
)

SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def backends(postgres_url: str, redis_url: str) -> Iterator[Engines]:
    with engines(postgres_url, redis_url) as made:
        yield made


@pytest.fixture(scope="module")
def sentinels(backends: Engines) -> RunnableConfig:
    """Data of a neighbour on every engine, which no hostile name may touch."""
    cfg: RunnableConfig = {"configurable": {"thread_id": "sentinel", "checkpoint_ns": ""}}
    for saver in backends.savers.values():
        saver.put(cfg, empty_checkpoint(), {"source": "input", "step": -1}, {})
    for store in backends.stores.values():
        store.put(("sentinel",), "k", {"v": 1})
    for cache in backends.caches.values():
        cache.set({(("sentinel",), "k"): ("v", None)})
    return cfg


def _neighbour_intact(backends: Engines, cfg: RunnableConfig) -> None:
    for name in backends.savers:
        assert backends.savers[name].get_tuple(cfg) is not None, name
        item = backends.stores[name].get(("sentinel",), "k")
        assert item is not None and item.value == {"v": 1}, name
        assert backends.caches[name].get([(("sentinel",), "k")]) == {(("sentinel",), "k"): "v"}


def _agree(answers: dict[str, Any]) -> Any:
    first = next(iter(answers.values()))
    for name, answer in answers.items():
        assert answer == first, (name, answer, first)
    event("rejected" if isinstance(first, type) else "kept")
    return first


def _store_trip(store: BaseStore, root: tuple[str, ...], label: str, key: str) -> Any:
    ns = (*root, label)
    stored = outcome(store.put, ns, key, {"label": label, "key": key})
    if isinstance(stored, type):
        return stored
    item = store.get(ns, key)
    assert item is not None
    got = (item.namespace, item.key, item.value)
    found = [(i.namespace, i.key) for i in store.search(ns, limit=10)]
    under = [(i.namespace, i.key) for i in store.search(root, limit=10)]
    listed = store.list_namespaces(prefix=root)
    with_suffix = store.list_namespaces(suffix=(label,))
    store.delete(ns, key)
    return got, found, under, listed, with_suffix, store.get(ns, key)


@SETTINGS
@given(label=NAMES, key=NAMES)
def test_store_namespaces_and_keys(
    backends: Engines, sentinels: RunnableConfig, label: str, key: str
) -> None:
    """put / get / search / list_namespaces / delete with a hostile label and key."""
    root = ("hostile", uuid.uuid4().hex)
    answers = {n: _store_trip(s, root, label, key) for n, s in backends.stores.items()}
    answer = _agree(answers)
    if not isinstance(answer, type):
        ns = (*root, label)
        assert answer[0] == (ns, key, {"label": label, "key": key})
        assert answer[1] == answer[2] == [(ns, key)]
        assert answer[3] == [ns]
        assert ns in answer[4]
        assert answer[5] is None
    _neighbour_intact(backends, sentinels)


def _saver_trip(saver: BaseCheckpointSaver[Any], thread: str, ns: str, cp: Any) -> Any:
    cfg: RunnableConfig = {"configurable": {"thread_id": thread, "checkpoint_ns": ns}}
    saved = outcome(saver.put, cfg, cp, {"source": "input", "step": -1, "label": ns}, {})
    if isinstance(saved, type):
        return saved
    saver.put_writes(saved, [("chan", thread)], "task-1")
    got = saver.get_tuple(cfg)
    assert got is not None
    view = (
        got.config["configurable"],
        got.metadata.get("label"),
        [(w[1], w[2]) for w in got.pending_writes or []],
    )
    listed = [
        (t.config["configurable"]["checkpoint_ns"], t.checkpoint["id"])
        for t in saver.list({"configurable": {"thread_id": thread}})
    ]
    saver.delete_thread(thread)
    return view, listed, saver.get_tuple(cfg)


@SETTINGS
@given(thread=NAMES, ns=NAMES)
def test_checkpointer_thread_ids_and_namespaces(
    backends: Engines, sentinels: RunnableConfig, thread: str, ns: str
) -> None:
    """put / put_writes / get_tuple / list / delete_thread with a hostile thread id and
    checkpoint namespace."""
    cp = empty_checkpoint()
    answers = {n: _saver_trip(s, thread, ns, cp) for n, s in backends.savers.items()}
    answer = _agree(answers)
    if not isinstance(answer, type):
        view, listed, after = answer
        assert view[0] == {"thread_id": thread, "checkpoint_ns": ns, "checkpoint_id": cp["id"]}
        assert view[1:] == (ns, [("chan", thread)])
        assert listed == [(ns, cp["id"])]
        assert after is None
    _neighbour_intact(backends, sentinels)


def _cache_trip(cache: BaseCache[Any], ns: tuple[str, ...], key: str) -> Any:
    stored = outcome(cache.set, {(ns, key): ({"key": key}, None)})
    if isinstance(stored, type):
        return stored
    got = cache.get([(ns, key), (ns, key + "?"), (ns, "*")])
    cache.clear([ns])
    return got, cache.get([(ns, key)])


@SETTINGS
@given(label=NAMES, key=NAMES)
def test_cache_keys(backends: Engines, sentinels: RunnableConfig, label: str, key: str) -> None:
    """set / get / clear with a hostile namespace label and key; clearing one namespace
    leaves every other one alone."""
    ns = ("hostile", uuid.uuid4().hex, label)
    answers = {n: _cache_trip(c, ns, key) for n, c in backends.caches.items()}
    answer = _agree(answers)
    if not isinstance(answer, type):
        expected = {(ns, key): {"key": key}}
        if key == "*":
            expected[(ns, "*")] = {"key": key}
        assert answer == (expected, {})
    _neighbour_intact(backends, sentinels)
