"""Random and hostile input: only DeserializationError, never other errors or code execution."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import ormsgpack
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from serde_fixtures import Person, Point

from durastate.errors import DeserializationError
from durastate.serde import DurastateSerializer

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None)

KEY = bytes(range(32))
READER = DurastateSerializer(
    allowlist=None, encryption_key=KEY, langgraph_aes_key="k" * 16, max_inflate_size=1 << 20
)
TYPE_STRINGS = [
    "msgpack",
    "json",
    "null",
    "bytes",
    "bytearray",
    "pickle",
    "msgpack+z",
    "msgpack+aesgcm",
    "msgpack+z+aesgcm",
    "msgpack+aes",
    "json+z",
    "bytes+z",
    "pickle+aesgcm",
    "+",
    "",
    "z",
    "msgpack+z+z+z+z+z+z",
]
# Where a stored "touch" command would leave a file if it were ever run.
MARKER = Path(tempfile.gettempdir()) / f"durastate-fuzz-{os.getpid()}-executed"
MARKER.unlink(missing_ok=True)


def _load_or_fail_cleanly(type_: str, blob: bytes) -> None:
    try:
        READER.loads_typed((type_, blob))
    except DeserializationError:
        pass


@FUZZ
@given(
    type_=st.one_of(st.sampled_from(TYPE_STRINGS), st.text(max_size=20)),
    blob=st.binary(max_size=300),
)
def test_random_bytes_and_type_strings(type_: str, blob: bytes) -> None:
    _load_or_fail_cleanly(type_, blob)


VALID = [
    JsonPlusSerializer().dumps_typed(
        {
            "messages": [
                HumanMessage("hi", id="1"),
                AIMessage("a", tool_calls=[{"name": "f", "args": {"x": 1}, "id": "c"}]),
            ],
            "p": Person(name="a", age=1),
            "pt": Point(1),
            "when": {1, 2},
        }
    ),
    DurastateSerializer(encryption_key=KEY, compress_threshold=0).dumps_typed({"a": [1] * 50}),
    DurastateSerializer(compress_threshold=0).dumps_typed({"a": "x" * 200}),
]


@FUZZ
@given(
    which=st.integers(0, len(VALID) - 1),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), max_size=4),
    cut=st.one_of(st.none(), st.integers(0, 10_000)),
)
def test_corrupted_valid_blobs(which: int, flips: list[tuple[int, int]], cut: int | None) -> None:
    type_, blob = VALID[which]
    data = bytearray(blob)
    for pos, bit in flips:
        data[pos % len(data)] ^= bit
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    _load_or_fail_cleanly(type_, bytes(data))


NAME_LIST = [
    ("os", "system"),
    ("builtins", "eval"),
    ("builtins", "exec"),
    ("subprocess", "Popen"),
    ("importlib", "import_module"),
    ("pathlib", "Path"),
    ("datetime", "datetime"),
    ("serde_fixtures", "Person"),
    ("serde_fixtures", "Point"),
    ("serde_fixtures", "Color"),
    ("langgraph.types", "Send"),
    ("langgraph.types", "Command"),
    ("re", "compile"),
    ("langchain_core.messages.human", "HumanMessage"),
    ("uuid", "UUID"),
    ("no.such", "Mod"),
]
NAMES = st.sampled_from(NAME_LIST)
COMMAND = st.just(f"touch {MARKER}")
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.text(max_size=10),
    st.binary(max_size=10),
    COMMAND,
)


def _ext_of(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    payload = st.one_of(
        st.tuples(NAMES, children).map(lambda t: (*t[0], t[1])),
        st.tuples(NAMES, children, st.sampled_from(["fromisoformat", "system", "touch"])).map(
            lambda t: (*t[0], t[1], t[2])
        ),
        children,
    )
    return st.tuples(st.integers(0, 12), payload).map(
        lambda t: ormsgpack.Ext(t[0], ormsgpack.packb(t[1]))
    )


TREES = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(max_size=5), children, max_size=3),
        _ext_of(children),
    ),
    max_leaves=12,
)


@FUZZ
@given(tree=TREES)
def test_hostile_extension_payloads_never_execute(tree: Any) -> None:
    blob = ormsgpack.packb(tree)
    _load_or_fail_cleanly("msgpack", blob)
    assert not MARKER.exists()


JSONISH = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**64 - 1),
        st.floats(allow_nan=False),
        st.text(max_size=20),
        st.binary(max_size=20),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers(-5, 5)), children, max_size=4),
    ),
    max_leaves=25,
)


@FUZZ
@given(value=JSONISH)
def test_plain_values_match_langgraph_byte_for_byte(value: Any) -> None:
    ours = DurastateSerializer().dumps_typed(value)
    assert ours[0] in ("msgpack", "null", "bytes")
    assert ours == JsonPlusSerializer().dumps_typed(value)
    assert DurastateSerializer().loads_typed(ours) == value


def test_every_stored_name_with_every_encoding_and_a_shell_command() -> None:
    # Exhaustive rather than random: each callable-looking name, under each
    # constructor/method encoding, with the command as a single argument, as
    # positional arguments and as keyword arguments.
    command = f"touch {MARKER}"
    shapes = [command, [command], {"args": command, "shell": True}]
    for module, name in NAME_LIST:
        for code in range(6):
            for shape in shapes:
                for method in (None, "system", "touch", "fromisoformat"):
                    payload = (
                        (module, name, shape) if method is None else (module, name, shape, method)
                    )
                    blob = ormsgpack.packb(ormsgpack.Ext(code, ormsgpack.packb(payload)))
                    _load_or_fail_cleanly("msgpack", blob)
    assert not MARKER.exists()
