"""Injection: SQL through store filter keys and values, JSON paths, namespace labels, keys,
sort/limit/offset, index field paths and checkpoint metadata filters on SQLite and Postgres;
Redis glob and script injection through namespaces, keys, thread ids, checkpoint namespaces
and key prefixes on plain Redis and Redis Cluster. Every engine answers what the in-memory
backend answers (or refuses alike, with a validation error) and no neighbour is touched."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any, cast

import pytest
from attacks_support import SQL_ENGINES, _sql
from hostile_support import Engines, engines, outcome
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointMetadata, empty_checkpoint
from langgraph.store.base import BaseStore
from redis_support import admin, delete_prefix

from durastate._engines.redis.keys import Layout, glob_escape
from durastate._engines.redis.requests import Scan
from durastate.cache.redis import RedisCache
from durastate.checkpoint.redis import RedisSaver
from durastate.errors import InvalidInputError
from durastate.store import InMemoryStore
from durastate.store.filters import compile_filter, matches
from durastate.store.postgres import PostgresStore
from durastate.store.redis import RedisStore
from durastate.store.sqlite import SqliteStore

DROP = "'; DROP TABLE attack_sentinel; --"
SQL_BITS = [
    DROP,
    "x') OR ('1'='1",
    'x") OR 1=1 --',
    "x' || (SELECT v FROM attack_sentinel) || '",
    "1; DELETE FROM durastate_store",
    "a%s",
    "a%(x)s",
    "%",
    "_",
    "?",
    ":v",
    "@v",
    "$1",
    "/*",
    "*/",
    "--",
    ";",
    ")",
    "a,b",
    "a b",
    "{a}",
    "#>",
    "->>",
    "\\",
    "'",
    '"',
    "`",
    "日本",
]
"""Fragments that break naive SQL, LIKE patterns, placeholders or JSON paths."""


# --- fixtures: every engine, a sentinel table and a neighbour ------------------------------


@pytest.fixture(scope="module")
def backends(postgres_url: str, redis_url: str) -> Iterator[Engines]:
    with engines(postgres_url, redis_url) as made:
        _sql(made, "postgres", f'CREATE SCHEMA IF NOT EXISTS "{made.schema}"')
        for engine in SQL_ENGINES:
            _sql(made, engine, "CREATE TABLE attack_sentinel (v TEXT NOT NULL)")
            _sql(made, engine, "INSERT INTO attack_sentinel (v) VALUES ('intact')")
        neighbour: RunnableConfig = {
            "configurable": {"thread_id": "neighbour", "checkpoint_ns": ""}
        }
        cp = empty_checkpoint()  # one id on every engine, so answers compare
        for saver in made.savers.values():
            saver.put(neighbour, cp, _meta(-1, "n"), {})
        for store in made.stores.values():
            store.put(("neighbour",), "k", {"a": "n", "tags": ["n"]})
        for cache in made.caches.values():
            cache.set({(("neighbour",), "k"): ("n", None)})
        yield made


def _meta(step: int, who: str) -> CheckpointMetadata:
    return cast(CheckpointMetadata, {"source": "input", "step": step, "who": who})


def intact(backends: Engines) -> None:
    """The sentinel table and every neighbour are exactly as written."""
    for engine in SQL_ENGINES:
        assert _sql(backends, engine, "SELECT v FROM attack_sentinel") == [("intact",)], engine
    cfg: RunnableConfig = {"configurable": {"thread_id": "neighbour", "checkpoint_ns": ""}}
    for name in backends.savers:
        got = backends.savers[name].get_tuple(cfg)
        assert got is not None and got.metadata.get("who") == "n", name
        item = backends.stores[name].get(("neighbour",), "k")
        assert item is not None and item.value == {"a": "n", "tags": ["n"]}, name
        found = backends.caches[name].get([(("neighbour",), "k")])
        assert found == {(("neighbour",), "k"): "n"}, name


def agree(backends: Engines, call: Callable[[Any], Any]) -> Any:
    """``call`` on every engine's backend answers what it answers on memory; a refusal is an
    InvalidInputError (or LangGraph's own validation error) on every engine alike."""
    answers = {name: outcome(call, name) for name in backends.stores}
    reference = answers["memory"]
    for name, answer in answers.items():
        assert answer == reference, (name, answer, reference)
    if isinstance(reference, type):
        assert issubclass(reference, (InvalidInputError, ValueError, TypeError)), reference
    return reference


# --- store: filters, namespaces, keys, paging ------------------------------------------------

ROOT = ("inj",)
ITEMS: dict[str, dict[str, Any]] = {
    "plain": {"a": 1, "b": "x", "c": {"d": 2}, "tags": ["t"]},
    "quoted": {"a": DROP, "b": "x') OR ('1'='1", "c": {"d": "%"}},
    "percent": {"a": "%", "b": "_", "c": {"d": "a%s"}},
    "numbers": {"a": 10, "b": 9, "c": {"d": 9.5}},
    "nested": {"a": {"b": {"c": 1}}, "a b": 1, "{a}": 2, "a,b": 3, "日本": 4},
}
for _n, _bit in enumerate(SQL_BITS):
    ITEMS[f"bit{_n}"] = {"a": _bit, "k": _bit}


@pytest.fixture(scope="module")
def store_data(backends: Engines) -> dict[str, dict[str, Any]]:
    for store in backends.stores.values():
        for key, value in ITEMS.items():
            store.put(ROOT, key, value)
    return ITEMS


def _search(backends: Engines, **kw: Any) -> Callable[[str], Any]:
    def run(name: str) -> Any:
        found = backends.stores[name].search(ROOT, limit=100, **kw)
        return sorted(i.key for i in found)

    return run


FILTER_KEYS = [
    *SQL_BITS,
    "a.b') OR ('1'='1",
    "a.b.c",
    "c.d",
    "$.a",
    "a[0]",
    "a.*",
    "a..b",
    "",
    ".a",
    "a.",
    "0",
    "a.0",
    "-1",
    "a\x00",
    "a\n",
    "a" * 5000,
]


@pytest.mark.parametrize("key", FILTER_KEYS, ids=range(len(FILTER_KEYS)))
def test_filter_keys(backends: Engines, store_data: Any, key: str) -> None:
    """A hostile filter key (path) as equality, range and $exists: the memory answer (which
    is the reference evaluator's) on every engine, or the same validation error."""
    for operand in ("x", {"$gt": 0}, {"$exists": True}, {"$ne": "x"}):
        got = agree(backends, _search(backends, filter={key: operand}))
        if not isinstance(got, type):
            conds = compile_filter({key: operand})
            assert got == sorted(k for k, v in store_data.items() if matches(v, conds))
    intact(backends)


FILTER_VALUES: list[Any] = [
    *SQL_BITS,
    {"$gt": DROP},
    {"$lt": "x') OR ('1'='1"},
    {"$in": ["x') OR ('1'='1", "%", DROP]},
    {"$nin": ["%", "_"]},
    {"$gt' OR '1'='1": 1},
    {"$where": "1 = 1"},
    {"$regex": ".*"},
    {"$in": DROP},
    {"$exists": DROP},
    {"$eq": {"$gt": 0}},
    [DROP],
    {"x": DROP},
]


@pytest.mark.parametrize("value", FILTER_VALUES, ids=range(len(FILTER_VALUES)))
def test_filter_values_and_operators(backends: Engines, store_data: Any, value: Any) -> None:
    for field in ("a", "k", "c.d"):
        got = agree(backends, _search(backends, filter={field: value}))
        if not isinstance(got, type):
            conds = compile_filter({field: value})
            assert got == sorted(k for k, v in store_data.items() if matches(v, conds))
    intact(backends)


@pytest.mark.parametrize("bit", SQL_BITS, ids=range(len(SQL_BITS)))
def test_namespace_labels_and_keys(backends: Engines, bit: str) -> None:
    """put / get / search / list_namespaces (prefix and suffix, with wildcards) / delete with
    a hostile label and key: the memory answer everywhere, and only that namespace moves."""
    root = ("injns", uuid.uuid4().hex)
    ns = (*root, bit)
    other = (*root, bit + "x")

    def trip(name: str) -> Any:
        store = backends.stores[name]
        store.put(ns, bit, {"v": bit})
        store.put(other, bit, {"v": "other"})
        got = store.get(ns, bit)
        found = sorted((i.namespace, i.key) for i in store.search(ns))
        listed = store.list_namespaces(prefix=(*root, bit))
        wild = store.list_namespaces(prefix=(*root, "*"), suffix=(bit,))
        suffix = store.list_namespaces(suffix=(bit,))
        store.delete(ns, bit)
        left = sorted((i.namespace, i.key, i.value["v"]) for i in store.search(root))
        store.delete(other, bit)
        return (got.value if got else None), found, listed, wild, suffix, left

    answer = agree(backends, trip)
    assert not isinstance(answer, type)
    assert answer[0] == {"v": bit}
    assert answer[1] == [(ns, bit)]
    assert answer[5] == [(other, bit, "other")]
    intact(backends)


PAGING: list[dict[str, Any]] = [
    {"limit": "1; DROP TABLE attack_sentinel"},
    {"offset": "0) OR (1=1"},
    {"limit": -1},
    {"offset": -1},
    {"limit": 0},
    {"limit": 2**62},
    {"offset": 2**62},
    {"limit": 2**63},
    {"offset": 2**64 + 1},
    {"limit": 10**30, "offset": 10**30},
    {"limit": 1.5},
    {"limit": None},
    {"limit": True},
]


@pytest.mark.parametrize("paging", PAGING, ids=range(len(PAGING)))
def test_search_and_namespace_paging(backends: Engines, store_data: Any, paging: Any) -> None:
    """Hostile limit/offset/max_depth on search and list_namespaces: answered like memory or
    refused alike."""

    def search(name: str) -> Any:
        kw = {"limit": 10, "offset": 0, **paging}
        return [i.key for i in backends.stores[name].search(ROOT, **kw)]

    def namespaces(name: str) -> Any:
        kw = {"limit": 10, "offset": 0, **paging}
        return backends.stores[name].list_namespaces(prefix=ROOT, **kw)

    def depth(name: str) -> Any:
        return backends.stores[name].list_namespaces(prefix=ROOT, max_depth=paging.get("limit"))

    for call in (search, namespaces, depth):
        agree(backends, call)
    intact(backends)


def _embed(texts: list[str]) -> list[list[float]]:
    """A deterministic four-number embedding of each text (its letters' counts)."""
    out = []
    for text in texts:
        counts = [1.0 + sum(ord(c) % 4 == n for c in text) for n in range(4)]
        out.append(counts)
    return out


INDEX_FIELDS = [
    DROP,
    "a'); DELETE FROM durastate_store; --",
    "$.a",
    "a[*].b",
    "a[0]",
    "a%s",
    "a.b.c",
    "*",
    "$",
    "[",
    "a]",
]


def test_index_field_paths(postgres_url: str, backends: Engines) -> None:
    """Hostile ``index["fields"]`` paths and per-item ``index=`` paths on SQLite and Postgres:
    the same items, order and scores as memory; nothing else touched."""
    from hostile_support import drop_schema

    index: dict[str, Any] = {"dims": 4, "embed": _embed, "fields": INDEX_FIELDS}
    schema = f"t_attack_{uuid.uuid4().hex[:12]}"
    values: list[dict[str, Any]] = [
        {"a": [{"b": "hello"}, {"b": DROP}], "$": "dollar", "*": "star"},
        {"a": "x" + DROP, "a%s": "percent"},
        {"a": {"b": {"c": "deep"}}, "[": "bracket"},
    ]
    with ExitStack() as stack:
        stack.callback(drop_schema, postgres_url, schema)
        made: dict[str, BaseStore] = {
            "memory": InMemoryStore(index=index),
            "sqlite": stack.enter_context(
                SqliteStore.from_conn_string(backends.sqlite_path, index=index)
            ),
            "postgres": stack.enter_context(
                PostgresStore.from_conn_string(postgres_url, schema=schema, index=index)
            ),
        }
        ns = ("injidx", uuid.uuid4().hex)
        answers: dict[str, Any] = {}
        for name, store in made.items():
            outcomes = [outcome(store.put, ns, f"k{n}", v) for n, v in enumerate(values)]
            outcomes.append(outcome(store.put, ns, "own", {"q": DROP}, index=[DROP, "q"]))
            found = outcome(
                lambda s=store: [
                    (i.key, round(i.score or 0, 5)) for i in s.search(ns, query="hello", limit=10)
                ]
            )
            answers[name] = (outcomes, found)
        for name, answer in answers.items():
            assert answer == answers["memory"], (name, answer, answers["memory"])
        assert not isinstance(answers["memory"][1], type)
        assert len(answers["memory"][1]) == 4
    intact(backends)


# --- checkpoints: metadata filters, before, namespaces, thread ids ------------------------


def _saver_list(
    backends: Engines, config: RunnableConfig | None, **kw: Any
) -> Callable[[str], Any]:
    def run(name: str) -> Any:
        saver: BaseCheckpointSaver[Any] = backends.savers[name]
        return sorted(
            (t.config["configurable"]["thread_id"], t.checkpoint["id"])
            for t in saver.list(config, **kw)
        )

    return run


@pytest.fixture(scope="module")
def threads(backends: Engines) -> list[str]:
    ids = []
    for n, bit in enumerate(SQL_BITS[:8]):
        tid = f"injt-{n}-{bit}"
        cfg: RunnableConfig = {"configurable": {"thread_id": tid, "checkpoint_ns": bit}}
        cp = empty_checkpoint()  # one id on every engine, so answers compare
        for saver in backends.savers.values():
            saver.put(cfg, cp, _meta(n, bit), {})
        ids.append(tid)
    return ids


META_FILTERS: list[dict[str, Any]] = [
    *({bit: "x"} for bit in SQL_BITS),
    *({"who": bit} for bit in SQL_BITS),
    {"who": {"$ne": "x"}},
    {"step": "0 OR 1=1"},
    {"step": {"$gt": 0}},
    {"who": [DROP]},
    {"who": {"a": DROP}},
    {"source": "input", DROP: None},
]


@pytest.mark.parametrize("flt", META_FILTERS, ids=range(len(META_FILTERS)))
def test_checkpoint_metadata_filters(backends: Engines, threads: list[str], flt: Any) -> None:
    """list(filter=) with hostile keys and values, over all threads and over one: the memory
    answer everywhere."""
    agree(backends, _saver_list(backends, None, filter=flt))
    one: RunnableConfig = {"configurable": {"thread_id": threads[0]}}
    agree(backends, _saver_list(backends, one, filter=flt))
    intact(backends)


@pytest.mark.parametrize("bit", SQL_BITS, ids=range(len(SQL_BITS)))
def test_checkpoint_ids_namespaces_and_limits(
    backends: Engines, threads: list[str], bit: str
) -> None:
    """Hostile ``before`` ids, checkpoint namespaces, thread ids and limits in list and
    get_tuple; delete_thread of a hostile id deletes nothing else."""
    calls: list[Callable[[str], Any]] = [
        _saver_list(backends, None, before={"configurable": {"checkpoint_id": bit}}),
        _saver_list(backends, {"configurable": {"thread_id": bit}}),
        _saver_list(backends, {"configurable": {"thread_id": threads[0], "checkpoint_ns": bit}}),
        _saver_list(backends, None, limit=bit),
    ]
    for call in calls:
        agree(backends, call)
    ref: RunnableConfig = {
        "configurable": {
            "thread_id": threads[1],
            "checkpoint_ns": SQL_BITS[1],
            "checkpoint_id": bit,
        }
    }
    agree(backends, lambda name: backends.savers[name].get_tuple(ref))
    agree(backends, lambda name: backends.savers[name].delete_thread(bit))
    agree(backends, _saver_list(backends, None))
    intact(backends)


# --- Redis: glob and script injection, on plain Redis and Redis Cluster -------------------

PAIRS = [
    ("a*", "ab"),
    ("*", "a"),
    ("a?", "ab"),
    ("?", "a"),
    ("[ab]", "a"),
    ("a[", "a"),
    ("a]", "a"),
    ("a\\", "a"),
    ("a\\*", "a*"),
    ("a:", "a"),
    ("a:b", "a"),
    (":", "x"),
    ("{a}", "a"),
    ("a}", "a"),
    ("{", "x"),
    ("a'", "a"),
    ('a"', "a"),
    ("a') redis_call('FLUSHALL') --", "a"),
    ("'); return redis_call('KEYS', '*') --", "b"),
    ("a%2A", "a*"),
    ("a%", "a"),
]
"""(attacker name, victim name): the attacker's operations must never reach the victim's."""


@pytest.fixture(scope="module", params=["redis", "redis-cluster"])
def redis_parts(
    request: pytest.FixtureRequest, redis_url: str, redis_cluster_url: str
) -> Iterator[tuple[RedisSaver, RedisStore, RedisCache[Any]]]:
    url = redis_url if request.param == "redis" else redis_cluster_url
    prefix = f"dstest-attack-{uuid.uuid4().hex[:10]}"
    with ExitStack() as stack:
        stack.callback(delete_prefix, url, prefix)
        saver = stack.enter_context(RedisSaver.from_conn_string(url, key_prefix=prefix))
        store = stack.enter_context(RedisStore.from_conn_string(url, key_prefix=prefix))
        cache = stack.enter_context(RedisCache.from_conn_string(url, key_prefix=prefix))
        yield saver, store, cache


def _cfg(thread: str, ns: str = "") -> RunnableConfig:
    return {"configurable": {"thread_id": thread, "checkpoint_ns": ns}}


@pytest.mark.parametrize(("attacker", "victim"), PAIRS, ids=range(len(PAIRS)))
def test_redis_names_never_reach_a_neighbour(
    redis_parts: tuple[RedisSaver, RedisStore, RedisCache[Any]], attacker: str, victim: str
) -> None:
    """Thread ids, checkpoint namespaces, store namespaces and keys, and cache namespaces and
    keys holding glob, hash-tag, separator and quote characters: list, search, list_namespaces
    (prefix), cache get/clear and delete_thread of the attacker never read, list, clear or
    delete the victim's data."""
    saver, store, cache = redis_parts
    tag = uuid.uuid4().hex[:8]
    t_att, t_vic = f"{tag}{attacker}", f"{tag}{victim}"
    saver.put(_cfg(t_vic), empty_checkpoint(), {"source": "input", "step": -1}, {})
    saver.put(_cfg(t_att), empty_checkpoint(), {"source": "input", "step": -1}, {})
    saver.put(_cfg(t_att, victim), empty_checkpoint(), {"source": "input", "step": -1}, {})
    saver.put(_cfg(t_att, attacker), empty_checkpoint(), {"source": "input", "step": -1}, {})
    own = [t.config["configurable"]["thread_id"] for t in saver.list(_cfg(t_att, attacker))]
    assert own == [t_att]
    spaces = {
        t.config["configurable"]["checkpoint_ns"]
        for t in saver.list({"configurable": {"thread_id": t_att, "checkpoint_ns": attacker}})
    }
    assert spaces == {attacker}

    root = ("redisinj", tag)
    store.put((*root, victim), victim, {"who": "victim"})
    store.put((*root, attacker), attacker, {"who": "attacker"})
    assert [i.value["who"] for i in store.search((*root, attacker))] == ["attacker"]
    assert store.get((*root, attacker), victim) is None
    assert store.list_namespaces(prefix=(*root, attacker)) == (
        [(*root, attacker)] if attacker != "*" else sorted({(*root, attacker), (*root, victim)})
    )

    c_att, c_vic = (*root, attacker), (*root, victim)
    cache.set({(c_vic, victim): ("victim", None), (c_vic, attacker): ("victim2", None)})
    cache.set({(c_att, attacker): ("attacker", None)})
    assert cache.get([(c_att, victim), (c_att, attacker)]) == {(c_att, attacker): "attacker"}
    cache.clear([c_att])
    assert cache.get([(c_att, attacker)]) == {}

    store.delete((*root, attacker), attacker)
    saver.delete_thread(t_att)

    assert saver.get_tuple(_cfg(t_vic)) is not None
    assert saver.get_tuple(_cfg(t_att)) is None
    item = store.get((*root, victim), victim)
    assert item is not None and item.value == {"who": "victim"}
    assert store.list_namespaces(prefix=root) == [(*root, victim)]
    assert cache.get([(c_vic, victim), (c_vic, attacker)]) == {
        (c_vic, victim): "victim",
        (c_vic, attacker): "victim2",
    }
    store.delete((*root, victim), victim)
    saver.delete_thread(t_vic)
    cache.clear([c_vic])


PREFIXES = ["p", "p:x", "px", "p*", "p?", "p[x]", "p\\", "p:cache", "p:threads", "p'", 'p"', "p:"]
"""Key prefixes of neighbours on one server: each a prefix or a glob of another."""


@pytest.mark.parametrize("server", ["redis", "redis-cluster"])
def test_redis_key_prefixes_stay_apart(request: pytest.FixtureRequest, server: str) -> None:
    """Backends whose key prefixes extend or glob-match each other: clearing the cache,
    deleting threads, sweeping and deleting items under one prefix leaves every other
    prefix's data, and each prefix's SCAN pattern finds only its own keys."""
    url = request.getfixturevalue(server.replace("-", "_") + "_url")
    base = f"dstest-attack-{uuid.uuid4().hex[:8]}-"
    prefixes = [base + p for p in PREFIXES]
    with ExitStack() as stack:
        for prefix in prefixes:
            stack.callback(delete_prefix, url, prefix)
        parts: dict[str, tuple[RedisSaver, RedisStore, RedisCache[Any]]] = {}
        for prefix in prefixes:
            parts[prefix] = (
                stack.enter_context(RedisSaver.from_conn_string(url, key_prefix=prefix)),
                stack.enter_context(RedisStore.from_conn_string(url, key_prefix=prefix)),
                stack.enter_context(RedisCache.from_conn_string(url, key_prefix=prefix)),
            )

        def every_key() -> set[bytes]:
            return set(admin(url).execute(Scan(glob_escape(base) + "*")))

        created: dict[str, set[bytes]] = {}
        for prefix, (saver, store, cache) in parts.items():
            before = every_key()
            saver.put(_cfg("t"), empty_checkpoint(), {"source": "input", "step": -1}, {})
            store.put(("ns",), "k", {"prefix": prefix})
            cache.set({(("ns",), "k"): (prefix, None)})
            created[prefix] = every_key() - before
            assert created[prefix], prefix
        for prefix, (saver, store, cache) in parts.items():
            saver.delete_thread("t")
            store.delete(("ns",), "k")
            cache.clear()
            saver.sweep_ttl()
            store.sweep_ttl()
            assert saver.get_tuple(_cfg("t")) is None
            assert list(saver.list(None)) == []
            assert store.list_namespaces() == []
            assert cache.get([(("ns",), "k")]) == {}
            saver.put(_cfg("t"), empty_checkpoint(), {"source": "input", "step": -1}, {})
            store.put(("ns",), "k", {"prefix": prefix})
            cache.set({(("ns",), "k"): (prefix, None)})
            for other in prefixes:
                o_saver, o_store, o_cache = parts[other]
                assert o_saver.get_tuple(_cfg("t")) is not None, (prefix, other)
                item = o_store.get(("ns",), "k")
                assert item is not None and item.value == {"prefix": other}, (prefix, other)
                assert o_cache.get([(("ns",), "k")]) == {(("ns",), "k"): other}, (prefix, other)
        for prefix in prefixes:
            layout = Layout(prefix)
            found: set[bytes] = set()
            for pattern in layout.patterns():
                found |= set(admin(url).execute(Scan(pattern)))
            assert found == created[prefix], (prefix, sorted(found ^ created[prefix])[:3])
            broad = set(admin(url).execute(Scan(layout.everything())))
            assert {k for k in broad if layout.owns(k)} == created[prefix], prefix
            for other in prefixes:
                if other != prefix:
                    assert not any(layout.owns(k) for k in created[other]), (prefix, other)


@pytest.mark.parametrize("prefix", ["p{x}", "{p}", "p}", "p{", "p\x00", ""])
def test_redis_key_prefixes_that_would_break_hash_tags_are_refused(
    redis_url: str, prefix: str
) -> None:
    """A prefix with a brace (it would move or split the hash tags that keep a thread's keys
    in one cluster slot), NUL or nothing is refused by every Redis class before any write."""
    for cls in (RedisSaver, RedisStore, RedisCache):
        with pytest.raises(InvalidInputError, match="key_prefix"):
            with cls.from_conn_string(redis_url, key_prefix=prefix):
                pass
