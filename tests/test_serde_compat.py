"""The msgpack format matches LangGraph's JsonPlusSerializer in both directions."""

from __future__ import annotations

import collections
import datetime as dt
import decimal
import ipaddress
import json
import pathlib
import re
import uuid
import zoneinfo
from typing import Any

import numpy as np
import pytest
from langchain_core.documents import Document
from langchain_core.load import dumps as lc_dumps
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    HumanMessageChunk,
    RemoveMessage,
    SystemMessage,
    SystemMessageChunk,
    ToolMessage,
    ToolMessageChunk,
)
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from langgraph.store.base import Item
from langgraph.types import Command, Interrupt, Overwrite, Send
from serde_fixtures import Address, Color, Level, Pair, Person, Point, same

from durastate.serde import DurastateSerializer, UnrevivedValue, default_serializer

OURS = DurastateSerializer()
# Allow the fixture classes explicitly so LangGraph revives them without warnings.
THEIRS = JsonPlusSerializer(allowed_msgpack_modules=[Address, Person, Point, Pair, Color, Level])

AWARE = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.timezone(dt.timedelta(hours=-3)))
TOOL_CALL = {"name": "search", "args": {"q": "durable state", "k": 3}, "id": "call-1"}

CASES: dict[str, Any] = {
    "human": HumanMessage("hello", id="m1", name="ann"),
    "ai_tool_calls": AIMessage(
        "",
        id="m2",
        tool_calls=[TOOL_CALL],
        usage_metadata={
            "input_tokens": 3,
            "output_tokens": 4,
            "total_tokens": 7,
        },
    ),
    "tool": ToolMessage("42", tool_call_id="call-1", artifact={"rows": [1, 2]}, status="success"),
    "system": SystemMessage("be brief", id="s1"),
    "chat": ChatMessage("hi", role="critic"),
    "function": FunctionMessage("out", name="fn"),
    "ai_chunk": AIMessageChunk(
        "par",
        id="c1",
        tool_call_chunks=[
            {"name": "search", "args": '{"q": 1', "id": "call-2", "index": 0},
        ],
    ),
    "human_chunk": HumanMessageChunk("hu"),
    "system_chunk": SystemMessageChunk("sy"),
    "tool_chunk": ToolMessageChunk("to", tool_call_id="call-3"),
    "remove": RemoveMessage(id="m1"),
    "document": Document("page", metadata={"source": "a.txt", "page": 2}, id="d1"),
    "send": Send("node_b", {"topic": "x"}),
    "send_timeout": Send("node_b", 3, timeout=dt.timedelta(seconds=5)),
    "interrupt": Interrupt("approve?", id="int-1"),
    "command_resume": Command(resume={"answer": "yes"}),
    "command_update_goto": Command(update={"count": 1}, goto="next"),
    "command_goto_send": Command(goto=[Send("a", 1), Send("b", 2)], graph=Command.PARENT),
    "overwrite": Overwrite([1, 2, 3]),
    "pydantic": Person(name="Ann", age=30, address=Address(street="Rua A"), tags=["x"]),
    "dataclass": Point(3, 4),
    "namedtuple": Pair(1, "one"),
    "enum": Color.BLUE,
    "int_enum": Level.HIGH,
    "datetime_naive": dt.datetime(2024, 1, 2, 3, 4, 5, 6),
    "datetime_aware": AWARE,
    "datetime_utc": dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc),
    "date": dt.date(1999, 12, 31),
    "time": dt.time(23, 59, 58, 7),
    "time_tz": dt.time(1, 2, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30), "IST")),
    "timedelta": dt.timedelta(days=-2, seconds=7, microseconds=9),
    "timezone": dt.timezone(dt.timedelta(hours=2), "CEST"),
    "zoneinfo": zoneinfo.ZoneInfo("Europe/Lisbon"),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "decimal": decimal.Decimal("-12.3400"),
    "set": {1, 2, 3},
    "frozenset": frozenset({"a", "b"}),
    "deque": collections.deque([1, "two"]),
    "path": pathlib.Path("/srv/data/file.txt"),
    "regex": re.compile(r"a+b", re.IGNORECASE),
    "ipv4": ipaddress.IPv4Address("10.1.2.3"),
    "ipv6_net": ipaddress.IPv6Network("2001:db8::/32"),
    "delta_snapshot": _DeltaSnapshot([HumanMessage("a", id="1"), "b"]),
    "item": Item(
        value={"k": 1},
        key="key",
        namespace=("a", "b"),
        created_at=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
        updated_at=dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc),
    ),
    "nested": {
        "messages": [HumanMessage("q", id="1"), AIMessage("a", id="2", tool_calls=[TOOL_CALL])],
        "meta": {"when": AWARE, "ids": {uuid.UUID(int=7)}, 3: [Point(1), {"deep": [Color.RED]}]},
        "empty": {},
        "none": None,
        "floats": [0.5, -1e300, float("inf")],
        "big": 2**63 - 1,
        "unicode": "naïve — ✓",
    },
}
# msgpack has no tuple: Command's default goto=() comes back as [] in LangGraph too.
LOSSY_IN_LANGGRAPH = {"command_resume"}

ARRAYS: dict[str, Any] = {
    "int8": np.array([-1, 2, 3], dtype=np.int8),
    "uint16_2d": np.arange(12, dtype=np.uint16).reshape(3, 4),
    "int64_3d": np.arange(24, dtype=np.int64).reshape(2, 3, 4),
    "float32": np.linspace(0, 1, 5, dtype=np.float32),
    "float64_fortran": np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3)),
    "complex": np.array([1 + 2j, -3j]),
    "bool": np.array([[True, False], [False, True]]),
    "unicode": np.array(["ab", "c"]),
    "bytes": np.array([b"xy", b"z"]),
    "big_endian": np.array([1, 256], dtype=">i4"),
    "scalar_0d": np.array(3.5),
    "empty": np.zeros((0, 3), dtype=np.float32),
    "strided_view": np.arange(10)[::3],
}


@pytest.mark.parametrize("name", list(CASES))
def test_blobs_are_byte_identical_and_read_both_ways(name: str) -> None:
    value = CASES[name]
    ours = OURS.dumps_typed(value)
    theirs = THEIRS.dumps_typed(value)
    assert ours == theirs
    assert ours[0] == "msgpack"
    expected = THEIRS.loads_typed(theirs)
    if name not in LOSSY_IN_LANGGRAPH:
        assert same(expected, value)
    assert same(OURS.loads_typed(theirs), expected)
    assert same(THEIRS.loads_typed(ours), expected)


@pytest.mark.parametrize("name", list(ARRAYS))
def test_numpy_arrays_are_byte_identical_and_read_both_ways(name: str) -> None:
    arr = ARRAYS[name]
    ours = OURS.dumps_typed(arr)
    assert ours == THEIRS.dumps_typed(arr)
    back = OURS.loads_typed(THEIRS.dumps_typed(arr))
    assert same(back, arr)
    assert same(THEIRS.loads_typed(ours), arr)
    assert back.flags.writeable  # a loaded array can be modified in place


def test_fortran_order_is_kept() -> None:
    arr = ARRAYS["float64_fortran"]
    assert OURS.loads_typed(OURS.dumps_typed(arr)).flags.f_contiguous


def test_datetime64_array_that_langgraph_cannot_write_is_readable_by_langgraph() -> None:
    arr = np.array(["2024-01-01", "2024-06-30"], dtype="datetime64[ns]")
    with pytest.raises(Exception):  # noqa: B017 - LangGraph's encoder fails on this dtype
        THEIRS.dumps_typed(arr)
    blob = OURS.dumps_typed(arr)
    assert same(THEIRS.loads_typed(blob), arr)
    assert same(OURS.loads_typed(blob), arr)


def test_exceptions_are_stored_as_their_repr_like_langgraph() -> None:
    err = ValueError("boom")
    assert OURS.dumps_typed(err) == THEIRS.dumps_typed(err)
    assert OURS.loads_typed(OURS.dumps_typed(err)) == "ValueError('boom')"


@pytest.mark.parametrize(
    ("value", "expected_type"),
    [(None, "null"), (b"\x00raw", "bytes"), (bytearray(b"ba"), "bytearray")],
)
def test_null_bytes_bytearray_type_strings_match_langgraph(value: Any, expected_type: str) -> None:
    ours = OURS.dumps_typed(value)
    assert ours[0] == expected_type
    assert ours == (THEIRS.dumps_typed(value)[0], bytes(THEIRS.dumps_typed(value)[1]))
    assert same(OURS.loads_typed(THEIRS.dumps_typed(value)), value)
    assert same(THEIRS.loads_typed(ours), value)


def test_reads_langchain_json_messages_and_documents() -> None:
    value = {
        "messages": [HumanMessage("hi", id="1"), AIMessage("yo", id="2", tool_calls=[TOOL_CALL])],
        "doc": Document("text", metadata={"a": 1}),
        "plain": {"n": 1, "l": [1, "x"]},
    }
    blob = lc_dumps(value).encode()
    assert OURS.loads_typed(("json", blob)) == value
    assert OURS.loads_typed(("json", blob)) == THEIRS.loads_typed(("json", blob))


def test_reads_full_module_path_lc_ids() -> None:
    payload = {
        "lc": 1,
        "type": "constructor",
        "id": ["langchain_core", "messages", "tool", "ToolMessage"],
        "kwargs": {"content": "r", "tool_call_id": "c"},
    }
    got = OURS.loads_typed(("json", json.dumps(payload).encode()))
    assert got == ToolMessage("r", tool_call_id="c")


def test_reads_legacy_lc2_json_values() -> None:
    hexid = "12345678123456781234567812345678"
    payload = {
        "when": {
            "lc": 2,
            "type": "constructor",
            "id": ["datetime", "datetime"],
            "method": "fromisoformat",
            "args": ["2024-01-02T03:04:05+00:00"],
        },
        "id": {"lc": 2, "type": "constructor", "id": ["uuid", "UUID"], "args": [hexid]},
        "tags": {"lc": 2, "type": "constructor", "id": ["builtins", "set"], "args": [[1, 2]]},
        "person": {
            "lc": 2,
            "type": "constructor",
            "id": ["serde_fixtures", "Person"],
            "method": [None, "construct"],
            "kwargs": {"name": "Bo", "age": 4},
        },
    }
    got = OURS.loads_typed(("json", json.dumps(payload).encode()))
    assert got == {
        "when": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
        "id": uuid.UUID(hexid),
        "tags": {1, 2},
        "person": Person(name="Bo", age=4),
    }


def test_pydantic_value_that_no_longer_validates_keeps_its_data() -> None:
    # Same fallback as LangGraph: a stored value that fails today's validation
    # is still returned as the model, not dropped.
    from serde_fixtures import ext

    stored = {"name": "Ann", "age": "xx", "address": None, "tags": []}
    blob = ext(5, ("serde_fixtures", "Person", stored, "model_validate_json"))
    got = OURS.loads_typed(("msgpack", blob))
    assert isinstance(got, Person)
    assert got.name == "Ann"
    assert got.age == "xx"  # type: ignore[comparison-overlap]


def test_dataclass_with_init_false_field_round_trips() -> None:
    from serde_fixtures import WithDerived

    value = WithDerived(5)
    value.doubled = 11  # state changed after construction must survive
    back = OURS.loads_typed(OURS.dumps_typed(value))
    assert isinstance(back, WithDerived)
    assert (back.base, back.doubled) == (5, 11)


def test_default_serializer_is_shared_and_compatible() -> None:
    assert default_serializer() is default_serializer()
    value = CASES["nested"]
    assert default_serializer().dumps_typed(value) == THEIRS.dumps_typed(value)


def test_python_313_pathlib_module_name_is_understood() -> None:
    from serde_fixtures import ext

    blob = ext(1, ("pathlib._local", "PosixPath", ("/", "srv", "x")))
    assert OURS.loads_typed(("msgpack", blob)) == pathlib.PosixPath("/srv/x")


def test_unrevived_value_is_written_back_unchanged() -> None:
    from serde_fixtures import ext

    blob = ext(2, ("not_imported_pkg.models", "Thing", {"a": 1, "b": [1, 2]}))
    value = OURS.loads_typed(("msgpack", blob))
    assert isinstance(value, UnrevivedValue)
    assert OURS.dumps_typed(value) == ("msgpack", blob)
    nested = OURS.loads_typed(OURS.dumps_typed({"kept": [value]}))
    assert nested == {"kept": [value]}
