"""AES ciphers for blobs: AES-256-GCM of durastate and LangGraph's AES-EAX format."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterable
from typing import Any

from durastate.errors import DeserializationError, InvalidInputError

DURASTATE_KEY_ENV = "DURASTATE_AES_KEY"
LANGGRAPH_KEY_ENV = "LANGGRAPH_AES_KEY"

_NONCE = 12
_EAX_NONCE = 16
_EAX_TAG = 16


def _need_cryptography() -> Any:
    try:
        from cryptography.hazmat.primitives.ciphers import aead
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise InvalidInputError(
            "encryption needs the 'cryptography' package: pip install 'durastate[crypto]'"
        ) from None
    return aead


def parse_key(value: bytes | str, *, source: str = "encryption_key") -> bytes:
    """A 32-byte AES-256 key from raw bytes, 64 hex digits or base64 (standard or URL-safe).

    ``source`` names where the key came from, for the error message (which
    never repeats the key).
    """
    if isinstance(value, (bytes, bytearray)):
        if len(value) == 32:
            return bytes(value)
        try:
            value = bytes(value).decode("ascii")
        except UnicodeDecodeError:
            raise InvalidInputError(
                f"{source}: a raw key must be exactly 32 bytes, got {len(value)}"
            ) from None
    text = value.strip()
    key: bytes | None = None
    if len(text) == 64:
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = None
    if key is None:
        padded = text + "=" * (-len(text) % 4)
        try:
            key = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            key = None
    if key is None or len(key) != 32:
        raise InvalidInputError(
            f"{source}: expected 32 raw bytes, 64 hex digits or the base64 of 32 bytes"
        )
    return key


def key_from_env() -> bytes | None:
    """The key in ``DURASTATE_AES_KEY``, if set."""
    raw = os.environ.get(DURASTATE_KEY_ENV)
    if not raw:
        return None
    return parse_key(raw, source=DURASTATE_KEY_ENV)


class AesGcmKeyring:
    """AES-256-GCM with one key for writing and any number of older keys for reading.

    A sealed blob is ``nonce (12 bytes) || ciphertext || tag (16 bytes)``; the
    blob's inner type string is authenticated as associated data, so a stored
    type string cannot be swapped without detection.
    """

    name = "aesgcm"

    def __init__(self, key: bytes, previous: Iterable[bytes] = ()) -> None:
        aead = _need_cryptography()
        self._primary = aead.AESGCM(key)
        self._all = [self._primary, *(aead.AESGCM(k) for k in previous)]

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + bytes(self._primary.encrypt(nonce, plaintext, aad))

    def decrypt(self, blob: bytes, aad: bytes) -> bytes:
        from cryptography.exceptions import InvalidTag

        if len(blob) < _NONCE + 16:
            raise DeserializationError("encrypted blob is truncated")
        nonce, body = blob[:_NONCE], blob[_NONCE:]
        for cipher in self._all:
            try:
                return bytes(cipher.decrypt(nonce, body, aad))
            except InvalidTag:
                continue
        raise DeserializationError(
            "encrypted blob failed authentication: it was altered, or written with a key "
            "this serializer does not have"
        )


class LangGraphAesCipher:
    """LangGraph's ``EncryptedSerializer.from_pycryptodome_aes`` format, without pycryptodome.

    AES in EAX mode (16-byte nonce and tag, no header), stored as
    ``nonce || tag || ciphertext`` under the cipher name ``"aes"``. The key is
    16, 24 or 32 raw bytes; LangGraph reads it from ``LANGGRAPH_AES_KEY`` as
    the UTF-8 bytes of the variable's text. Implements LangGraph's
    ``CipherProtocol``, so it can also be passed as ``cipher=`` to write blobs
    the official ``EncryptedSerializer`` reads.
    """

    name = "aes"

    def __init__(self, key: bytes | str) -> None:
        raw = key.encode() if isinstance(key, str) else bytes(key)
        if len(raw) not in (16, 24, 32):
            raise InvalidInputError("a LangGraph AES key must be 16, 24 or 32 bytes long")
        _need_cryptography()
        self._key = raw

    @classmethod
    def from_env(cls) -> LangGraphAesCipher | None:
        raw = os.environ.get(LANGGRAPH_KEY_ENV)
        return cls(raw) if raw else None

    def _omac(self, tweak: int, data: bytes) -> bytes:
        from cryptography.hazmat.primitives.ciphers import algorithms
        from cryptography.hazmat.primitives.cmac import CMAC

        mac = CMAC(algorithms.AES(self._key))
        mac.update(bytes(15) + bytes([tweak]) + data)
        return mac.finalize()

    def _ctr(self, counter: bytes, data: bytes) -> bytes:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        ctx = Cipher(algorithms.AES(self._key), modes.CTR(counter)).encryptor()
        return ctx.update(data) + ctx.finalize()

    def _tag(self, n_mac: bytes, ciphertext: bytes) -> bytes:
        h_mac = self._omac(1, b"")
        c_mac = self._omac(2, ciphertext)
        return bytes(a ^ b ^ c for a, b, c in zip(n_mac, h_mac, c_mac, strict=True))

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(_EAX_NONCE)
        n_mac = self._omac(0, nonce)
        ciphertext = self._ctr(n_mac, plaintext)
        return self.name, nonce + self._tag(n_mac, ciphertext) + ciphertext

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
        import hmac

        if ciphername != self.name:
            raise DeserializationError(f"unsupported cipher {ciphername!r}")
        if len(ciphertext) < _EAX_NONCE + _EAX_TAG:
            raise DeserializationError("encrypted blob is truncated")
        nonce = ciphertext[:_EAX_NONCE]
        tag = ciphertext[_EAX_NONCE : _EAX_NONCE + _EAX_TAG]
        body = ciphertext[_EAX_NONCE + _EAX_TAG :]
        n_mac = self._omac(0, nonce)
        if not hmac.compare_digest(self._tag(n_mac, body), tag):
            raise DeserializationError(
                "encrypted blob failed authentication: it was altered, or written with another key"
            )
        return self._ctr(n_mac, body)
