"""Loading never imports or calls what stored bytes name; pickle and strict mode."""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from serde_fixtures import Color, NotData, Pair, Person, Point, ext

from durastate.errors import DeserializationError
from durastate.serde import DurastateSerializer, UnrevivedValue, apply_allowlist


def load(serde: DurastateSerializer, blob: bytes) -> Any:
    return serde.loads_typed(("msgpack", blob))


@pytest.fixture
def serde() -> DurastateSerializer:
    return DurastateSerializer(allowlist=None)


# --- callables named by the data are never called -----------------------------------


def test_os_system_is_not_run(serde: DurastateSerializer, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    blob = ext(0, ("os", "system", f"touch {marker}"))
    value = load(serde, blob)
    assert not marker.exists()
    assert isinstance(value, UnrevivedValue)
    assert (value.module, value.name, value.payload) == ("os", "system", f"touch {marker}")
    assert "not a class" in value.reason


@pytest.mark.parametrize(
    ("code", "payload"),
    [
        (0, ("builtins", "eval", "__import__('os').getcwd()")),
        (1, ("subprocess", "Popen", [["touch", "/tmp/x"]])),
        (0, ("importlib", "import_module", "antigravity")),
        (1, ("builtins", "exec", ["print(1)"])),
        (2, ("subprocess", "run", {"args": ["true"]})),
        (5, ("os", "system", {"x": 1}, "model_validate_json")),
        (4, ("builtins", "getattr", {"x": 1})),
    ],
)
def test_stored_callables_come_back_marked(
    serde: DurastateSerializer, code: int, payload: tuple[Any, ...]
) -> None:
    value = load(serde, ext(code, payload))
    assert isinstance(value, UnrevivedValue)
    assert (value.module, value.name) == payload[:2]
    assert value.payload == payload[2]
    assert value.reason


def test_method_calls_are_not_made(serde: DurastateSerializer, tmp_path: Path) -> None:
    marker = tmp_path / "method"
    blob = ext(3, ("pathlib", "Path", str(marker), "touch"))
    value = load(serde, blob)
    assert not marker.exists()
    assert isinstance(value, UnrevivedValue)
    assert value.kind == "method"
    assert value.method == "touch"
    assert "never made" in value.reason


def test_module_not_yet_imported_is_not_imported(
    serde: DurastateSerializer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "serde_trap_module.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n"
        "import dataclasses\n"
        "@dataclasses.dataclass\nclass Trap:\n    x: int = 0\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    load(serde, ext(0, ("datetime", "date", "warm-up")))  # durastate's own lazy imports
    before = set(sys.modules)
    value = load(serde, ext(2, ("serde_trap_module", "Trap", {"x": 1})))
    assert set(sys.modules) == before
    assert not marker.exists()
    assert isinstance(value, UnrevivedValue)
    assert "not imported" in value.reason
    assert "import it before loading" in value.reason


def test_class_is_revived_once_the_application_imported_it(
    serde: DurastateSerializer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "serde_app_module.py").write_text(
        "import dataclasses\n@dataclasses.dataclass\nclass Row:\n    x: int = 0\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    blob = ext(2, ("serde_app_module", "Row", {"x": 5}))
    assert isinstance(load(serde, blob), UnrevivedValue)
    import serde_app_module  # type: ignore[import-not-found]

    try:
        assert load(serde, blob) == serde_app_module.Row(5)
    finally:
        del sys.modules["serde_app_module"]


def test_imported_class_that_is_not_a_data_type_is_not_constructed(
    serde: DurastateSerializer,
) -> None:
    value = load(serde, ext(2, ("serde_fixtures", "NotData", {"value": 1})))
    assert isinstance(value, UnrevivedValue)
    assert "not a data type" in value.reason


def test_exception_classes_are_not_constructed(serde: DurastateSerializer) -> None:
    value = load(serde, ext(0, ("builtins", "ValueError", "x")))
    assert isinstance(value, UnrevivedValue)


def test_aliases_are_not_followed(serde: DurastateSerializer) -> None:
    # serde_fixtures imports BaseModel from pydantic; the name must match the class.
    value = load(serde, ext(2, ("serde_fixtures", "BaseModel", {})))
    assert isinstance(value, UnrevivedValue)
    assert "alias" in value.reason


def test_data_type_stored_under_the_wrong_encoding_is_not_constructed(
    serde: DurastateSerializer,
) -> None:
    value = load(serde, ext(0, ("serde_fixtures", "Person", "Ann")))
    assert isinstance(value, UnrevivedValue)
    assert "stored as extension type 0" in value.reason


def test_failed_construction_is_marked_not_silent(serde: DurastateSerializer) -> None:
    value = load(serde, ext(0, ("serde_fixtures", "Color", "green")))
    assert isinstance(value, UnrevivedValue)
    assert value.reason.startswith("could not be rebuilt: ValueError")
    assert value.payload == "green"


def test_unknown_extension_code_is_kept_raw(serde: DurastateSerializer) -> None:
    import ormsgpack

    blob = ormsgpack.packb({"x": ormsgpack.Ext(42, b"\x01\x02")})
    value = load(serde, blob)["x"]
    assert isinstance(value, UnrevivedValue)
    assert (value.kind, value.code, value.payload) == ("extension", 42, b"\x01\x02")
    assert serde.dumps_typed({"x": value}) == ("msgpack", blob)


def test_unrevived_repr_says_what_and_why(serde: DurastateSerializer) -> None:
    value = load(serde, ext(0, ("os", "system", "x" * 500)))
    text = repr(value)
    assert text.startswith("UnrevivedValue('os.system', kind='constructor'")
    assert "reason=" in text
    assert len(text) < 600


def test_data_types_are_revived(serde: DurastateSerializer) -> None:
    value = {"p": Person(name="A", age=1), "pt": Point(1, 2), "pair": Pair(1, "x"), "c": Color.RED}
    assert serde.loads_typed(serde.dumps_typed(value)) == value


def test_regex_and_datetime_use_fixed_constructors(serde: DurastateSerializer) -> None:
    # ("re", "compile") and datetime.fromisoformat are the two stored names that
    # are not classes; both map to durastate's own calls with checked arguments.
    value = load(serde, ext(1, ("re", "compile", ["a", "not-an-int"])))
    assert isinstance(value, UnrevivedValue)


# --- LangChain lc JSON ---------------------------------------------------------------


def _json(payload: Any) -> tuple[str, bytes]:
    return "json", json.dumps(payload).encode()


def test_lc_json_revives_only_allowlisted_langchain_types(serde: DurastateSerializer) -> None:
    good = {
        "lc": 1,
        "type": "constructor",
        "id": ["langchain", "schema", "messages", "HumanMessage"],
        "kwargs": {"content": "hi"},
    }
    bad = {
        "lc": 1,
        "type": "constructor",
        "id": ["langchain", "llms", "openai", "OpenAI"],
        "kwargs": {"model": "x"},
    }
    got = serde.loads_typed(_json({"ok": good, "no": bad}))
    assert got["ok"] == HumanMessage("hi")
    assert isinstance(got["no"], UnrevivedValue)
    assert got["no"].kind == "langchain_json"
    assert got["no"].payload == bad
    assert "langchain.llms.openai" not in sys.modules


def test_lc_json_secrets_are_not_read_from_the_environment(
    serde: DurastateSerializer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERDE_TEST_SECRET", "hunter2")
    got = serde.loads_typed(_json({"lc": 1, "type": "secret", "id": ["SERDE_TEST_SECRET"]}))
    assert isinstance(got, UnrevivedValue)
    assert "hunter2" not in repr(got)


def test_lc2_json_naming_a_function_is_not_called(
    serde: DurastateSerializer, tmp_path: Path
) -> None:
    marker = tmp_path / "lc2"
    payload = {"lc": 2, "type": "constructor", "id": ["os", "system"], "args": [f"touch {marker}"]}
    got = serde.loads_typed(_json(payload))
    assert not marker.exists()
    assert isinstance(got, UnrevivedValue)
    assert got.payload == payload


def test_dicts_that_only_look_like_lc_stay_dicts(serde: DurastateSerializer) -> None:
    value = {"lc": 1, "type": "note", "id": "x"}
    assert serde.loads_typed(_json(value)) == value


# --- pickle ----------------------------------------------------------------------------


class _Unpicklable:
    def __reduce__(self) -> Any:
        raise TypeError("no")


class _Boom:
    def __reduce__(self) -> Any:
        import os

        return (os.system, ("true",))


def test_pickle_blob_is_refused_without_opt_in(serde: DurastateSerializer) -> None:
    with pytest.raises(DeserializationError, match=r"pickle.*pickle_fallback=True"):
        serde.loads_typed(("pickle", pickle.dumps(_Boom())))


def test_pickle_fallback_writes_and_reads_when_enabled() -> None:
    serde = DurastateSerializer(pickle_fallback=True)
    value = {"obj": Path}  # a class object: msgpack cannot store it, pickle can
    type_, blob = serde.dumps_typed(value)
    assert type_ == "pickle"
    assert serde.loads_typed((type_, blob)) == value
    assert DurastateSerializer().dumps_typed({"x": 1})[0] == "msgpack"


def test_without_pickle_fallback_unserializable_values_raise() -> None:
    from durastate.errors import SerializationError

    with pytest.raises(SerializationError):
        DurastateSerializer().dumps_typed({"obj": Path})


# --- strict mode ------------------------------------------------------------------------


def test_strict_mode_revives_only_allowlisted_application_classes() -> None:
    serde = DurastateSerializer(allowlist=[Person, ("serde_fixtures", "Color")])
    assert serde.strict
    value = {"p": Person(name="A", age=1), "c": Color.RED, "pt": Point(1), "m": HumanMessage("x")}
    got = serde.loads_typed(serde.dumps_typed(value))
    assert got["p"] == value["p"]
    assert got["c"] is Color.RED
    assert got["m"] == value["m"]  # known types stay allowed
    assert isinstance(got["pt"], UnrevivedValue)
    assert "allowlist" in got["pt"].reason
    assert "('serde_fixtures', 'Point')" in got["pt"].reason


def test_with_msgpack_allowlist_returns_a_new_strict_serializer() -> None:
    base = DurastateSerializer(allowlist=None)
    strict = base.with_msgpack_allowlist([("serde_fixtures", "Point")])
    assert strict is not base
    assert not base.strict
    assert strict.allowlist == frozenset({("serde_fixtures", "Point")})
    blob = base.dumps_typed([Point(1), Pair(1, "a")])
    assert base.loads_typed(blob) == [Point(1), Pair(1, "a")]
    got = strict.loads_typed(blob)
    assert got[0] == Point(1)
    assert isinstance(got[1], UnrevivedValue)
    wider = strict.with_msgpack_allowlist([Pair])
    assert wider.loads_typed(blob) == [Point(1), Pair(1, "a")]
    assert strict.with_msgpack_allowlist([Point]) is strict  # nothing new: same object


def test_strict_serializer_keeps_its_encryption_when_narrowed() -> None:
    serde = DurastateSerializer(allowlist=(), encryption_key=b"k" * 32)
    narrowed = serde.with_msgpack_allowlist([Point])
    blob = serde.dumps_typed(Point(1))
    assert blob[0] == "msgpack+aesgcm"
    assert narrowed.loads_typed(blob) == Point(1)
    assert narrowed.dumps_typed(Point(1))[0] == "msgpack+aesgcm"


def test_strict_allowlist_rejects_malformed_entries() -> None:
    from durastate.errors import InvalidInputError

    with pytest.raises(InvalidInputError):
        DurastateSerializer(allowlist=["serde_fixtures.Point"])  # type: ignore[list-item]


def test_apply_allowlist_handles_ours_langgraphs_and_encrypted() -> None:
    ours = apply_allowlist(DurastateSerializer(allowlist=None), [Point])
    assert isinstance(ours, DurastateSerializer)
    assert ours.allowlist == frozenset({("serde_fixtures", "Point")})

    theirs = apply_allowlist(JsonPlusSerializer(allowed_msgpack_modules=None), [Point])
    assert isinstance(theirs, JsonPlusSerializer)
    assert theirs is not ours

    class _Cipher:
        def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
            return "rev", plaintext[::-1]

        def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
            return ciphertext[::-1]

    wrapped = EncryptedSerializer(_Cipher(), DurastateSerializer(allowlist=None))
    narrowed = apply_allowlist(wrapped, [Point])
    assert isinstance(narrowed, EncryptedSerializer)
    assert isinstance(narrowed.serde, DurastateSerializer)
    assert narrowed.serde.allowlist == frozenset({("serde_fixtures", "Point")})
    blob = narrowed.dumps_typed([Point(1), Pair(1, "a")])
    got = narrowed.loads_typed(blob)
    assert got[0] == Point(1) and isinstance(got[1], UnrevivedValue)


def test_apply_allowlist_warns_for_serializers_without_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class _Plain:
        def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
            return "x", b""

        def loads_typed(self, data: tuple[str, bytes]) -> Any:
            return None

    plain = _Plain()
    assert apply_allowlist(plain, [Point]) is plain
    assert "strict deserialization is not enforced" in caplog.text


def test_langgraph_base_saver_with_allowlist_narrows_our_serializer() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    saver = InMemorySaver(serde=DurastateSerializer(allowlist=None))
    narrowed = saver.with_allowlist([("serde_fixtures", "Point")])
    assert narrowed is not saver
    assert isinstance(narrowed.serde, DurastateSerializer)
    assert narrowed.serde.allowlist == frozenset({("serde_fixtures", "Point")})
    assert isinstance(saver.serde, DurastateSerializer) and not saver.serde.strict


def test_notdata_fixture_is_really_imported() -> None:
    # Guards the tests above: their "not a data type" verdict is about the class,
    # not about a missing import.
    assert sys.modules["serde_fixtures"].NotData is NotData


def test_a_removed_or_reloaded_class_is_looked_up_again(
    serde: DurastateSerializer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    source = "import dataclasses\n@dataclasses.dataclass\nclass Row:\n    x: int = 0\n"
    (tmp_path / "serde_reload_module.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    import serde_reload_module  # type: ignore[import-not-found]

    blob = ext(2, ("serde_reload_module", "Row", {"x": 1}))
    try:
        first = load(serde, blob)
        assert type(first) is serde_reload_module.Row
        old_cls = serde_reload_module.Row
        importlib.reload(serde_reload_module)
        second = load(serde, blob)
        assert type(second) is serde_reload_module.Row
        assert type(second) is not old_cls
    finally:
        del sys.modules["serde_reload_module"]
    gone = load(serde, blob)
    assert isinstance(gone, UnrevivedValue)
    assert "not imported" in gone.reason
