"""Redis store specifics: query-engine errors, round trips, no KEYS, key layout, transfer."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.asyncio as aredis
from langgraph.store.base import GetOp, Item, PutOp
from redis.exceptions import ResponseError
from redis_support import admin, delete_prefix, keys_under

from durastate._engines.redis import store_ops
from durastate._engines.redis.keys import Layout
from durastate._engines.redis.requests import Cmd, Request
from durastate._engines.redis.store_keys import StoreKeys
from durastate.conformance.store_support import expected_score, index_config
from durastate.errors import InvalidInputError
from durastate.store.filters import compile_filter, matches
from durastate.store.redis import AsyncRedisStore, QueryEngineMissingError, RedisStore
from durastate.store.sqlite import SqliteStore
from durastate.store.transfer import ExportedItem

NS = ("users", "u1")
AWKWARD = [
    "plain",
    "with:colon",
    "per%cent",
    "{tag}",
    "sp ace",
    "tab\tnew\nline",
    "glob*?[x]",
    "back\\slash",
    "é✓",
]


@pytest.fixture
def prefix(
    redis_url: str, valkey_url: str, redis_stack_url: str, redis_cluster_url: str
) -> Iterator[str]:
    name = f"dstest-store-{uuid.uuid4().hex[:10]}"
    yield name
    try:
        admin(redis_stack_url).execute(Cmd(("FT.DROPINDEX", StoreKeys.of(Layout(name)).index)))
    except ResponseError:
        pass
    for url in (redis_url, valkey_url, redis_stack_url, redis_cluster_url):
        delete_prefix(url, name)


def _count_requests(store: Any) -> list[Request]:
    """Record every request the store's driver sends from now on (each is one round trip)."""
    sent: list[Request] = []
    driver = store._driver
    original = driver.execute

    if isinstance(store, AsyncRedisStore):

        async def counted_async(req: Request) -> Any:
            sent.append(req)
            return await original(req)

        driver.execute = counted_async
    else:

        def counted(req: Request) -> Any:
            sent.append(req)
            return original(req)

        driver.execute = counted
    return sent


@pytest.mark.parametrize("server", ["redis", "valkey"])
def test_an_index_without_query_engine_fails_at_setup_naming_what_is_missing(
    request: pytest.FixtureRequest, server: str, prefix: str
) -> None:
    url = request.getfixturevalue(f"{server}_url")
    with RedisStore.from_conn_string(url, key_prefix=prefix, index=index_config()) as store:
        with pytest.raises(QueryEngineMissingError) as caught:
            store.setup()
        with pytest.raises(QueryEngineMissingError):
            store.put(NS, "k", {"text": "apple"})
    message = str(caught.value)
    assert "query engine" in message and "FT.CREATE" in message
    assert ("Valkey" if server == "valkey" else "Redis 7") in message
    assert "without index=" in message
    assert keys_under(url, prefix) == []
    with RedisStore.from_conn_string(url, key_prefix=prefix) as store:
        store.put(NS, "k", {"text": "apple"})
        assert store.search(NS, filter={"text": "apple"})[0].key == "k"


async def test_async_store_fails_the_same_way(valkey_url: str, prefix: str) -> None:
    async with AsyncRedisStore.from_conn_string(
        valkey_url, key_prefix=prefix, index=index_config()
    ) as store:
        with pytest.raises(QueryEngineMissingError, match="Valkey"):
            await store.aput(NS, "k", {"text": "apple"})


@pytest.mark.parametrize("cls", [RedisStore, AsyncRedisStore])
async def test_round_trips_per_operation(cls: Any, redis_url: str, prefix: str) -> None:
    """get (any number in one batch) is one script call; put one; list_namespaces one."""
    store = cls(redis_url, key_prefix=prefix, ttl={"default_ttl": 5})
    try:
        sent = _count_requests(store)
        await store.aput(NS, "k", {"v": 1})
        assert len(sent) == 1
        sent.clear()
        assert (await store.aget(NS, "k")).value == {"v": 1}
        assert len(sent) == 1, sent
        sent.clear()
        await store.abatch([PutOp(NS, f"k{i}", {"v": i}) for i in range(50)])
        assert len(sent) == 1
        sent.clear()
        found = await store.abatch([GetOp(NS, f"k{i}") for i in range(50)])
        assert [item.value["v"] for item in found] == list(range(50))
        assert len(sent) == 1
        sent.clear()
        assert await store.alist_namespaces() == [NS]
        assert len(sent) == 1
        sent.clear()
        assert len(await store.asearch(NS, limit=100)) == 51
        assert len(sent) == 2  # the search script (every namespace under the prefix), TTL refresh
    finally:
        if isinstance(store, AsyncRedisStore):
            await store.aclose()
        else:
            store.close()


@pytest.mark.parametrize("distance", ["cosine", "l2", "inner_product"])
async def test_async_semantic_search_scores_per_distance(
    redis_stack_url: str, prefix: str, distance: str
) -> None:
    """AsyncRedisStore answers KNN through redis.asyncio with the reference scores."""
    index = index_config(fields=["text"], distance_type=distance)
    texts = {"a": "apple", "b": "banana dog", "c": "car car"}
    async with AsyncRedisStore.from_conn_string(
        redis_stack_url, key_prefix=f"{prefix}-{distance}", index=index
    ) as store:
        for key, text in texts.items():
            await store.aput(NS, key, {"text": text, "n": len(text)})
        await store.aput(NS, "plain", {"text": "apple", "n": 0}, index=False)
        found = await store.asearch(NS[:1], query="pet", filter={"n": {"$lt": 10}})
        expected = {k: expected_score(t, "pet", distance) for k, t in texts.items() if len(t) < 10}
        assert [it.key for it in found] == [*sorted(expected, key=lambda k: -expected[k]), "plain"]
        for item in found[:-1]:
            assert item.score == pytest.approx(expected[item.key], abs=1e-5)
        assert found[-1].score is None
        await store.drop_index()
    delete_prefix(redis_stack_url, f"{prefix}-{distance}")


def test_no_keys_or_scan_command_is_used(redis_stack_url: str, prefix: str) -> None:
    client = admin(redis_stack_url).client

    def calls(name: str) -> int:
        stats = client.info("commandstats")
        return int(stats.get(f"cmdstat_{name}", {}).get("calls", 0))

    before = calls("keys"), calls("scan")
    with RedisStore.from_conn_string(
        redis_stack_url, key_prefix=prefix, index=index_config(fields=["text"])
    ) as store:
        store.put(NS, "a", {"text": "apple"}, ttl=10)
        store.put(("other",), "b", {"text": "car"})
        store.search((), query="apple", filter={"text": "apple"})
        store.search(NS, filter={"text": {"$ne": "x"}})
        store.list_namespaces(prefix=("users",))
        store.sweep_ttl()
        list(store.export_items())
        store.delete(NS, "a")
        store.drop_index()
    assert (calls("keys"), calls("scan")) == before


def test_awkward_names_keep_their_keys_and_leave_nothing_behind(
    redis_url: str, prefix: str
) -> None:
    """Keys and labels with key syntax, glob characters and non-ASCII text are stored under
    the escaped names (the same escaping in Python and Lua); once every item is deleted or
    expired and swept, no key of the store is left. The empty key is a key like any other."""
    keys = StoreKeys.of(Layout(prefix))
    names = [(label, "x", key) for label in AWKWARD for key in [*AWKWARD, ""]]
    with RedisStore.from_conn_string(redis_url, key_prefix=prefix) as store:
        store.batch(
            [PutOp((a, b), key, {"ns": [a, b], "key": key}, ttl=0.01) for a, b, key in names]
        )
        stored = set(keys_under(redis_url, prefix))
        assert all(keys.item((a, b), key).encode() in stored for a, b, key in names)
        found = store.batch([GetOp((a, b), key, refresh_ttl=False) for a, b, key in names])
        assert [it.value if isinstance(it, Item) else None for it in found] == [
            {"ns": [a, b], "key": key} for a, b, key in names
        ]
        assert store.list_namespaces() == sorted({(a, b) for a, b, _ in names})
        store.put(("plain",), "kept", {})
        store.delete(("plain",), "kept")
        time.sleep(0.7)
        assert store.sweep_ttl() == len(names)
        assert store.list_namespaces() == []
    assert keys_under(redis_url, prefix) == []


def test_native_ttl_on_plain_redis(redis_url: str, prefix: str) -> None:
    """Lifetimes are Redis expiries: gone from get, search and list_namespaces before any
    sweep, a refreshing read restarts one, an update without ttl removes it, and the sweep
    counts what expired."""
    with RedisStore.from_conn_string(redis_url, key_prefix=prefix) as store:
        store.put(("gone",), "a", {"v": 1}, ttl=0.004)
        store.put(NS, "read", {"v": 2}, ttl=0.02)
        store.put(NS, "idle", {"v": 3}, ttl=0.02)
        store.put(NS, "permanent", {"v": 4}, ttl=0.004)
        store.put(NS, "permanent", {"v": 5})
        client = admin(redis_url).client
        assert client.pttl(StoreKeys.of(Layout(prefix)).item(NS, "permanent")) == -1
        assert 0 < client.pttl(StoreKeys.of(Layout(prefix)).item(NS, "idle")) <= 1200
        time.sleep(0.7)
        assert store.get(("gone",), "a") is None
        assert store.list_namespaces() == [NS]
        assert store.get(NS, "read") is not None
        time.sleep(0.8)
        assert sorted(it.key for it in store.search(NS)) == ["permanent", "read"]
        assert store.sweep_ttl() == 1  # "idle"; list_namespaces already cleaned "gone"


async def test_a_cluster_holds_the_store_in_one_slot(redis_cluster_url: str, prefix: str) -> None:
    """On a Redis Cluster every store key shares one hash slot, so the multi-namespace
    scripts work there; TTL expiry, listing and sweeping too (``RedisStore`` runs the
    LangGraph scenarios on the cluster). Semantic search is refused at setup with the
    reason (no search coordinator on open-source clusters)."""
    store = AsyncRedisStore(redis_cluster_url, key_prefix=prefix)
    try:
        await store.abatch(
            [
                PutOp(("a", f"n{i % 3}"), f"k{i}", {"i": i}, ttl=0.008 if i % 2 else None)
                for i in range(12)
            ]
        )
        assert await store.alist_namespaces() == [("a", "n0"), ("a", "n1"), ("a", "n2")]
        found = await store.asearch(("a",), filter={"i": {"$gte": 6}}, limit=20)
        assert sorted(it.value["i"] for it in found) == list(range(6, 12))
        await asyncio.sleep(0.65)
        assert sorted(it.value["i"] for it in await store.asearch((), limit=20)) == [
            0,
            2,
            4,
            6,
            8,
            10,
        ]
        assert await store.asweep_ttl() == 6
        slots = {
            admin(redis_cluster_url).client.keyslot(k)
            for k in keys_under(redis_cluster_url, prefix)
        }
        assert len(slots) == 1
    finally:
        await store.aclose()
    with pytest.raises(QueryEngineMissingError, match="Cluster"):
        with RedisStore(redis_cluster_url, key_prefix=prefix, index=index_config()) as indexed:
            indexed.setup()


def test_an_existing_index_with_other_settings_is_named(redis_stack_url: str, prefix: str) -> None:
    with RedisStore(redis_stack_url, key_prefix=prefix, index=index_config()) as store:
        store.setup()
    other = index_config(distance_type="l2")
    with RedisStore(redis_stack_url, key_prefix=prefix, index=other) as store:
        with pytest.raises(InvalidInputError, match=r"cosine distance.*l2"):
            store.setup()


@pytest.mark.parametrize("kind", ["hnsw", "flat"])
def test_the_vector_field_kind_is_configurable(
    redis_stack_url: str, prefix: str, kind: str
) -> None:
    """``ann_index_config`` as for the Postgres store: HNSW (m, ef_construction,
    ef_search) or an exact FLAT field; both answer the same top results."""
    config = {"kind": kind, "m": 8, "ef_search": 50} if kind == "hnsw" else {"kind": kind}
    index = {**index_config(fields=["text"]), "ann_index_config": config}
    with RedisStore(redis_stack_url, key_prefix=prefix, index=index) as store:
        store.batch(
            [PutOp(NS, f"k{i}", {"text": f"apple {i}" if i % 2 else "dog"}) for i in range(60)]
        )
        found = store.search(NS, query="apple", limit=5)
        assert len(found) == 5 and all(i.key in {f"k{n}" for n in range(1, 60, 2)} for i in found)
        info = admin(redis_stack_url).execute(Cmd(("FT.INFO", store.keys.index)))
        assert kind.upper().encode() in repr(info).encode()
    other = {**index, "ann_index_config": {"kind": "flat" if kind == "hnsw" else "hnsw"}}
    with RedisStore(redis_stack_url, key_prefix=prefix, index=other) as store:
        with pytest.raises(InvalidInputError, match=f"exists as {kind}"):
            store.setup()


@pytest.mark.parametrize(
    "config", [{"kind": "ivfflat"}, {"m": 0}, {"ef_search": "many"}, ["hnsw"]], ids=repr
)
def test_a_bad_vector_field_config_is_refused_naming_it(
    redis_stack_url: str, prefix: str, config: Any
) -> None:
    index = {**index_config(fields=["text"]), "ann_index_config": config}
    with RedisStore(redis_stack_url, key_prefix=prefix, index=index) as store:
        with pytest.raises(InvalidInputError, match="ann_index_config"):
            store.setup()


def test_an_index_built_over_existing_vectors_is_waited_for(
    redis_stack_url: str, prefix: str
) -> None:
    """The engine indexes documents that predate an index in the background; setup waits
    for it, so the first search after reopening sees every vector."""
    index = index_config(fields=["text"])
    with RedisStore(redis_stack_url, key_prefix=prefix, index=index) as store:
        store.batch([PutOp(NS, f"k{i}", {"text": "apple" if i % 2 else "dog"}) for i in range(800)])
        assert store.drop_index()
    with RedisStore(redis_stack_url, key_prefix=prefix, index=index) as store:
        found = store.search(NS, query="apple", limit=1000)
        assert len(found) == 800 and all(item.score is not None for item in found)


def test_given_clients_with_either_protocol_are_used_and_left_open(
    redis_stack_url: str, prefix: str
) -> None:
    """RESP2 and RESP3 replies of the query engine give the same scores."""
    for protocol in (2, 3):
        client = redis.Redis.from_url(redis_stack_url, protocol=protocol)
        index = index_config(fields=["text"], distance_type="inner_product")
        with RedisStore(client, key_prefix=f"{prefix}-{protocol}", index=index) as store:
            store.put(NS, "a", {"text": "apple"})
            store.put(NS, "c", {"text": "car"})
            found = store.search(NS, query="apple")
            assert [it.key for it in found] == ["a", "c"]
            assert found[0].score == pytest.approx(
                expected_score("apple", "apple", "inner_product")
            )
            store.drop_index()
        assert client.ping()
        for key in keys_under(redis_stack_url, f"{prefix}-{protocol}"):
            client.delete(key)
        client.close()


async def test_given_async_client_is_used_and_left_open(redis_url: str, prefix: str) -> None:
    client = aredis.Redis.from_url(redis_url)
    async with AsyncRedisStore(redis_client=client, key_prefix=prefix) as store:
        await store.aput(NS, "k", {"v": 1})
        item = await store.aget(NS, "k")
        assert item is not None and item.value == {"v": 1}
    assert await client.ping()
    await client.aclose()


def test_export_and_import_keep_times_lifetimes_and_vectors(
    redis_stack_url: str, prefix: str, tmp_path: Any
) -> None:
    """Items copied Redis -> SQLite -> Redis keep created/updated times, expiry, TTL and
    vectors exactly (no re-embedding), ordered by namespace then key."""
    index = index_config(fields=["text"])
    with RedisStore(redis_stack_url, key_prefix=prefix, index=index) as source:
        source.put(("b",), "z", {"text": "car"})
        source.put(("a", "x"), "k2", {"text": "dog"}, ttl=10)
        source.put(("a", "x"), "k1", {"text": "apple"}, index=False)
        source.put(("a", "x"), "k2", {"text": "apple"}, ttl=10)
        exported = list(source.export_items(batch_size=1))
        assert [(e.namespace, e.key) for e in exported] == [
            (("a", "x"), "k1"),
            (("a", "x"), "k2"),
            (("b",), "z"),
        ]
        assert exported[1].ttl_minutes == 10.0 and exported[1].expires_at is not None
        assert exported[1].created_at < exported[1].updated_at
        assert not exported[0].vectors and exported[2].vectors
        assert [e.key for e in source.export_items(("a",))] == ["k1", "k2"]
    with SqliteStore(str(tmp_path / "copy.db"), index=index) as middle:
        assert middle.import_items(exported) == 3
        via_sqlite = list(middle.export_items())
    embeddings = index_config(fields=["text"])["embed"]
    with RedisStore(
        redis_stack_url, key_prefix=f"{prefix}-copy", index={**index, "embed": embeddings}
    ) as target:
        assert target.import_items(via_sqlite) == 3
        assert embeddings.documents == []
        again = list(target.export_items())
        for a, b in zip(exported, again, strict=True):
            assert (a.namespace, a.key, a.value) == (b.namespace, b.key, b.value)
            assert (a.created_at, a.updated_at, a.ttl_minutes) == (
                b.created_at,
                b.updated_at,
                b.ttl_minutes,
            )
            assert (a.expires_at is None) == (b.expires_at is None)
            if a.expires_at is not None:
                assert b.expires_at == pytest.approx(a.expires_at, abs=0.002)
        found = target.search((), query="car")
        assert found[0].key == "z"
        assert found[0].score == pytest.approx(expected_score("car", "car", "cosine"), abs=1e-5)
        target.drop_index()
    delete_prefix(redis_stack_url, f"{prefix}-copy")


PREFILTER_ITEMS: dict[str, dict[str, Any]] = {
    "int1": {"n": 1, "b": 1, "s": "a"},
    "float1": {"n": 1.0, "b": 0, "s": "B"},
    "half": {"n": 1.5, "s": "Z"},
    "true": {"n": True, "b": True, "s": "é"},
    "false": {"n": False, "b": False, "s": "\uffff"},
    "big": {"n": 2**53 + 1, "s": "\U0001f600"},
    "big-even": {"n": 2**53, "s": "z"},
    "huge": {"n": -(10**30), "s": "ä"},
    "null": {"n": None, "s": None},
    "empty-obj": {"n": {}, "s": {}},
    "empty-list": {"n": [], "s": []},
    "list": {"n": [1], "s": ["a"]},
    "nested": {"n": {"d": {"f": 5}}, "s": "abc"},
    "quoted": {"n": 'k"2', "s": "back\\slash k2", "kind": "k2"},
    "elsewhere": {"other": "k2", "s": "k2"},
    "missing": {},
}
PREFILTER_CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"n": 1}, {"int1", "float1"}),
    ({"n": 1.0}, {"int1", "float1"}),
    ({"n": {"$in": [1, "x"]}}, {"int1", "float1"}),
    ({"n": {"$gt": 1}}, {"half", "big", "big-even"}),
    ({"n": {"$lte": 1.0}}, {"int1", "float1", "huge"}),
    ({"n": True}, {"true"}),
    ({"b": {"$in": [True]}}, {"true"}),
    ({"b": {"$nin": [1, 0]}}, {"true", "false"} | set(PREFILTER_ITEMS) - {"int1", "float1"}),
    ({"n": {"$gt": 0, "$lt": 2}}, {"int1", "float1", "half"}),
    ({"n": 2**53 + 1}, {"big"}),
    ({"n": 2**53}, {"big-even"}),
    ({"n": {"$gt": 2**53}}, {"big"}),
    ({"n": {"$gte": 2**53 - 1}}, {"big", "big-even"}),
    ({"n": {"$ne": 2**53}}, set(PREFILTER_ITEMS) - {"big-even"}),
    ({"n": {"$lt": -(2**60)}}, {"huge"}),
    ({"n": None}, {"null"}),
    ({"n": {"$ne": None}}, set(PREFILTER_ITEMS) - {"null"}),
    ({"n": {"$nin": [None]}}, set(PREFILTER_ITEMS) - {"null"}),
    ({"n": {"$eq": {}}}, {"empty-obj"}),
    ({"n": {"$eq": []}}, {"empty-list"}),
    ({"n": {"$in": [[]]}}, {"empty-list"}),
    ({"n": {"$ne": []}}, set(PREFILTER_ITEMS) - {"empty-list"}),
    ({"n": {"$gt": 0, "$exists": True}}, {"int1", "float1", "half", "big", "big-even"}),
    ({"n": {"$exists": False}}, {"elsewhere", "missing"}),
    ({"n.d.f": 5}, {"nested"}),
    ({"n": {"d": {"f": 5}}}, {"nested"}),
    ({"n.d": {"$exists": True}}, {"nested"}),
    ({"n.0": {"$exists": True}}, set()),
    ({"n.0": {"$ne": 1}}, set(PREFILTER_ITEMS)),
    ({"s.len": {"$exists": True}}, set()),
    ({"s.len": {"$ne": 3}}, set(PREFILTER_ITEMS)),
    ({"s.x": {"$exists": False}}, set(PREFILTER_ITEMS)),
    ({"missing": {"$ne": "a"}}, set(PREFILTER_ITEMS)),
    ({"missing": {"$nin": ["a", 1]}}, set(PREFILTER_ITEMS)),
    ({"missing": {"$in": ["a", 1]}}, set()),
    ({"s": {"$gt": "z"}}, {"true", "false", "big", "huge"}),
    (
        {"s": {"$lt": "\U0001f600"}},
        {"int1", "float1", "half", "true", "false", "big-even"}
        | {"huge", "nested", "quoted", "elsewhere"},
    ),
    ({"s": {"$gt": "B", "$lt": "a"}}, {"half"}),
    ({"s": {"$gte": "a", "$lte": "abc"}}, {"int1", "nested"}),
    ({"s": {"$gt": 1}}, set()),
    ({"kind": "k2"}, {"quoted"}),
    ({"s": {"$in": ["k2", "abc"]}}, {"elsewhere", "nested"}),
    ({"n": 'k"2'}, {"quoted"}),
    ({"s": "back\\slash k2"}, {"quoted"}),
]


@pytest.mark.parametrize("server", ["redis", "valkey"])
def test_filters_pushed_into_the_search_script_keep_the_reference_answer(
    request: pytest.FixtureRequest, server: str, prefix: str
) -> None:
    """The script drops only items the reference evaluator surely rejects: ints equal
    floats, bools equal only bools and never order, numbers past 2**53 compare exactly,
    empty objects and lists stay apart, paths never descend into strings or lists, missing
    fields match $ne/$nin, strings order by code point, quoted and escaped text is found."""
    url = request.getfixturevalue(f"{server}_url")
    with RedisStore.from_conn_string(url, key_prefix=prefix) as store:
        store.batch([PutOp(NS, key, value) for key, value in PREFILTER_ITEMS.items()])
        for filter, expected in PREFILTER_CASES:
            conditions = compile_filter(filter)
            reference = {k for k, v in PREFILTER_ITEMS.items() if matches(v, conditions)}
            assert reference == expected, filter
            found = store.search(NS[:1], filter=filter, limit=100)
            assert {item.key for item in found} == expected, filter


def _reference_page(
    items: dict[tuple[tuple[str, ...], str], tuple[float, dict[str, Any]]],
    prefix: tuple[str, ...],
    filter: dict[str, Any] | None,
    limit: int,
    offset: int,
) -> list[tuple[tuple[str, ...], str]]:
    conditions = compile_filter(filter)
    hits = [
        (-updated, ns, key)
        for (ns, key), (updated, value) in items.items()
        if ns[: len(prefix)] == prefix and matches(value, conditions)
    ]
    return [(ns, key) for _, ns, key in sorted(hits)[offset : offset + limit]]


@pytest.mark.parametrize("examine", [3, 2048])
def test_filtered_search_pages_merge_namespaces_by_recency(
    redis_url: str, prefix: str, examine: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of a filtered search over many namespaces are the reference's: newest first,
    ties by namespace labels (("a", "b") before ("a-x",)) then key, offsets exact, also when
    each script call may look at only a few entries and the search resumes where it
    stopped. With the default bound one search is one round trip."""
    monkeypatch.setattr(store_ops, "EXAMINE", examine)
    rng = random.Random(5)
    spaces = [("a", "b"), ("a-x",), ("a", "b", "c"), ("a", "é"), ("a",), ("a", " s"), ("b",)]
    items: dict[tuple[tuple[str, ...], str], tuple[float, dict[str, Any]]] = {}
    for n in range(240):
        ns, key = spaces[n % len(spaces)], rng.choice(["k", "K", "k10", "k9", "é"]) + str(n // 7)
        updated = 1_700_000_000.0 + rng.choice([0, 0, 1, 2, 2.5, 7])
        items[(ns, key)] = (updated, {"kind": f"k{n % 5}", "rank": n % 100})
    exported = [
        ExportedItem(ns, key, value, updated, updated)
        for (ns, key), (updated, value) in items.items()
    ]
    with RedisStore.from_conn_string(redis_url, key_prefix=prefix) as store:
        store.import_items(exported)
        sent = _count_requests(store)
        searches: list[tuple[tuple[str, ...], dict[str, Any] | None]] = [
            (("a",), {"kind": "k2", "rank": {"$gte": 50}}),
            ((), {"kind": {"$in": ["k1", "k3"]}}),
            ((), None),
            (("a", "b"), {"rank": {"$lt": 10}}),
            ((), {"tags": {"$ne": 1}}),
        ]
        for prefix_, filter in searches:
            for limit, offset in [(1, 0), (10, 0), (10, 4), (7, 30), (300, 0)]:
                sent.clear()
                found = store.search(prefix_, filter=filter, limit=limit, offset=offset)
                expected = _reference_page(items, prefix_, filter, limit, offset)
                assert [(it.namespace, it.key) for it in found] == expected, (prefix_, filter)
                if examine == 2048 and offset + limit <= 14:
                    assert len(sent) == 1


def test_search_order_survives_deletes_updates_and_stores_without_head_index(
    redis_url: str, prefix: str
) -> None:
    """The index of each namespace's newest time only bounds where a namespace's items may
    start: after the newest items are deleted, older ones rewritten as newest, and with the
    index gone (a store written before it existed), pages stay the reference's."""
    keys = StoreKeys.of(Layout(prefix))
    items: dict[tuple[tuple[str, ...], str], tuple[float, dict[str, Any]]] = {}
    for n in range(60):
        ns = ("h", f"n{n % 6}")
        items[(ns, f"k{n}")] = (1_700_000_000.0 + n, {"kind": f"k{n % 3}"})
    exported = [
        ExportedItem(ns, key, value, updated, updated)
        for (ns, key), (updated, value) in items.items()
    ]

    def check(store: RedisStore) -> None:
        for filter in [None, {"kind": "k1"}]:
            for limit, offset in [(5, 0), (10, 3), (100, 0)]:
                found = store.search(("h",), filter=filter, limit=limit, offset=offset)
                expected = _reference_page(items, ("h",), filter, limit, offset)
                assert [(it.namespace, it.key) for it in found] == expected, (filter, offset)

    with RedisStore.from_conn_string(redis_url, key_prefix=prefix) as store:
        store.import_items(exported)
        check(store)
        for n in range(59, 40, -1):
            store.delete(("h", f"n{n % 6}"), f"k{n}")
            del items[(("h", f"n{n % 6}"), f"k{n}")]
        check(store)
        for n in (3, 4, 11):
            store.put(("h", f"n{n % 6}"), f"k{n}", {"kind": "k1"})
            found = store.get(("h", f"n{n % 6}"), f"k{n}")
            assert found is not None
            items[(("h", f"n{n % 6}"), f"k{n}")] = (found.updated_at.timestamp(), found.value)
        check(store)
        admin(redis_url).client.delete(f"{keys.base}:h")
        check(store)
        store.put(("h", "n0"), "late", {"kind": "k1"})
        found = store.get(("h", "n0"), "late")
        assert found is not None
        items[(("h", "n0"), "late")] = (found.updated_at.timestamp(), found.value)
        check(store)
