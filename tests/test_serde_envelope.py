"""Per-blob compression and encryption: self-describing type strings, keys, tampering."""

from __future__ import annotations

import base64
import os
import zlib
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from durastate.errors import DeserializationError, InvalidInputError
from durastate.serde import DurastateSerializer, LangGraphAesCipher, parse_key

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
STATE = {"messages": [HumanMessage("x" * 400, id=str(i)) for i in range(20)], "n": 1}


@pytest.fixture(autouse=True)
def _no_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DURASTATE_AES_KEY", raising=False)
    monkeypatch.delenv("LANGGRAPH_AES_KEY", raising=False)


def test_compression_marks_the_blob_and_shrinks_it() -> None:
    plain = DurastateSerializer().dumps_typed(STATE)
    serde = DurastateSerializer(compress_threshold=1024)
    type_, blob = serde.dumps_typed(STATE)
    assert type_ == "msgpack+z"
    assert len(blob) < len(plain[1]) / 4
    assert zlib.decompress(blob) == plain[1]  # plain zlib, readable by any tool
    assert DurastateSerializer().loads_typed((type_, blob)) == STATE


def test_small_blobs_and_incompressible_blobs_stay_plain() -> None:
    serde = DurastateSerializer(compress_threshold=1024)
    assert serde.dumps_typed({"a": 1})[0] == "msgpack"
    noise = os.urandom(4096)
    assert serde.dumps_typed(noise) == ("bytes", noise)


def test_encryption_marks_the_blob_and_hides_the_content() -> None:
    serde = DurastateSerializer(encryption_key=KEY)
    type_, blob = serde.dumps_typed({"secret": "swordfish"})
    assert type_ == "msgpack+aesgcm"
    assert b"swordfish" not in blob
    assert serde.loads_typed((type_, blob)) == {"secret": "swordfish"}
    assert serde.dumps_typed({"secret": "swordfish"})[1] != blob  # fresh nonce per blob


def test_compressed_then_encrypted() -> None:
    serde = DurastateSerializer(encryption_key=KEY, compress_threshold=100)
    type_, blob = serde.dumps_typed(STATE)
    assert type_ == "msgpack+z+aesgcm"
    assert serde.loads_typed((type_, blob)) == STATE


@pytest.mark.parametrize("value", [b"raw bytes" * 50, bytearray(b"ba" * 300), None])
def test_bytes_blobs_are_wrapped_too_and_null_never(value: Any) -> None:
    serde = DurastateSerializer(encryption_key=KEY, compress_threshold=10)
    type_, blob = serde.dumps_typed(value)
    if value is None:
        assert (type_, blob) == ("null", b"")
    else:
        assert type_.endswith("+z+aesgcm")
    assert serde.loads_typed((type_, blob)) == value


def test_any_reader_with_the_key_reads_any_mix() -> None:
    writers = [
        DurastateSerializer(),
        DurastateSerializer(compress_threshold=0),
        DurastateSerializer(encryption_key=KEY),
        DurastateSerializer(encryption_key=KEY, compress_threshold=0),
    ]
    blobs = [w.dumps_typed(STATE) for w in writers]
    assert [t for t, _ in blobs] == ["msgpack", "msgpack+z", "msgpack+aesgcm", "msgpack+z+aesgcm"]
    reader = DurastateSerializer(encryption_key=base64.b64encode(KEY).decode())
    for blob in blobs:
        assert reader.loads_typed(blob) == STATE
    # A reader without a key reads the unencrypted ones.
    keyless = DurastateSerializer()
    assert keyless.loads_typed(blobs[1]) == STATE


def test_encrypted_blob_without_a_key_says_a_key_is_needed() -> None:
    blob = DurastateSerializer(encryption_key=KEY).dumps_typed(STATE)
    with pytest.raises(DeserializationError, match=r"needs a key.*DURASTATE_AES_KEY"):
        DurastateSerializer().loads_typed(blob)


def test_tampered_ciphertext_is_detected() -> None:
    serde = DurastateSerializer(encryption_key=KEY)
    type_, blob = serde.dumps_typed(STATE)
    flipped = bytearray(blob)
    flipped[len(blob) // 2] ^= 1
    with pytest.raises(DeserializationError, match="authentication"):
        serde.loads_typed((type_, bytes(flipped)))
    with pytest.raises(DeserializationError):
        serde.loads_typed((type_, blob[:20]))


def test_wrong_key_is_detected() -> None:
    blob = DurastateSerializer(encryption_key=KEY).dumps_typed(STATE)
    with pytest.raises(DeserializationError, match="authentication"):
        DurastateSerializer(encryption_key=OTHER_KEY).loads_typed(blob)


def test_type_string_is_authenticated() -> None:
    # Swapping the stored type string (here: claiming the plaintext is pickle) fails.
    serde = DurastateSerializer(encryption_key=KEY, pickle_fallback=True)
    _, blob = serde.dumps_typed({"a": 1})
    with pytest.raises(DeserializationError, match="authentication"):
        serde.loads_typed(("pickle+aesgcm", blob))


def test_key_rotation_reads_old_blobs_and_writes_with_the_new_key() -> None:
    old_blob = DurastateSerializer(encryption_key=OTHER_KEY).dumps_typed(STATE)
    rotated = DurastateSerializer(encryption_key=KEY, previous_keys=[OTHER_KEY])
    assert rotated.loads_typed(old_blob) == STATE
    new_blob = rotated.dumps_typed(STATE)
    assert DurastateSerializer(encryption_key=KEY).loads_typed(new_blob) == STATE
    with pytest.raises(DeserializationError):
        DurastateSerializer(encryption_key=OTHER_KEY).loads_typed(new_blob)


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DURASTATE_AES_KEY", KEY.hex())
    serde = DurastateSerializer()
    type_, blob = serde.dumps_typed({"a": 1})
    assert type_ == "msgpack+aesgcm"
    assert DurastateSerializer(encryption_key=KEY).loads_typed((type_, blob)) == {"a": 1}


@pytest.mark.parametrize(
    "encoded",
    [
        KEY,
        KEY.hex(),
        KEY.hex().upper(),
        base64.b64encode(KEY).decode(),
        base64.urlsafe_b64encode(KEY).decode().rstrip("="),
        base64.b64encode(KEY),
    ],
)
def test_key_encodings(encoded: bytes | str) -> None:
    assert parse_key(encoded) == KEY


@pytest.mark.parametrize(
    "bad", [b"short", "not a key", KEY.hex()[:-2], base64.b64encode(b"x" * 16)]
)
def test_bad_keys_are_rejected_without_echoing_them(bad: bytes | str) -> None:
    with pytest.raises(InvalidInputError) as info:
        DurastateSerializer(encryption_key=bad)
    text = bad.decode() if isinstance(bad, bytes) else bad
    assert text not in str(info.value)


def test_bad_key_in_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DURASTATE_AES_KEY", "nope")
    with pytest.raises(InvalidInputError, match="DURASTATE_AES_KEY"):
        DurastateSerializer()


def test_unknown_layer_is_a_deserialization_error() -> None:
    with pytest.raises(DeserializationError, match="unknown layer 'rot13'"):
        DurastateSerializer().loads_typed(("msgpack+rot13", b"\x80"))


def test_decompression_is_bounded() -> None:
    bomb = zlib.compress(b"\x00" * 5_000_000)
    with pytest.raises(DeserializationError, match="max_inflate_size"):
        DurastateSerializer(max_inflate_size=1_000_000).loads_typed(("bytes+z", bomb))
    with pytest.raises(DeserializationError, match="corrupt compressed"):
        DurastateSerializer().loads_typed(("msgpack+z", bomb[:-5]))


class _XorCipher:
    name = "xor"

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        return self.name, bytes(b ^ 0x5A for b in plaintext)

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
        assert ciphername == self.name
        return bytes(b ^ 0x5A for b in ciphertext)


def test_custom_cipher_names_its_layer() -> None:
    serde = DurastateSerializer(cipher=_XorCipher(), compress_threshold=10)
    type_, blob = serde.dumps_typed(STATE)
    assert type_ == "msgpack+z+xor"
    assert serde.loads_typed((type_, blob)) == STATE
    with pytest.raises(InvalidInputError):
        DurastateSerializer(cipher=_XorCipher(), encryption_key=KEY)


# --- LangGraph's EncryptedSerializer.from_pycryptodome_aes ------------------------------

LG_KEY = "0123456789abcdef0123456789abcdef"
# Written by EncryptedSerializer.from_pycryptodome_aes(key=LG_KEY.encode()) with
# pycryptodome 3.23 from {"messages": [HumanMessage("hi", id="m1")], "n": 1}.
LG_BLOB = bytes.fromhex(
    "74d8cd37b341207a9b5b11cfa108b4fd300d8ceca5152c3d7e7e804b396e921d2e6cf06cf79af6bc48"
    "eb6fb53f5592a2c23730fec4e8f2c5e97c9acfa45179c75068c518a89ca94365b1202fecbe33510a1c"
    "5c97321406b2301aecdb7c1ca3ee855c5adbdbfd2467b4e45c52fa122f1bf04f788fb449fe2416998e"
    "caeb6063ff4635cf158ebf1d6171435e1d49834c95b376e732ccd070f92f9b249bbacaab09b3b96937"
    "4f71cb55e1ee52f398c1c0bf8138e02df0daa43379de"
)
LG_VALUE = {"messages": [HumanMessage("hi", id="m1")], "n": 1}


def test_reads_langgraph_aes_blobs_with_the_key_argument() -> None:
    serde = DurastateSerializer(langgraph_aes_key=LG_KEY)
    assert serde.loads_typed(("msgpack+aes", LG_BLOB)) == LG_VALUE


def test_reads_langgraph_aes_blobs_with_langgraphs_env_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(DeserializationError, match="LANGGRAPH_AES_KEY"):
        DurastateSerializer().loads_typed(("msgpack+aes", LG_BLOB))
    monkeypatch.setenv("LANGGRAPH_AES_KEY", LG_KEY)
    assert DurastateSerializer().loads_typed(("msgpack+aes", LG_BLOB)) == LG_VALUE


def test_tampered_langgraph_aes_blob_is_detected() -> None:
    bad = LG_BLOB[:-1] + bytes([LG_BLOB[-1] ^ 1])
    with pytest.raises(DeserializationError, match="authentication"):
        DurastateSerializer(langgraph_aes_key=LG_KEY).loads_typed(("msgpack+aes", bad))


def test_langgraph_cipher_writes_what_encrypted_serializer_reads() -> None:
    ours = DurastateSerializer(cipher=LangGraphAesCipher(LG_KEY))
    blob = ours.dumps_typed(LG_VALUE)
    assert blob[0] == "msgpack+aes"
    assert ours.loads_typed(blob) == LG_VALUE
    assert DurastateSerializer(langgraph_aes_key=LG_KEY).loads_typed(blob) == LG_VALUE


def test_official_encrypted_serializer_reads_our_langgraph_aes_blobs() -> None:
    pytest.importorskip("Crypto.Cipher.AES")  # the official reader needs pycryptodome
    blob = DurastateSerializer(cipher=LangGraphAesCipher(LG_KEY)).dumps_typed(LG_VALUE)
    official = EncryptedSerializer.from_pycryptodome_aes(JsonPlusSerializer(), key=LG_KEY.encode())
    assert official.loads_typed(blob) == LG_VALUE
