"""Postgres store and cache on the real server: HNSW plans, PgBouncer, JSONB filters, vectors."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import postgres_support
import psycopg
import pytest
from langgraph.store.base import PutOp
from postgres_support import Schemas, Trace
from psycopg_pool import AsyncConnectionPool

from durastate._engines.postgres.store_search import vector_search_sql
from durastate.cache.postgres import PostgresCache
from durastate.errors import InvalidInputError
from durastate.store.base import SearchRequest
from durastate.store.filters import compile_filter, matches
from durastate.store.postgres import AsyncPostgresStore, PostgresStore
from durastate.store.vectors import DistanceType, scores

schemas = postgres_support.schemas
schema_pool = postgres_support.schema_pool

DIMS = 16
_VECTORS = np.random.default_rng(7).standard_normal((2100, DIMS)).astype(np.float32)


def _embed(texts: list[str]) -> list[list[float]]:
    """``"v 12"`` embeds to row 12 of a fixed random matrix."""
    return [_VECTORS[int(t.split()[1])].tolist() for t in texts]


def _index(**ann: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"dims": DIMS, "embed": _embed, "fields": ["t"]}
    if ann:
        config["ann_index_config"] = ann
    return config


def _rows(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql, params or None)
        return cur.fetchall() if cur.description is not None else []


def _load(store: PostgresStore, count: int) -> None:
    """``count`` items, nine in ten under ("docs", ...), the rest under ("other",)."""
    store.batch(
        [
            PutOp(("docs", f"u{i % 3}") if i % 10 else ("other",), f"k{i}", {"t": f"v {i}", "n": i})
            for i in range(count)
        ]
    )


# --- The HNSW index is really used -----------------------------------------------------


def test_search_plan_walks_the_hnsw_index_under_a_namespace_filter(
    postgres_url: str, schemas: Schemas
) -> None:
    """EXPLAIN of the store's candidate query (with its scan settings) shows an index scan
    on the HNSW index ordered by distance, with the namespace condition applied on that
    scan (not a sort of every vector) right after a bulk load (the store analyzes its
    tables itself); the server's own statistics count a scan of that index for a real
    search, and the results are the exact top 10 of the namespace."""
    schema = schemas.new()
    with PostgresStore.from_conn_string(postgres_url, schema=schema, index=_index()) as store:
        _load(store, 2000)  # the store runs ANALYZE after its first 1,000 writes
        query = _VECTORS[2050]
        req = SearchRequest(0, ("docs",), (), 10, 0, "v 2050", False, query)
        sql, params = vector_search_sql(store._ctx, req, time.time())
        settings = store._ctx.layout.scan_settings(30)  # type: ignore[union-attr]
        with psycopg.connect(postgres_url) as conn:
            conn.execute(settings or "")
            plan = [r[0] for r in conn.execute(f"EXPLAIN {sql}", {**params, "n": 30})]
        text = "\n".join(plan)
        hits = [i for i, line in enumerate(plan) if "Index Scan using durastate_vec_hnsw" in line]
        assert hits, text
        scan = hits[0]
        assert "Order By" in plan[scan + 1], text
        assert "Filter" in plan[scan + 2] and "ns" in plan[scan + 2], text
        assert "Sort" not in text, text
        [(index_name, before)] = _rows(
            postgres_url,
            "SELECT indexrelname, idx_scan FROM pg_stat_user_indexes "
            "WHERE schemaname = %s AND indexrelname LIKE 'durastate_vec_hnsw%%'",
            schema,
        )

    with psycopg.connect(postgres_url, autocommit=True) as own:
        own.execute("SELECT pg_stat_force_next_flush()")
        store = PostgresStore(own, schema=schema, index=_index())
        found = store.search(("docs",), query="v 2050", limit=10)
        own.execute("SELECT pg_stat_force_next_flush()")
    after = _rows(
        postgres_url,
        "SELECT idx_scan FROM pg_stat_user_indexes WHERE schemaname = %s AND indexrelname = %s",
        schema,
        index_name,
    )[0][0]
    assert after > before
    allowed = [i for i in range(2000) if i % 10]
    exact = scores(_VECTORS[allowed], query, "cosine")
    best = [f"k{allowed[j]}" for j in np.argsort(-exact)[:10]]
    assert [it.key for it in found] == best
    for item, j in zip(found, np.argsort(-exact)[:10], strict=True):
        assert math.isclose(item.score or 0.0, float(exact[j]), abs_tol=1e-5)


def test_index_options_build_the_index_they_name(postgres_url: str, schemas: Schemas) -> None:
    """halfvec with l2 and ivfflat with inner product each create their index, and their
    searches score exactly (l2: negative distance; inner product: the dot product)."""
    schema = schemas.new()
    query = _VECTORS[5]
    cases: list[tuple[dict[str, Any], DistanceType]] = [
        ({"vector_type": "halfvec", "m": 8, "ef_construction": 32}, "l2"),
        ({"kind": "ivfflat", "nlist": 4}, "inner_product"),
    ]
    for ann, distance in cases:
        index = {**_index(**ann), "distance_type": distance}
        with PostgresStore.from_conn_string(postgres_url, schema=schema, index=index) as store:
            _load(store, 50)
            found = store.search(("docs",), query="v 5", limit=3)
        expected = scores(_VECTORS[:50], query, distance)
        allowed = [i for i in range(50) if i % 10]
        best = sorted(allowed, key=lambda i: -expected[i])[:3]
        assert [it.key for it in found] == [f"k{i}" for i in best]
        assert all(
            math.isclose(it.score or 0.0, float(expected[i]), abs_tol=1e-4)
            for it, i in zip(found, best, strict=True)
        )
    defs = [
        r[0]
        for r in _rows(
            postgres_url, "SELECT indexdef FROM pg_indexes WHERE schemaname = %s", schema
        )
    ]
    assert any("hnsw" in d and "halfvec_l2_ops" in d for d in defs), defs
    assert any("ivfflat" in d and "vector_ip_ops" in d for d in defs), defs


def test_dimensions_beyond_what_pgvector_indexes_are_refused(postgres_url: str) -> None:
    config = {"dims": 3072, "embed": _embed}
    with pytest.raises(InvalidInputError, match="halfvec"):
        PostgresStore(postgres_url, index=config)
    with pytest.raises(InvalidInputError, match="kind"):
        PostgresStore(postgres_url, index={**config, "ann_index_config": {"kind": "annoy"}})


# --- Vectors follow their items ----------------------------------------------------------


def test_vectors_are_replaced_on_update_and_deleted_with_their_item(
    postgres_url: str, schemas: Schemas
) -> None:
    schema = schemas.new()
    count = f'SELECT count(*) FROM "{schema}".durastate_store_vectors'
    index = {**_index(), "fields": ["t", "u"]}
    with PostgresStore.from_conn_string(
        postgres_url, schema=schema, index=index, ttl={"default_ttl": 0.005}
    ) as store:
        store.put(("a",), "x", {"t": "v 1", "u": "v 2"})
        assert _rows(postgres_url, count) == [(2,)]
        store.put(("a",), "x", {"t": "v 3"})
        assert _rows(postgres_url, count) == [(1,)]
        assert store.search(("a",), query="v 3")[0].score == pytest.approx(1.0, abs=1e-6)
        store.put(("a",), "x", {"t": "v 3"}, index=False)
        assert _rows(postgres_url, count) == [(0,)]
        store.put(("a",), "y", {"t": "v 4"})
        store.delete(("a",), "y")
        assert _rows(postgres_url, count) == [(0,)]
        store.put(("a",), "z", {"t": "v 5"}, ttl=0.005)
        time.sleep(0.35)
        assert store.sweep_ttl() >= 1
        assert _rows(postgres_url, count) == [(0,)]


# --- JSONB values and filters ------------------------------------------------------------


def test_numbers_compare_as_numbers_not_as_text(postgres_url: str, schemas: Schemas) -> None:
    """LangGraph's Postgres store compares ``->>`` text, so ``10 > 9`` fails there (``'10' <
    '9'``); here numbers compare as numbers, ints and floats alike, and never against the
    string ``"10"`` or a boolean."""
    values = {"nine": 9, "ten": 10, "hundred": 100, "nine-half": 9.5, "text-ten": "10", "yes": True}
    with PostgresStore.from_conn_string(postgres_url, schema=schemas.new()) as store:
        for key, n in values.items():
            store.put(("nums",), key, {"n": n, "deep": {"n": n}})

        def keys(flt: dict[str, Any]) -> set[str]:
            return {it.key for it in store.search(("nums",), filter=flt, limit=50)}

        assert keys({"n": {"$gt": 9}}) == {"ten", "hundred", "nine-half"}
        assert keys({"deep.n": {"$lt": 10}}) == {"nine", "nine-half"}
        assert keys({"n": 10}) == {"ten"}
        assert keys({"n": 10.0}) == {"ten"}
        assert keys({"n": "10"}) == {"text-ten"}
        assert keys({"n": {"$gte": "1"}}) == {"text-ten"}
        assert keys({"n": True}) == {"yes"}
        assert keys({"n": {"$in": [9, 100, "x"]}}) == {"nine", "hundred"}
        assert keys({"n": {"$nin": [9, 100]}}) == {"ten", "nine-half", "text-ten", "yes"}


def test_huge_numbers_keep_their_type_and_compare_exactly(
    postgres_url: str, schemas: Schemas
) -> None:
    """JSONB keeps a number's decimal text: floats written ``1e+20`` would come back as ints;
    they come back as the floats they were. An int beyond 2**53 and the nearest float are
    different numbers, as in Python."""
    value = {"f": 1e20, "g": -1.5e300, "h": 1e-300, "i": 2**53 + 1, "l": [1e16, 3.0]}
    with PostgresStore.from_conn_string(postgres_url, schema=schemas.new()) as store:
        store.put(("big",), "a", value)
        got = store.get(("big",), "a")
        assert got is not None
        assert got.value == value
        assert [type(got.value[k]) for k in "fghi"] == [float, float, float, int]
        assert type(got.value["l"][0]) is float
        near = float(2**53)
        assert [it.key for it in store.search(("big",), filter={"i": near})] == []
        assert [it.key for it in store.search(("big",), filter={"i": {"$gt": near}})] == ["a"]
        assert [it.key for it in store.search(("big",), filter={"f": 10**20})] == ["a"]


_INTS: list[Any] = [0, 1, -1, 9, 10, 10**23, 2**53, 2**53 + 1, 2**63 + 5, -(2**70)]
_FLOATS: list[Any] = [0.5, -0.0, 2.0, 9.5, 10.0, 1e20, 1e23, 1e-7, float(2**53)]
_TEXTS: list[Any] = ["", "a", "B", "b", "é", "z", "😀", "10", "9"]
_OTHERS: list[Any] = [True, False, None, [1, 2], [1.0, 2.0], [], ["a"], {"y": 1}, {"y": 1.0}, {}]
_FIELD_VALUES = [*_INTS, *_FLOATS, *_TEXTS, *_OTHERS, {"y": "1"}]
_OPERANDS = [*_INTS, *_FLOATS, *_TEXTS, True, False, None]


def test_filters_agree_with_the_reference_evaluator(postgres_url: str, schemas: Schemas) -> None:
    """Every operator on values of every JSON type (huge ints and floats, unicode, nested
    paths, containers) selects exactly what ``matches`` selects."""
    values = []
    for i, x in enumerate(_FIELD_VALUES):
        values.append({"x": x, "i": i})
        values.append({"x": {"y": x, "0": x}, "i": i})
    values.append({"other": 1})
    filters: list[dict[str, Any]] = []
    for path in ("x", "x.y", "x.0"):
        for op in ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte"):
            for v in _OPERANDS:
                if op in ("$eq", "$ne") or (not isinstance(v, bool) and v is not None):
                    filters.append({path: {op: v}})
        filters.append({path: [1, 2]})
        filters.append({path: {"y": 1}})
        filters.append({path: {"$in": [1, "a", None, [1, 2]]}})
        filters.append({path: {"$nin": [2**53 + 1, "é", False]}})
        filters.append({path: {"$exists": True}})
        filters.append({path: {"$exists": False}})
    with PostgresStore.from_conn_string(postgres_url, schema=schemas.new()) as store:
        store.batch([PutOp(("f",), f"k{n}", v) for n, v in enumerate(values)])
        for flt in filters:
            want = {f"k{n}" for n, v in enumerate(values) if matches(v, compile_filter(flt))}
            got = {it.key for it in store.search(("f",), filter=flt, limit=1000)}
            assert got == want, flt


def test_array_elements_are_not_fields(postgres_url: str, schemas: Schemas) -> None:
    """``items.0`` names a key "0" of an object, never element 0 of a list (as ``matches``)."""
    with PostgresStore.from_conn_string(postgres_url, schema=schemas.new()) as store:
        store.put(("p",), "list", {"items": [5]})
        store.put(("p",), "dict", {"items": {"0": 5}})
        assert [it.key for it in store.search(("p",), filter={"items.0": 5})] == ["dict"]
        found = store.search(("p",), filter={"items.0": {"$exists": True}})
        assert [it.key for it in found] == ["dict"]


# --- PgBouncer -----------------------------------------------------------------------------


def test_store_and_cache_work_behind_pgbouncer(pgbouncer_url: str, schemas: Schemas) -> None:
    """Semantic searches (scan settings carried by the search function), puts, gets with TTL refresh
    and listings from four threads through PgBouncer's transaction pooling, where a
    prepared statement or a session setting would land on another client's connection."""
    schema = schemas.new()
    pool = {"min_size": 4, "max_size": 4}
    with PostgresStore.from_conn_string(
        pgbouncer_url, schema=schema, index=_index(), ttl={"default_ttl": 5}, pool_config=pool
    ) as store:

        def work(i: int) -> int:
            for j in range(10):
                store.put(("t", str(i)), f"k{j}", {"t": f"v {i * 10 + j}"})
                assert store.get(("t", str(i)), f"k{j}") is not None
                top = store.search(("t", str(i)), query=f"v {i * 10 + j}", limit=1)
                assert top[0].key == f"k{j}"
            return len(store.list_namespaces(prefix=("t",)))

        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(4) as executor:
            assert list(executor.map(work, range(4))) == [4, 4, 4, 4]
    with PostgresCache.from_conn_string(pgbouncer_url, schema=schema) as cache:
        cache.set({(("n",), f"k{i}"): ({"i": i}, 60) for i in range(20)})
        for _ in range(10):
            assert len(cache.get([(("n",), f"k{i}") for i in range(20)])) == 20
        cache.clear([("n",)])
        assert cache.get([(("n",), "k1")]) == {}
        assert cache.schema_version() == 1


async def test_async_store_and_cache_behind_pgbouncer(pgbouncer_url: str, schemas: Schemas) -> None:
    schema = schemas.new()
    async with AsyncPostgresStore.from_conn_string(
        pgbouncer_url, schema=schema, index=_index(), pool_config={"min_size": 4, "max_size": 4}
    ) as store:

        async def work(i: int) -> str:
            await store.aput(("a",), f"k{i}", {"t": f"v {i}"})
            found = await store.asearch(("a",), query=f"v {i}", limit=1)
            return found[0].key

        assert await asyncio.gather(*(work(i) for i in range(12))) == [f"k{i}" for i in range(12)]
    async with PostgresCache.from_conn_string(pgbouncer_url, schema=schema) as cache:
        await cache.aset({(("n",), "k"): ("value", None)})
        assert await cache.aget([(("n",), "k")]) == {(("n",), "k"): "value"}


# --- Connections, transactions, moving data --------------------------------------------------


def test_caller_transaction_owns_the_writes(postgres_url: str, schemas: Schemas) -> None:
    """On a caller's connection with a transaction open, the store's writes become part of
    it: rolled back with it, and visible to others only once it commits."""
    schema = schemas.new()
    with psycopg.connect(postgres_url) as conn:
        store = PostgresStore(conn, schema=schema)
        store.setup()
        conn.commit()
        with conn.transaction(force_rollback=True):
            store.put(("tx",), "gone", {"v": 1})
            assert store.get(("tx",), "gone") is not None
        assert store.get(("tx",), "gone") is None
        with conn.transaction():
            store.put(("tx",), "kept", {"v": 2})
            assert _rows(postgres_url, f'SELECT count(*) FROM "{schema}".durastate_store') == [(0,)]
    assert _rows(postgres_url, f'SELECT key FROM "{schema}".durastate_store') == [("kept",)]


def test_export_and_import_keep_times_lifetimes_and_vectors(
    postgres_url: str, schemas: Schemas
) -> None:
    source, target = schemas.new(), schemas.new()
    with PostgresStore.from_conn_string(postgres_url, schema=source, index=_index()) as store:
        store.put(("m", "x"), "a", {"t": "v 1"}, ttl=30)
        store.put(("m",), "b", {"t": "v 2", "n": 1e20})
        store.put(("other",), "c", {"t": "v 3"})
        exported = list(store.export_items(("m",), batch_size=1))
    assert [(i.namespace, i.key) for i in exported] == [(("m",), "b"), (("m", "x"), "a")]
    assert exported[1].ttl_minutes == 30 and exported[1].expires_at is not None
    assert np.array_equal(exported[0].vectors[0].vector, _VECTORS[2])  # type: ignore[index]
    with PostgresStore.from_conn_string(postgres_url, schema=target, index=_index()) as copy:
        assert copy.import_items(exported) == 2
        again = list(copy.export_items())

        def plain(items: list[Any]) -> list[tuple[Any, ...]]:
            return [
                (
                    i.namespace,
                    i.key,
                    i.value,
                    i.created_at,
                    i.updated_at,
                    i.expires_at,
                    i.ttl_minutes,
                    [(v.field, v.vector.tolist()) for v in i.vectors or ()],
                )
                for i in items
            ]

        assert plain(again) == plain(exported)
        top = copy.search(("m",), query="v 2", limit=1)
        assert top[0].key == "b" and top[0].score == pytest.approx(1.0, abs=1e-6)


def test_round_trips_per_call(postgres_url: str, schemas: Schemas) -> None:
    """A put (or a batch of 50) is one statement, a get (with its TTL refresh) one, a
    listing one, a search without a query one, and a semantic search one: the function
    ``durastate_store_ann`` carries the HNSW scan settings for that call only."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        store = PostgresStore(conn, schema=schemas.new(), index=_index(), ttl={"default_ttl": 5})
        store.setup()
        trace = Trace(conn)

        def trips(call: Callable[[], Any]) -> int:
            trace.start()
            call()
            return trace.stop()

        _load(store, 200)
        assert trips(lambda: store.put(("docs",), "new", {"t": "v 1"})) == 1
        assert trips(lambda: _load(store, 50)) == 1
        assert trips(lambda: store.get(("docs",), "new")) == 1
        assert trips(lambda: store.search(("docs",), filter={"n": {"$gt": 3}}, limit=5)) == 1
        assert trips(lambda: store.list_namespaces(prefix=("docs",))) == 1
        assert trips(lambda: store.search(("docs",), query="v 7", limit=5)) == 1
        assert trips(lambda: store.delete(("docs",), "new")) == 1


async def test_cache_and_store_on_the_callers_async_connections(
    postgres_url: str, schemas: Schemas
) -> None:
    """An ``AsyncConnection`` serves the cache's async methods directly and its sync ones
    from other threads; an ``AsyncConnectionPool`` serves the async store; both are left
    open for their owner."""
    schema = schemas.new()
    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as conn:
        cache: PostgresCache[Any] = PostgresCache(conn, schema=schema)
        await cache.aset({(("c",), "k"): ({"v": 1}, 60)})
        got = await asyncio.to_thread(cache.get, [(("c",), "k")])
        assert got == {(("c",), "k"): {"v": 1}}
        assert await cache.aschema_version() == 1
        await cache.aclose()
        assert not conn.closed
    async with AsyncConnectionPool(postgres_url, kwargs={"autocommit": True}) as pool:
        store = AsyncPostgresStore(pool, schema=schema, index=_index())
        await store.aput(("s",), "a", {"t": "v 3"})
        assert (await store.asearch(("s",), query="v 3"))[0].key == "a"
        assert (await asyncio.to_thread(store.get, ("s",), "a")) is not None
        await store.aclose()
        assert not pool.closed


def test_stores_set_up_concurrently_on_a_fresh_schema(postgres_url: str, schemas: Schemas) -> None:
    """Six stores (and a cache) starting at once on a schema that does not exist yet: the
    schema, tables, functions, pgvector and the HNSW index are created once, under the
    migrations' advisory lock, and every store works."""
    from concurrent.futures import ThreadPoolExecutor

    schema = schemas.new(fresh=True)

    def start(i: int) -> str:
        if i == 6:
            with PostgresCache.from_conn_string(postgres_url, schema=schema) as cache:
                cache.set({(("c",), "k"): (1, None)})
                return "cache"
        with PostgresStore.from_conn_string(postgres_url, schema=schema, index=_index()) as store:
            store.put(("s",), f"k{i}", {"t": f"v {i}"})
            return store.search(("s",), query=f"v {i}", limit=1)[0].key

    with ThreadPoolExecutor(7) as executor:
        assert list(executor.map(start, range(7))) == [f"k{i}" for i in range(6)] + ["cache"]
    names = _rows(
        postgres_url,
        "SELECT indexname FROM pg_indexes "
        "WHERE schemaname = %s AND indexname LIKE 'durastate_vec%%'",
        schema,
    )
    assert len(names) == 1
