"""Generated values survive dumps/loads unchanged, plain, compressed and encrypted alike."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from serde_fixtures import Address, Color, Level, Pair, Person, Point

from durastate.serde import DurastateSerializer

ROUND_TRIP = settings(max_examples=300, deadline=None, derandomize=True, database=None)

SERIALIZERS = {
    "plain": DurastateSerializer(allowlist=None),
    "compressed": DurastateSerializer(allowlist=None, compress_threshold=0),
    "encrypted": DurastateSerializer(allowlist=None, encryption_key=bytes(range(32))),
    "both": DurastateSerializer(
        allowlist=None, compress_threshold=0, encryption_key=bytes(range(32, 64))
    ),
}

text = st.text(max_size=30)
timezones = st.sampled_from(
    [
        None,
        dt.timezone.utc,
        dt.timezone(dt.timedelta(hours=5, minutes=30)),
        dt.timezone(-dt.timedelta(hours=3)),
    ]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False),
    text,
    st.binary(max_size=40),
    st.datetimes(timezones=timezones),
    st.dates(),
    st.times(),
    st.timedeltas(),
    st.uuids(),
    st.decimals(allow_nan=False, allow_infinity=False, places=6),
    st.sampled_from(list(Color) + list(Level)),
    st.builds(Point, st.integers(-1000, 1000), st.integers(-1000, 1000)),
    st.builds(Pair, st.integers(-1000, 1000), text),
    st.builds(
        Person,
        name=text,
        age=st.integers(0, 150),
        address=st.one_of(st.none(), st.builds(Address, street=text, city=text)),
        tags=st.lists(text, max_size=3),
    ),
    st.builds(HumanMessage, content=text, id=st.one_of(st.none(), text)),
    st.builds(AIMessage, content=text),
    st.builds(ToolMessage, content=text, tool_call_id=text),
)
hashable = st.one_of(st.integers(-50, 50), text, st.uuids())
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.dictionaries(text, children, max_size=4),
        st.sets(hashable, max_size=4),
        st.frozensets(hashable, max_size=4),
    ),
    max_leaves=20,
)


def same(back: Any, value: Any) -> bool:
    """Equal, of the same type, all the way down (1 == True == 1.0 would hide a change).

    A plain tuple comes back as a list, as from LangGraph's own serializer (msgpack has
    one array type); named tuples keep their class."""
    if type(value) is tuple:
        return (
            type(back) is list
            and len(back) == len(value)
            and all(same(x, y) for x, y in zip(back, value, strict=True))
        )
    a, b = back, value
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and not hasattr(a, "_fields"):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (dt.datetime, dt.time)):
        return (
            a == b and a.tzinfo == b.tzinfo if a.tzinfo is not None else b.tzinfo is None and a == b
        )
    if isinstance(a, decimal.Decimal):
        return str(a) == str(b)
    return bool(a == b)


@ROUND_TRIP
@given(value=values, which=st.sampled_from(sorted(SERIALIZERS)))
def test_generated_values_come_back_equal_and_of_the_same_type(value: Any, which: str) -> None:
    serde = SERIALIZERS[which]
    stored = serde.dumps_typed(value)
    back = serde.loads_typed(stored)
    assert same(back, value), (which, value, back)


def test_the_strategy_reaches_every_kind_of_value() -> None:
    """The property above is only as good as what it generates: check the kinds occur."""
    seen: set[str] = set()

    @settings(max_examples=400, deadline=None, derandomize=True, database=None)
    @given(value=values)
    def collect(value: Any) -> None:
        stack = [value]
        while stack:
            v = stack.pop()
            seen.add(type(v).__name__)
            if isinstance(v, dict):
                stack += list(v.values())
            elif isinstance(v, (list, tuple, set, frozenset)) and not hasattr(v, "_fields"):
                stack += list(v)

    collect()
    wanted = {"datetime", "UUID", "Decimal", "Person", "HumanMessage", "Point", "set", "tuple"}
    assert wanted <= seen, wanted - seen
