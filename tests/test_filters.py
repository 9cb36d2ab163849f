"""The reference filter semantics that every store engine must reproduce."""

from __future__ import annotations

import pytest

from durastate.errors import InvalidInputError
from durastate.store.filters import compile_filter, matches

DOC = {
    "n": 10,
    "f": 9.0,
    "s": "10",
    "b": True,
    "z": None,
    "tags": ["a", "b"],
    "meta": {"score": 3, "name": "Zoë", "deep": {"x": 1}},
}


def ok(filter: dict) -> bool:
    return matches(DOC, compile_filter(filter))


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"n": 10}, True),
        ({"n": 10.0}, True),
        ({"f": 9}, True),
        ({"n": "10"}, False),
        ({"s": 10}, False),
        ({"s": "10"}, True),
        ({"b": True}, True),
        ({"b": 1}, False),
        ({"n": True}, False),
        ({"z": None}, True),
        ({"missing": None}, False),
        ({"tags": ["a", "b"]}, True),
        ({"tags": "a"}, False),
        ({"meta.score": 3}, True),
        ({"meta": {"score": 3}}, True),
        ({"meta": {"deep": {"x": 1}}}, True),
        ({"meta.deep": {"$eq": {"x": 1}}}, True),
        ({"meta.deep": {"$eq": {"x": 1, "y": 2}}}, False),
        ({"n": {"$gt": 9}}, True),
        ({"n": {"$gt": 10}}, False),
        ({"n": {"$gte": 10}}, True),
        ({"f": {"$lt": 10}}, True),
        ({"f": {"$lte": 8.5}}, False),
        ({"s": {"$gt": "9"}}, False),
        ({"s": {"$lt": "9"}}, True),
        ({"s": {"$gt": 9}}, False),
        ({"n": {"$gt": "9"}}, False),
        ({"b": {"$gt": 0}}, False),
        ({"missing": {"$gt": 0}}, False),
        ({"missing": {"$lt": 0}}, False),
        ({"meta.name": {"$gt": "Zoe"}}, True),
        ({"n": {"$ne": 10}}, False),
        ({"n": {"$ne": "10"}}, True),
        ({"missing": {"$ne": 1}}, True),
        ({"z": {"$ne": None}}, False),
        ({"n": {"$in": [1, 10.0]}}, True),
        ({"n": {"$in": ["10"]}}, False),
        ({"missing": {"$in": [None]}}, False),
        ({"n": {"$nin": [1, 2]}}, True),
        ({"n": {"$nin": [10]}}, False),
        ({"missing": {"$nin": [1]}}, True),
        ({"z": {"$exists": True}}, True),
        ({"missing": {"$exists": True}}, False),
        ({"missing": {"$exists": False}}, True),
        ({"n": {"$gt": 5, "$lt": 11}}, True),
        ({"n": {"$gt": 5, "$lt": 10}}, False),
        ({"n": 10, "s": "10", "meta.score": {"$gte": 3}}, True),
        ({"tags.0": "a"}, False),
    ],
)
def test_reference_semantics(filter: dict, expected: bool) -> None:
    assert ok(filter) is expected


@pytest.mark.parametrize(
    ("filter", "fragment"),
    [
        ({"n": {"$regex": "x"}}, "$regex"),
        ({"n": {"$gt": None}}, "$gt"),
        ({"n": {"$gt": [1]}}, "$gt"),
        ({"n": {"$gt": True}}, "$gt"),
        ({"n": {"$in": 3}}, "$in"),
        ({"n": {"$exists": 1}}, "$exists"),
        ({"a..b": 1}, "a..b"),
        ({"": 1}, "''"),
        ({'a"b': 1}, 'a"b'),
        ({"a'); DROP TABLE store; --": 1}, "DROP TABLE"),
        ({"n": float("nan")}, "finite"),
        ({"n": object()}, "JSON"),
        ({"n": {"$eq": 1, "b": 2}}, "mixes"),
    ],
)
def test_bad_filters_are_rejected_naming_the_problem(filter: dict, fragment: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        compile_filter(filter)
    assert fragment in str(info.value)


def test_nested_mapping_descends_into_paths() -> None:
    (cond,) = compile_filter({"a": {"b": {"c": 1}}})
    assert cond.path == ("a", "b", "c") and cond.op == "$eq" and cond.value == 1
