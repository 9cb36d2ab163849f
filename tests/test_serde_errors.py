"""Serialization errors name where in the value the problem is."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.types import Send
from pydantic import BaseModel, ConfigDict
from serde_fixtures import Opaque

from durastate.errors import SerializationError
from durastate.serde import (
    DurastateSerializer,
    UnserializableValueError,
    serialization_error_with_prefix,
)

SERDE = DurastateSerializer()


def _error(value: Any) -> SerializationError:
    with pytest.raises(SerializationError) as info:
        SERDE.dumps_typed(value)
    return info.value


def test_error_names_the_path_into_messages() -> None:
    messages = [
        HumanMessage("a"),
        AIMessage("b"),
        HumanMessage("c"),
        ToolMessage("d", tool_call_id="t", artifact=Opaque()),
    ]
    err = _error({"messages": messages})
    assert str(err) == "['messages'] -> [3] -> 'artifact': cannot serialize object of type Opaque"
    assert err.path == ("messages", 3, "artifact")
    assert isinstance(err, TypeError)  # callers catching TypeError keep working


def test_prefix_labels_the_channel() -> None:
    err = _error([HumanMessage("a"), {"x": [1, Opaque()]}])
    labelled = serialization_error_with_prefix(err, "channel 'messages'")
    assert str(labelled) == (
        "channel 'messages' -> [1] -> ['x'] -> [1]: cannot serialize object of type Opaque"
    )
    assert labelled.path == (1, "x", 1)
    assert isinstance(labelled, UnserializableValueError)
    assert labelled.label == "channel 'messages'"
    again = serialization_error_with_prefix(labelled, "checkpoint 'c1'")
    assert str(again).startswith("checkpoint 'c1' -> channel 'messages' -> [1]")


def test_dumps_typed_at_prefixes_the_label() -> None:
    with pytest.raises(SerializationError) as info:
        SERDE.dumps_typed_at({"k": Opaque()}, "write 'tasks'")
    assert str(info.value) == "write 'tasks' -> ['k']: cannot serialize object of type Opaque"
    assert SERDE.dumps_typed_at({"k": 1}, "ok") == SERDE.dumps_typed({"k": 1})


def test_top_level_value() -> None:
    err = _error(Opaque())
    assert str(err) == "value: cannot serialize object of type Opaque"
    assert err.path == ()
    labelled = serialization_error_with_prefix(err, "channel 'x'")
    assert str(labelled) == "channel 'x': cannot serialize object of type Opaque"


def test_prefix_of_a_plain_serialization_error() -> None:
    plain = SerializationError("something broke", ("a",))
    labelled = serialization_error_with_prefix(plain, "channel 'c'")
    assert str(labelled) == "channel 'c': something broke"
    assert labelled.path == ("a",)


@dataclasses.dataclass
class Holder:
    name: str
    payload: Any


class Model(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    inner: Any


def test_paths_go_through_dataclasses_models_send_and_sets() -> None:
    err = _error({"h": Holder("x", {"deep": (1, Opaque())})})
    assert str(err).startswith("['h'] -> 'payload' -> ['deep'] -> [1]: ")
    err = _error(Model(inner=[Opaque()]))
    assert str(err).startswith("'inner' -> [0]: ")
    err = _error(Send("node", {"a": Opaque()}))
    assert str(err).startswith("'arg' -> ['a']: ")


def test_integer_out_of_range() -> None:
    err = _error({"n": 2**70})
    assert str(err) == (
        f"['n']: cannot serialize int {2**70}: outside the 64-bit range msgpack can store"
    )


def test_unsupported_dict_key() -> None:
    key = Opaque()
    err = _error({"outer": {key: 1}})
    assert "cannot serialize dict key of type Opaque" in str(err)
    assert str(err).startswith("['outer'] -> [")


def test_circular_reference() -> None:
    loop: list[Any] = [1]
    loop.append({"back": loop})
    err = _error({"l": loop})
    assert str(err) == "['l'] -> [1] -> ['back']: circular reference"


def test_model_dump_failure_names_the_model() -> None:
    class Broken(BaseModel):
        x: int = 1

        def model_dump(self, **kwargs: Any) -> dict[str, Any]:
            raise RuntimeError("dump failed")

    err = _error({"b": Broken()})
    assert str(err).startswith("['b']: cannot serialize object of type ")
    assert "dump failed" in str(err)


def test_error_keeps_the_encoder_error_as_cause() -> None:
    err = _error({"x": Opaque()})
    assert err.__cause__ is not None
