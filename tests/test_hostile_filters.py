"""Random store filter trees: every engine answers exactly what the reference evaluator says."""

from __future__ import annotations

import random
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from langgraph.store.base import BaseStore
from redis_support import delete_prefix

from durastate.errors import InvalidInputError
from durastate.store import InMemoryStore
from durastate.store.filters import compile_filter, matches
from durastate.store.postgres import PostgresStore
from durastate.store.redis import RedisStore
from durastate.store.sqlite import SqliteStore

NS = ("hostile", "filters")
EXAMPLES = 500
"""Examples per property; the whole module stays well under a minute on four engines."""

SCALARS: list[Any] = [
    0,
    1,
    -1,
    2,
    9,
    10,
    2**53 + 1,
    -(2**62),
    0.0,
    1.0,
    1.5,
    9.5,
    -2.25,
    1e300,
    True,
    False,
    None,
    "",
    "a",
    "b",
    "A",
    "Z",
    "z",
    "9",
    "10",
    "1",
    "é",
    "ä",
    "\U0001f600",
    "a'b",
    'a"b',
    "a\\b",
    "%",
    "_",
    "*",
]
NESTED: list[Any] = [[], [1, 2], ["a"], [1, "1"], {}, {"x": 1}, {"x": 1.0}, {"x": [True]}]
PATHS = ["a", "b", "c", "c.d", "c.e", "c.d.f", "tags", "missing", "n.x"]


def _item_value(rng: random.Random) -> dict[str, Any]:
    pool = SCALARS + NESTED
    value: dict[str, Any] = {}
    for field in ("a", "b", "tags"):
        if rng.random() < 0.8:
            value[field] = rng.choice(pool)
    roll = rng.random()
    if roll < 0.5:
        c: dict[str, Any] = {}
        for field in ("d", "e"):
            if rng.random() < 0.7:
                c[field] = rng.choice(pool)
        if rng.random() < 0.2:
            c["d"] = {"f": rng.choice(SCALARS)}
        value["c"] = c
    elif roll < 0.8:
        value["c"] = rng.choice(pool)
    return value


def _items() -> dict[str, dict[str, Any]]:
    rng = random.Random(7)
    return {f"k{i:03d}": _item_value(rng) for i in range(120)}


ITEMS = _items()

_scalar = st.sampled_from(SCALARS)
_json = st.one_of(_scalar, st.sampled_from(NESTED))
_ranged = st.sampled_from([s for s in SCALARS if isinstance(s, (int, float, str))]).filter(
    lambda v: not isinstance(v, bool)
)
_op = st.one_of(
    st.tuples(st.sampled_from(["$eq", "$ne"]), _json),
    st.tuples(st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), _ranged),
    st.tuples(st.sampled_from(["$in", "$nin"]), st.lists(_json, max_size=4)),
    st.tuples(st.just("$exists"), st.booleans()),
)
_condition = st.one_of(
    _json.filter(lambda v: not (isinstance(v, dict) and v)),
    st.dictionaries(st.sampled_from(["d", "e"]), _scalar, min_size=1, max_size=2),
    st.lists(_op, min_size=1, max_size=2).map(dict),
)
FILTERS = st.dictionaries(st.sampled_from(PATHS), _condition, min_size=1, max_size=3)


def _load(store: BaseStore) -> BaseStore:
    for key, value in ITEMS.items():
        store.put(NS, key, value)
    return store


@pytest.fixture(scope="module")
def stores(postgres_url: str, redis_url: str) -> Iterator[dict[str, BaseStore]]:
    """One store per engine, each holding ``ITEMS``, for the whole module."""
    schema = f"t_hostile_{uuid.uuid4().hex[:12]}"
    prefix = f"dstest-hostile-{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        stack.callback(delete_prefix, redis_url, prefix)

        def drop_schema() -> None:
            with psycopg.connect(postgres_url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

        stack.callback(drop_schema)
        engines: dict[str, BaseStore] = {
            "memory": InMemoryStore(),
            "sqlite": stack.enter_context(SqliteStore.from_conn_string(str(Path(tmp) / "s.db"))),
            "postgres": stack.enter_context(
                PostgresStore.from_conn_string(postgres_url, schema=schema)
            ),
            "redis": stack.enter_context(RedisStore.from_conn_string(redis_url, key_prefix=prefix)),
        }
        yield {name: _load(store) for name, store in engines.items()}


def _expected(filter: dict[str, Any]) -> set[str] | type[InvalidInputError]:
    try:
        conditions = compile_filter(filter)
    except InvalidInputError:
        return InvalidInputError
    return {key for key, value in ITEMS.items() if matches(value, conditions)}


def _bucket(expected: set[str] | type[InvalidInputError]) -> str:
    if not isinstance(expected, set):
        return "rejected"
    if not expected or len(expected) == len(ITEMS):
        return "none or all"
    return "some"


def _answer(store: BaseStore, filter: dict[str, Any]) -> set[str] | type[Exception]:
    try:
        found = store.search(NS, filter=filter, limit=len(ITEMS) + 10)
    except Exception as exc:  # the answer is the exception's type, compared across engines
        return type(exc)
    return {item.key for item in found}


def test_items_loaded_everywhere(stores: dict[str, BaseStore]) -> None:
    for name, store in stores.items():
        assert _answer(store, {}) == set(ITEMS), name


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(filter=FILTERS)
def test_random_filter_trees_agree_with_reference(
    stores: dict[str, BaseStore], filter: dict[str, Any]
) -> None:
    """Operators, bare values, nested descents, dotted paths and operands of every JSON type
    (int and float alike, bools, strings by code point, None, lists, objects)."""
    expected = _expected(filter)
    event("matches: " + _bucket(expected))
    for name, store in stores.items():
        assert _answer(store, filter) == expected, (name, filter)


@settings(
    max_examples=EXAMPLES // 3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    filter=st.dictionaries(
        st.one_of(
            st.sampled_from(PATHS),
            st.text(st.characters(codec="utf-8"), max_size=6),
        ),
        st.one_of(
            _json,
            st.dictionaries(
                st.sampled_from(["$eq", "$gt", "$in", "$exists", "$regex", "$or"]),
                _json,
                max_size=2,
            ),
            st.floats(),
        ),
        min_size=1,
        max_size=2,
    )
)
def test_malformed_filters_rejected_alike(
    stores: dict[str, BaseStore], filter: dict[str, Any]
) -> None:
    """Arbitrary keys (quotes, brackets, ``$``, empty segments) and operands of the wrong
    type (NaN, a bool for ``$gt``, a scalar for ``$in``): every engine raises the reference's
    ``InvalidInputError`` or gives the reference's answer."""
    expected = _expected(filter)
    event("matches: " + _bucket(expected))
    for name, store in stores.items():
        assert _answer(store, filter) == expected, (name, filter)
