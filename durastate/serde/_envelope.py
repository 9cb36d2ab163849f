"""Per-blob compression and encryption, recorded as suffixes of the blob's type string."""

from __future__ import annotations

import zlib

from langgraph.checkpoint.serde.base import CipherProtocol

from durastate.errors import DeserializationError, InvalidInputError
from durastate.serde._ciphers import AesGcmKeyring, LangGraphAesCipher

COMPRESSED = "z"
PLACED = "at"
"""A layer under encryption naming where the value was stored (a channel at a version, a
write, an entry): a ciphertext moved or swapped to another place is detected on read."""
ENCRYPTED = AesGcmKeyring.name
LANGGRAPH_ENCRYPTED = LangGraphAesCipher.name
_MAX_STEPS = 4


def _check_cipher_name(name: str) -> str:
    if not name or "+" in name or name in (COMPRESSED, ENCRYPTED, PLACED):
        raise InvalidInputError(
            f"cipher name {name!r} must be non-empty, contain no '+', and not be "
            f"{COMPRESSED!r}, {ENCRYPTED!r} or {PLACED!r}"
        )
    return name


def is_encrypted(type_: object) -> bool:
    """Whether a type string's outermost layer is a cipher (not plain, ``z`` or ``at``)."""
    if not isinstance(type_, str) or "+" not in type_:
        return False
    return type_.rsplit("+", 1)[1] not in (COMPRESSED, PLACED)


def _check_place(data: bytes, place: str | None) -> bytes:
    size = int.from_bytes(data[:4], "big") if len(data) >= 4 else -1
    if size < 0 or len(data) < 4 + size:
        raise DeserializationError("bound blob is truncated")
    stored = data[4 : 4 + size]
    if place is not None and stored != place.encode():
        shown = stored.decode(errors="replace").replace("\x00", " ")
        raise DeserializationError(
            f"blob was stored for {shown!r}, not for where it was read: it was moved or "
            "swapped (or the stored data was tampered with)"
        )
    return data[4 + size :]


class Envelope:
    """Wraps encoded bytes for storage and unwraps them, as the type string says.

    A type string is ``<format>`` followed by one ``+<step>`` per layer, in the
    order they were applied: ``+z`` (zlib), ``+aesgcm`` (durastate's AES-256-GCM)
    or the name of a custom cipher (``+aes`` is LangGraph's AES-EAX). Reading
    undoes the steps from the right, so any mix of blobs reads without flags.
    """

    __slots__ = (
        "cipher",
        "compress_level",
        "compress_threshold",
        "encrypt",
        "keyring",
        "langgraph_cipher",
        "max_inflate_size",
    )

    def __init__(
        self,
        *,
        compress_threshold: int | None,
        compress_level: int,
        keyring: AesGcmKeyring | None,
        encrypt: bool,
        cipher: CipherProtocol | None,
        langgraph_cipher: LangGraphAesCipher | None,
        max_inflate_size: int,
    ) -> None:
        if compress_threshold is not None and compress_threshold < 0:
            raise InvalidInputError("compress_threshold must be >= 0 or None")
        if not -1 <= compress_level <= 9:
            raise InvalidInputError("compress_level must be between -1 and 9")
        if encrypt and cipher is not None:
            raise InvalidInputError("pass either encryption_key or cipher, not both")
        if encrypt and keyring is None:
            raise InvalidInputError("encryption needs a key")
        self.compress_threshold = compress_threshold
        self.compress_level = compress_level
        self.keyring = keyring
        self.encrypt = encrypt
        self.cipher = cipher
        self.langgraph_cipher = langgraph_cipher
        self.max_inflate_size = max_inflate_size

    @property
    def writes_plain(self) -> bool:
        return self.compress_threshold is None and not self.encrypt and self.cipher is None

    def seal(self, type_: str, data: bytes, place: str | None = None) -> tuple[str, bytes]:
        threshold = self.compress_threshold
        if threshold is not None and len(data) > threshold:
            packed = zlib.compress(data, self.compress_level)
            if len(packed) < len(data):
                type_, data = f"{type_}+{COMPRESSED}", packed
        if place is not None and (self.encrypt or self.cipher is not None):
            where = place.encode()
            data = len(where).to_bytes(4, "big") + where + data
            type_ = f"{type_}+{PLACED}"
        if self.encrypt and self.keyring is not None:
            data = self.keyring.encrypt(data, type_.encode())
            type_ = f"{type_}+{ENCRYPTED}"
        elif self.cipher is not None:
            name, data = self.cipher.encrypt(data)
            type_ = f"{type_}+{_check_cipher_name(name)}"
        return type_, data

    def open(self, type_: str, data: bytes, place: str | None = None) -> tuple[str, bytes]:
        """Undo the layers; ``place``: where the value was read from, checked against the
        place a bound value names (None: not checked, e.g. a value read outside a saver)."""
        parts = type_.split("+")
        if len(parts) > _MAX_STEPS + 1:
            raise DeserializationError(f"type string {type_!r} has too many layers")
        while len(parts) > 1:
            step = parts.pop()
            inner = "+".join(parts)
            if step == COMPRESSED:
                data = self._inflate(data)
            elif step == PLACED:
                data = _check_place(data, place)
            elif step == ENCRYPTED:
                if self.keyring is None:
                    raise DeserializationError(
                        "blob is encrypted with AES-256-GCM and needs a key: pass "
                        "encryption_key= (or previous_keys=) or set DURASTATE_AES_KEY"
                    )
                data = self.keyring.decrypt(data, inner.encode())
            elif step == LANGGRAPH_ENCRYPTED and self.langgraph_cipher is not None:
                data = self.langgraph_cipher.decrypt(step, data)
            elif self.cipher is not None:
                data = self._custom_decrypt(self.cipher, step, data)
            elif step == LANGGRAPH_ENCRYPTED:
                cipher = LangGraphAesCipher.from_env()
                if cipher is None:
                    raise DeserializationError(
                        "blob is encrypted with LangGraph's AES cipher and needs its key: "
                        "pass langgraph_aes_key= or set LANGGRAPH_AES_KEY"
                    )
                data = cipher.decrypt(step, data)
            else:
                raise DeserializationError(
                    f"unknown layer {step!r} in type string {type_!r} (no cipher of that name)"
                )
        return parts[0], data

    @staticmethod
    def _custom_decrypt(cipher: CipherProtocol, step: str, data: bytes) -> bytes:
        try:
            return cipher.decrypt(step, data)
        except DeserializationError:
            raise
        except Exception as exc:
            raise DeserializationError(
                f"cipher {step!r} could not decrypt the blob: {type(exc).__name__}"
            ) from exc

    def _inflate(self, data: bytes) -> bytes:
        limit = self.max_inflate_size
        inflater = zlib.decompressobj()
        try:
            out = inflater.decompress(data, limit + 1)
        except (zlib.error, TypeError) as exc:
            raise DeserializationError(f"corrupt compressed blob: {exc}") from exc
        if len(out) > limit:
            raise DeserializationError(
                f"compressed blob inflates past max_inflate_size ({limit} bytes)"
            )
        if not inflater.eof or inflater.unused_data:
            raise DeserializationError("corrupt compressed blob: truncated or trailing bytes")
        return out
