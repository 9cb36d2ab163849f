"""SQLite store: exact filter semantics, namespace listing, vector search, TTL, bad input."""

from __future__ import annotations

import asyncio
import hashlib
import math
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from durastate._engines.sqlite.store_filters import compile_sql
from durastate.errors import InvalidInputError
from durastate.store.filters import compile_filter, matches
from durastate.store.memory import InMemoryStore
from durastate.store.sqlite import AsyncSqliteStore, SqliteStore

# -- filters ----------------------------------------------------------------------------
_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=4
)
_labels = st.sampled_from(["a", "b", "c"])
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(min_value=-5, max_value=5),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.5, -0.0, 1.0, 2.0, 10.0, 9.0]),
    _text,
    st.sampled_from(["", "a", "B", "é", "\U0001f600", "10", "9", "z"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(_labels, inner, max_size=3)
    ),
    max_leaves=6,
)
_documents = st.dictionaries(_labels, _values, max_size=3)
_paths = st.sampled_from(["a", "b", "a.b", "a.c", "b.a", "c.a.b"])


def _operator() -> st.SearchStrategy[Any]:
    ranged = st.one_of(
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        _text,
        st.sampled_from([0, 1, 9, 10, 0.5, "9", "a", "é"]),
    )
    return st.one_of(
        st.builds(lambda v: {"$eq": v}, _values),
        st.builds(lambda v: {"$ne": v}, _values),
        st.builds(lambda v: v, _scalars),
        st.builds(lambda op, v: {op: v}, st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), ranged),
        st.builds(lambda v: {"$in": v}, st.lists(_values, max_size=3)),
        st.builds(lambda v: {"$nin": v}, st.lists(_values, max_size=3)),
        st.builds(lambda v: {"$exists": v}, st.booleans()),
    )


_filters = st.dictionaries(_paths, _operator(), min_size=1, max_size=2)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=st.lists(_documents, min_size=1, max_size=8), filter=_filters)
def test_sql_filters_give_exactly_the_reference_answers(
    docs: list[dict[str, Any]], filter: dict[str, Any]
) -> None:
    """The SQL never drops a match, and alone decides every filter on scalars exactly.

    (Deep equality with a list or object operand is narrowed by SQL and decided by the
    reference evaluator on the rows; the search answer is always the reference's.)
    """
    try:
        conditions = compile_filter(filter)
    except InvalidInputError:
        return
    store = _filter_store()
    store.conn.execute("DELETE FROM durastate_store")
    store.batch([_put(("d",), str(i), doc) for i, doc in enumerate(docs)])
    compiled = compile_sql(conditions)
    rows = store.conn.execute(
        f"SELECT key FROM durastate_store WHERE {compiled.sql}", compiled.params
    ).fetchall()
    by_sql = sorted(int(k) for (k,) in rows)
    expected = [i for i, doc in enumerate(docs) if matches(doc, conditions)]
    assert set(expected) <= set(by_sql)
    if not any(_has_container(c.value) for c in conditions):
        assert by_sql == expected
    found = sorted(int(i.key) for i in store.search(("d",), filter=filter, limit=100))
    assert found == expected


_FILTER_STORE: list[SqliteStore] = []


def _filter_store() -> SqliteStore:
    """One in-memory store for every generated example (emptied by each)."""
    if not _FILTER_STORE:
        store = SqliteStore(":memory:")
        store.setup()
        _FILTER_STORE.append(store)
    return _FILTER_STORE[0]


def _has_container(operand: Any) -> bool:
    if isinstance(operand, tuple):
        return any(isinstance(v, (list, dict)) for v in operand)
    return isinstance(operand, (list, dict))


def _put(namespace: tuple[str, ...], key: str, value: dict[str, Any] | None) -> Any:
    from langgraph.store.base import PutOp

    return PutOp(namespace, key, value)


def test_numbers_compare_as_numbers_and_types_never_mix(store: SqliteStore) -> None:
    docs = {"ten": 10, "nine": 9, "float": 9.5, "text": "10", "bool": True, "none": None}
    for key, value in docs.items():
        store.put(("m",), key, {"v": value, "deep": {"v": value}})
    store.put(("m",), "missing", {"other": 1})

    def keys(flt: dict[str, Any]) -> set[str]:
        return {i.key for i in store.search(("m",), filter=flt, limit=50)}

    assert keys({"v": {"$gt": 9}}) == {"ten", "float"}
    assert keys({"deep.v": {"$gte": 9, "$lt": 10}}) == {"nine", "float"}
    assert keys({"v": {"$gt": "1"}}) == {"text"}
    assert keys({"v": 1}) == set()
    assert keys({"v": True}) == {"bool"}
    assert keys({"v": None}) == {"none"}
    assert keys({"v": {"$ne": 10}}) == {"nine", "float", "text", "bool", "none", "missing"}
    assert keys({"v": {"$nin": [10, "10"]}}) == {"nine", "float", "bool", "none", "missing"}
    assert keys({"v": {"$exists": False}}) == {"missing"}
    assert keys({"deep": {"v": 10}}) == {"ten"}


# -- fixtures ---------------------------------------------------------------------------
@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore.from_conn_string(str(tmp_path / "store.db")) as s:
        yield s


def _vector(text: str, dims: int = 16) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [(b - 127.5) / 127.5 for b in digest[:dims]]


class Recorder:
    """A deterministic embedder that remembers what it was asked to embed."""

    def __init__(self, dims: int = 16) -> None:
        self.dims = dims
        self.documents: list[str] = []
        self.queries: list[str] = []

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.documents.extend(texts)
        return [_vector(t, self.dims) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        self.queries.append(text)
        return _vector(text, self.dims)

    async def aembed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return self.embed_documents(texts)

    async def aembed_query(self, text: str) -> list[float]:
        return self.embed_query(text)


def _index(embedder: Any, **extra: Any) -> dict[str, Any]:
    from langchain_core.embeddings import Embeddings

    class Wrapped(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed_documents(texts)  # type: ignore[no-any-return]

        def embed_query(self, text: str) -> list[float]:
            return embedder.embed_query(text)  # type: ignore[no-any-return]

    return {"dims": embedder.dims, "embed": Wrapped(), **extra}


# -- namespaces -------------------------------------------------------------------------
def test_list_namespaces_matches_the_reference(store: SqliteStore) -> None:
    reference = InMemoryStore()
    spaces = [
        ("a",),
        ("a", "b"),
        ("a", "b", "c"),
        ("a", "b-x"),
        ("a-b",),
        ("a", "x", "c"),
        ("b", "b", "c"),
        ("a\x01", "z"),
        ("é", "b"),
    ]
    for target in (store, reference):
        for ns in spaces:
            target.put(ns, "k", {"v": 1})
    calls: list[dict[str, Any]] = [
        {},
        {"prefix": ("a",)},
        {"prefix": ("a", "*")},
        {"suffix": ("c",)},
        {"suffix": ("*", "c")},
        {"prefix": ("a",), "max_depth": 2},
        {"max_depth": 1},
        {"limit": 3, "offset": 2},
        {"prefix": ("a", "b"), "suffix": ("c",)},
    ]
    for call in calls:
        assert store.list_namespaces(**call) == reference.list_namespaces(**call), call


def test_list_namespaces_does_not_scan_every_row(store: SqliteStore) -> None:
    ops = [_put(("big", str(n % 4)), f"k{n}", {"n": n}) for n in range(20_000)]
    store.batch(ops)
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    store.conn.set_progress_handler(count, 100)
    store.conn.execute("SELECT COUNT(*) FROM durastate_store WHERE value IS NOT NULL").fetchall()
    full_scan, steps[0] = steps[0], 0
    assert store.list_namespaces() == [("big", str(i)) for i in range(4)]
    listing = steps[0]
    store.conn.set_progress_handler(None, 100)
    assert listing * 100 < full_scan, (listing, full_scan)


# -- vectors ----------------------------------------------------------------------------
@pytest.mark.parametrize("distance", ["cosine", "l2", "inner_product"])
def test_scores_follow_the_distance_type(tmp_path: Path, distance: str) -> None:
    embedder = Recorder()
    index = _index(embedder, distance_type=distance, fields=["text"])
    texts = [f"memory {i}" for i in range(30)]
    with SqliteStore(tmp_path / "v.db", index=index) as store:
        for i, text in enumerate(texts):
            store.put(("docs",), str(i), {"text": text})
        hits = store.search(("docs",), query="what is memory 7?", limit=30)
    q = np.array(_vector("what is memory 7?"), dtype=np.float32)
    expected = {}
    for i, text in enumerate(texts):
        v = np.array(_vector(text), dtype=np.float32)
        if distance == "cosine":
            expected[str(i)] = float(v @ q / (np.linalg.norm(v) * np.linalg.norm(q)))
        elif distance == "l2":
            expected[str(i)] = -float(np.linalg.norm(v - q))
        else:
            expected[str(i)] = float(v @ q)
    assert [h.key for h in hits] == sorted(expected, key=lambda k: -expected[k])
    for hit in hits:
        assert hit.score == pytest.approx(expected[hit.key], rel=1e-5, abs=1e-6)


def test_vectors_are_replaced_on_update_and_removed_on_delete(tmp_path: Path) -> None:
    embedder = Recorder()
    with SqliteStore(tmp_path / "r.db", index=_index(embedder, fields=["text"])) as store:
        store.put(("n",), "k", {"text": "apples"})
        store.put(("n",), "other", {"text": "pears"})
        assert store.search(("n",), query="apples", limit=1)[0].key == "k"
        store.put(("n",), "k", {"text": "bananas"})
        top = store.search(("n",), query="bananas", limit=2)
        assert top[0].key == "k" and top[0].score == pytest.approx(1.0, abs=1e-5)
        assert store.search(("n",), query="apples", limit=1)[0].score != pytest.approx(1.0)
        count = "SELECT COUNT(*) FROM durastate_store_vectors"
        assert store.conn.execute(count).fetchone() == (2,)
        store.delete(("n",), "k")
        assert store.conn.execute(count).fetchone() == (1,)
        store.put(("n",), "other", {"text": "pears"}, index=False)
        assert store.conn.execute(count).fetchone() == (0,)
        results = store.search(("n",), query="pears", limit=5)
        assert [(r.key, r.score) for r in results] == [("other", None)]


def test_only_the_configured_fields_are_embedded(tmp_path: Path) -> None:
    embedder = Recorder()
    index = _index(embedder, fields=["title", "tags[*]"])
    with SqliteStore(tmp_path / "f.db", index=index) as store:
        store.put(("n",), "k", {"title": "T", "body": "not me", "tags": ["x", "y"]})
        assert sorted(embedder.documents) == ["T", "x", "y"]
        store.put(("n",), "j", {"title": "U", "body": "me"}, index=["body"])
        assert embedder.documents[-1] == "me"
        assert store.search(("n",), query="me", limit=1)[0].key == "j"
        assert store.search(("n",), query="y", limit=1)[0].key == "k"


def test_search_sees_writes_from_other_connections(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    index = _index(Recorder(), fields=["text"])
    with SqliteStore(path, index=index) as reader, SqliteStore(path, index=index) as writer:
        writer.put(("n",), "a", {"text": "alpha"})
        assert [h.key for h in reader.search(("n",), query="beta", limit=5)] == ["a"]
        writer.put(("n",), "b", {"text": "beta"})
        assert reader.search(("n",), query="beta", limit=5)[0].key == "b"
        writer.put(("n",), "b", {"text": "gamma"})
        assert reader.search(("n",), query="gamma", limit=1)[0].key == "b"
        writer.delete(("n",), "b")
        assert [h.key for h in reader.search(("n",), query="gamma", limit=5)] == ["a"]


def test_vector_search_is_exact_with_filters_prefixes_and_paging(tmp_path: Path) -> None:
    embedder = Recorder()
    index = _index(embedder, fields=["text"])
    rng = np.random.default_rng(7)
    reference = InMemoryStore(index=index)
    with SqliteStore(tmp_path / "x.db", index=index) as store:
        for target in (store, reference):
            for i in range(400):
                ns = ("docs", "even" if i % 2 else "odd")
                target.put(ns, str(i), {"text": f"doc {i}", "n": int(rng.integers(0, 10))})
                rng = np.random.default_rng(7 + i)
            target.put(("docs", "plain"), "noidx", {"text": "doc", "n": 1}, index=False)
        for call in (
            {"query": "doc 17", "limit": 10},
            {"query": "doc 17", "limit": 7, "offset": 5, "filter": {"n": {"$gte": 5}}},
            {"query": "doc 3", "limit": 400, "filter": {"n": 1}},
            {"query": "doc 9", "limit": 3, "namespace_prefix": ("docs", "even")},
        ):
            prefix = call.pop("namespace_prefix", ("docs",))
            ours = [(h.key, h.score) for h in store.search(prefix, **call)]
            theirs = [(h.key, h.score) for h in reference.search(prefix, **call)]
            assert [k for k, _ in ours] == [k for k, _ in theirs], call
            for (_, a), (_, b) in zip(ours, theirs, strict=True):
                assert (a is None and b is None) or a == pytest.approx(b, abs=1e-5)


def test_stored_vectors_of_other_dimensions_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    with SqliteStore(path, index=_index(Recorder(8), fields=["text"])) as store:
        store.put(("n",), "k", {"text": "x"})
    with (
        SqliteStore(path, index=_index(Recorder(16), fields=["text"])) as store,
        pytest.raises(InvalidInputError, match="8 dimensions"),
    ):
        store.search(("n",), query="x")


# -- TTL --------------------------------------------------------------------------------
class _Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = time.time()
        monkeypatch.setattr(time, "time", lambda: self.now)


def test_expired_items_are_never_returned_and_are_swept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _Clock(monkeypatch)
    ttl: Any = {"default_ttl": 1.0, "refresh_on_read": True}
    with SqliteStore(tmp_path / "t.db", ttl=ttl) as store:
        store.put(("a",), "short", {"v": 1})
        store.put(("a",), "read", {"v": 2})
        store.put(("b",), "forever", {"v": 3}, ttl=None)
        clock.now += 40
        assert store.get(("a",), "read") is not None  # refreshes
        assert store.get(("a",), "short", refresh_ttl=False) is not None
        clock.now += 40
        assert store.get(("a",), "short") is None
        assert [i.key for i in store.search(("a",))] == ["read"]
        clock.now += 61
        assert store.search(("a",)) == []
        assert store.list_namespaces() == [("b",)]
        assert store.sweep_ttl() == 2
        assert store.conn.execute("SELECT COUNT(*) FROM durastate_store").fetchone() == (1,)


def test_created_at_is_kept_on_update_and_restarts_after_expiry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _Clock(monkeypatch)
    with SqliteStore(tmp_path / "c.db") as store:
        store.put(("a",), "k", {"v": 1}, ttl=1.0)
        first = store.get(("a",), "k", refresh_ttl=False)
        clock.now += 10
        store.put(("a",), "k", {"v": 2}, ttl=1.0)
        second = store.get(("a",), "k", refresh_ttl=False)
        assert first is not None and second is not None
        assert second.created_at == first.created_at and second.updated_at > first.updated_at
        clock.now += 120
        store.put(("a",), "k", {"v": 3})
        third = store.get(("a",), "k")
        assert third is not None and third.created_at > second.created_at


def test_the_store_sweeper_thread_removes_expired_items(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _Clock(monkeypatch)
    with SqliteStore(tmp_path / "s.db", ttl={"default_ttl": 1.0}) as store:
        store.put(("a",), "k", {"v": 1})
        clock.now += 120
        store.start_ttl_sweeper(sweep_interval_minutes=0.0005)
        deadline = time.monotonic() + 20
        count = "SELECT COUNT(*) FROM durastate_store"
        while store.conn.execute(count).fetchone() != (0,) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert store.stop_ttl_sweeper(timeout=5)
        assert store.conn.execute(count).fetchone() == (0,)


# -- bad input --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("namespace", "key", "value", "message"),
    [
        (("a",), "k", {"v": math.nan}, "JSON"),
        (("a",), "k", {"v": "nul\x00"}, "NUL"),
        (("a",), "k", {"v": "\ud800"}, "surrogate"),
        (("a",), "\udfff", {"v": 1}, "surrogate"),
        (("langgraph",), "k", {"v": 1}, "reserved"),
        (("a.b",), "k", {"v": 1}, "'.'"),
    ],
)
def test_bad_puts_name_the_problem_and_store_nothing(
    store: SqliteStore, namespace: Any, key: str, value: Any, message: str
) -> None:
    store.put(("a",), "good", {"v": 0})
    with pytest.raises(InvalidInputError, match=message):
        store.batch([_put(("a",), "also", {"v": 1}), _put(namespace, key, value)])
    assert [i.key for i in store.search(("a",))] == ["good"]


def test_bad_filters_are_refused(store: SqliteStore) -> None:
    for flt in ({"a": {"$bogus": 1}}, {'a"b': 1}, {"a": {"$gt": [1]}}):
        with pytest.raises(InvalidInputError):
            store.search(("a",), filter=flt)


# -- async ------------------------------------------------------------------------------
async def test_the_async_store_answers_like_the_sync_one(tmp_path: Path) -> None:
    index = _index(Recorder(), fields=["text"])
    path = tmp_path / "a.db"
    async with AsyncSqliteStore.from_conn_string(str(path), index=index) as store:
        await store.abatch(
            [_put(("n", str(i % 3)), str(i), {"text": f"t{i}", "i": i}) for i in range(30)]
        )
        hits = await store.asearch(("n",), query="t4", filter={"i": {"$lt": 20}}, limit=5)
        listed = await store.alist_namespaces(prefix=("n",))
        item = await store.aget(("n", "1"), "4")
    with SqliteStore(path, index=index) as sync:
        assert [h.key for h in hits] == [
            h.key for h in sync.search(("n",), query="t4", filter={"i": {"$lt": 20}}, limit=5)
        ]
        assert listed == sync.list_namespaces(prefix=("n",))
    assert hits[0].key == "4" and item is not None and item.value == {"text": "t4", "i": 4}


def test_values_round_trip_as_json(store: SqliteStore) -> None:
    value = {"s": 'é\n"q"', "i": 2**62, "f": 0.1, "b": False, "n": None, "l": [1, [2]], "d": {}}
    store.put(("a",), "k", value)
    item = store.get(("a",), "k")
    assert item is not None and item.value == value
    item.value["s"] = "changed"
    assert store.get(("a",), "k").value["s"] == 'é\n"q"'  # type: ignore[union-attr]


def test_a_custom_deserializer_reads_values(tmp_path: Path) -> None:
    import json

    def decode(raw: Any) -> dict[str, Any]:
        return {"decoded": json.loads(raw)}

    with SqliteStore(tmp_path / "d.db", deserializer=decode) as store:
        store.put(("a",), "k", {"v": 1})
        assert store.get(("a",), "k").value == {"decoded": {"v": 1}}  # type: ignore[union-attr]


def test_async_methods_of_the_sync_store_run_in_threads(store: SqliteStore) -> None:
    async def main() -> Any:
        await store.aput(("a",), "k", {"v": 1})
        return await store.aget(("a",), "k")

    item = asyncio.run(main())
    assert item is not None and item.value == {"v": 1}


def test_a_shared_connection_serves_store_and_saver(tmp_path: Path) -> None:
    from durastate.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(tmp_path / "both.db", check_same_thread=False)
    store = SqliteStore(conn)
    saver = SqliteSaver(conn)
    store.put(("a",), "k", {"v": 1})
    assert saver.get_tuple({"configurable": {"thread_id": "none"}}) is None
    assert store.get(("a",), "k") is not None
