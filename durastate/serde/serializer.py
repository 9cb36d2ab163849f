"""DurastateSerializer: the safe, LangGraph-compatible serializer every backend uses."""

from __future__ import annotations

import contextlib
import copy
import functools
import logging
import os
import pickle
from collections.abc import Collection, Iterable
from typing import Any, Final

from langgraph.checkpoint.serde import _msgpack as _lg_msgpack
from langgraph.checkpoint.serde.base import CipherProtocol, SerializerProtocol
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from durastate.errors import DeserializationError, InvalidInputError, SerializationError
from durastate.serde._ciphers import (
    DURASTATE_KEY_ENV,
    LANGGRAPH_KEY_ENV,
    AesGcmKeyring,
    LangGraphAesCipher,
    key_from_env,
    parse_key,
)
from durastate.serde._decode import Decoder
from durastate.serde._encode import locate_failure, pack
from durastate.serde._envelope import Envelope, is_encrypted
from durastate.serde._errors import serialization_error_with_prefix
from durastate.serde._revive import Reviver, TypeKey, normalize_allowlist

logger = logging.getLogger(__name__)

AllowlistEntry = tuple[str, ...] | type


class _FromEnv:
    def __repr__(self) -> str:
        return "<from LANGGRAPH_STRICT_MSGPACK>"


FROM_ENV: Final = _FromEnv()
_EMPTY: Final = b""
_PICKLE_REFUSED = (
    "blob was written with pickle, and loading pickle can run arbitrary code, so it is "
    "off by default; pass pickle_fallback=True only if you trust everyone who can write "
    "to this database"
)


def _langgraph_strict() -> bool:
    return bool(getattr(_lg_msgpack, "STRICT_MSGPACK_ENABLED", False))


class DurastateSerializer(JsonPlusSerializer):
    """LangGraph's ``SerializerProtocol`` on ormsgpack, safe by default.

    **Compatible.** The ``"msgpack"`` format is LangGraph's own: blobs written
    here read in ``JsonPlusSerializer`` and the reverse, byte for byte for the
    types LangGraph stores. The official savers' other type strings
    (``"null"``, ``"bytes"``, ``"bytearray"``, ``"json"``) are read too. The
    class subclasses ``JsonPlusSerializer`` only so that LangGraph's own
    ``BaseCheckpointSaver.with_allowlist`` (used when
    ``LANGGRAPH_STRICT_MSGPACK=true``) recognises it; none of its loading code
    is used.

    **Safe.** Loading never imports a module and never calls a function or
    method named by the stored bytes. It rebuilds only data types:

    - known value types: ``datetime``/``date``/``time``/``timedelta``/
      ``timezone``, ``UUID``, ``Decimal``, ``set``/``frozenset``/``deque``,
      ``ipaddress`` types, ``pathlib`` paths, ``ZoneInfo``, compiled regexes,
      numpy arrays, LangChain messages and ``Document``, and LangGraph's
      ``Send``, ``Interrupt``, ``Command``, ``Overwrite``, ``Item``, ... (durastate
      imports these from its own fixed list, whatever the data says);
    - application classes that are pydantic models, dataclasses, named tuples
      or enums, found in ``sys.modules`` (so only if the application already
      imported their module).

    Anything else comes back as an :class:`UnrevivedValue` that keeps the stored
    module, name and arguments and says why (``os.system``, ``builtins.eval``,
    a method call, a class whose module is not imported, ...). Writing an
    ``UnrevivedValue`` back stores the original encoding unchanged.

    **Strict mode.** ``allowlist=[(module, name), SomeClass, ...]`` (or
    :meth:`with_msgpack_allowlist`) limits application classes to that list;
    known types stay allowed. With ``LANGGRAPH_STRICT_MSGPACK=true`` and no
    ``allowlist`` argument the serializer starts strict with an empty list,
    which LangGraph fills from the graph's schemas when it compiles.
    ``allowlist=None`` turns strict mode off regardless of the environment.

    **Pickle** is written and read only with ``pickle_fallback=True``; a
    ``"pickle"`` blob read without it raises ``DeserializationError``.

    **Errors.** A value that cannot be serialized raises
    ``SerializationError`` naming its place, e.g. ``['messages'] -> [3] ->
    'artifact': cannot serialize object of type Foo``; see
    :meth:`dumps_typed_at`. Corrupt, truncated or tampered bytes raise
    ``DeserializationError`` and nothing else.

    **Compression and encryption** are recorded per blob in the type string,
    one ``+layer`` per step in the order applied: ``"msgpack"``,
    ``"msgpack+z"`` (zlib), ``"msgpack+aesgcm"``, ``"msgpack+z+aesgcm"``; the
    same applies to ``bytes``, ``bytearray`` and ``pickle`` blobs (``null`` is
    never wrapped). Any reader with the key reads any mix, whatever its own
    write settings.

    - ``compress_threshold=N`` compresses blobs longer than N bytes (kept only
      if smaller), at zlib ``compress_level`` (default 1: about three times faster
      than 6 on checkpoint-sized blobs for a slightly larger result);
      ``max_inflate_size`` bounds what a compressed blob may expand to.
    - ``encryption_key`` enables AES-256-GCM (needs the ``crypto`` extra). The
      key is 32 raw bytes, or text holding 64 hex digits or the base64
      (standard or URL-safe) of 32 bytes. Without the argument the key is read
      from ``DURASTATE_AES_KEY`` (text, as above). ``previous_keys`` are tried
      when reading, for key rotation. The inner type string is authenticated,
      so tampering with either blob or type string is detected.
    - Values a saver or cache stores are bound to their place (``+at``, under the
      encryption layer: the channel and version, the write, the checkpoint or the
      cache entry), so two valid ciphertexts swapped or moved are refused.
    - ``require_encryption=True`` refuses to read any value that is not encrypted
      (and encrypts ``None`` too), so someone who can write to the database but has
      no key cannot put a plaintext value in place of an encrypted one.
    - ``cipher`` takes any LangGraph ``CipherProtocol`` instead; its name
      becomes the layer name. ``cipher=LangGraphAesCipher(key)`` writes blobs
      the official ``EncryptedSerializer.from_pycryptodome_aes`` reads.
    - ``"+aes"`` blobs written by that official serializer are read with
      ``langgraph_aes_key`` or, without it, ``LANGGRAPH_AES_KEY`` (the same
      16/24/32-character text LangGraph uses); pycryptodome is not needed.
    """

    def __init__(
        self,
        *,
        allowlist: Iterable[AllowlistEntry] | _FromEnv | None = FROM_ENV,
        pickle_fallback: bool = False,
        compress_threshold: int | None = None,
        compress_level: int = 1,
        encryption_key: bytes | str | None = None,
        previous_keys: Iterable[bytes | str] = (),
        cipher: CipherProtocol | None = None,
        langgraph_aes_key: bytes | str | None = None,
        max_inflate_size: int = 1 << 30,
        require_encryption: bool = False,
    ) -> None:
        super().__init__(pickle_fallback=pickle_fallback, allowed_msgpack_modules=None)
        if isinstance(allowlist, _FromEnv):
            resolved: frozenset[TypeKey] | None = frozenset() if _langgraph_strict() else None
        elif allowlist is None:
            resolved = None
        else:
            resolved = normalize_allowlist(allowlist)
        self._set_revival(Reviver(resolved))

        old_keys = [parse_key(k, source="previous_keys") for k in previous_keys]
        write_key = parse_key(encryption_key) if encryption_key is not None else None
        if write_key is None and cipher is None:
            write_key = key_from_env()
        keyring: AesGcmKeyring | None = None
        if write_key is not None:
            keyring = AesGcmKeyring(write_key, old_keys)
        elif old_keys:  # reading only: blobs written before a switch to another cipher
            keyring = AesGcmKeyring(old_keys[0], old_keys[1:])
        self._envelope = Envelope(
            compress_threshold=compress_threshold,
            compress_level=compress_level,
            keyring=keyring,
            encrypt=write_key is not None,
            cipher=cipher,
            langgraph_cipher=(
                LangGraphAesCipher(langgraph_aes_key) if langgraph_aes_key is not None else None
            ),
            max_inflate_size=max_inflate_size,
        )
        self._encrypts = write_key is not None
        self._plain = self._envelope.writes_plain
        if require_encryption and not (self._encrypts or cipher is not None):
            raise InvalidInputError(
                "require_encryption=True needs encryption_key= (or DURASTATE_AES_KEY) or cipher="
            )
        self._require_encryption = bool(require_encryption)

    def _set_revival(self, reviver: Reviver) -> None:
        self._revival = reviver
        self._decoder = Decoder(reviver)

    # --- introspection ---------------------------------------------------------------

    @property
    def allowlist(self) -> frozenset[tuple[str, str]] | None:
        """The strict-mode allowlist of application classes, or None when not strict."""
        return self._revival.allowlist

    @property
    def strict(self) -> bool:
        """True when application classes are limited to :attr:`allowlist`."""
        return self._revival.allowlist is not None

    def __repr__(self) -> str:
        options = [f"strict={self.strict}"]
        if self.pickle_fallback:
            options.append("pickle_fallback=True")
        if self._envelope.compress_threshold is not None:
            options.append(f"compress_threshold={self._envelope.compress_threshold}")
        if self._encrypts:
            options.append("encrypted=True")
        elif self._envelope.cipher is not None:
            options.append(f"cipher={type(self._envelope.cipher).__name__}")
        if self._require_encryption:
            options.append("require_encryption=True")
        return f"DurastateSerializer({', '.join(options)})"

    # --- writing ---------------------------------------------------------------------

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        """Serialize ``obj`` to ``(type string, bytes)``.

        Raises ``SerializationError`` naming the path of the first value that
        cannot be serialized.
        """
        return self.dumps_bound(obj, None)

    def dumps_bound(self, obj: Any, place: str | None) -> tuple[str, bytes]:
        """``dumps_typed``, and when encrypting, the ciphertext names ``place`` (where it
        is stored: a channel at a version, a write, an entry), so ``loads_bound`` with
        another place refuses it: encrypted values cannot be moved or swapped unnoticed."""
        if obj is None and self._require_encryption:
            return self._envelope.seal("msgpack", pack(None), place)
        if obj is None:
            return "null", _EMPTY
        if isinstance(obj, bytes):
            type_, data = "bytes", obj if type(obj) is bytes else bytes(obj)
        elif isinstance(obj, bytearray):
            type_, data = "bytearray", bytes(obj)
        else:
            try:
                type_, data = "msgpack", pack(obj)
            except Exception as exc:
                type_, data = self._fallback(obj, exc)
        if self._plain:
            return type_, data
        return self._envelope.seal(type_, data, place)

    def _fallback(self, obj: Any, exc: Exception) -> tuple[str, bytes]:
        if self.pickle_fallback:
            with contextlib.suppress(Exception):  # else report the msgpack failure
                return "pickle", pickle.dumps(obj)
        raise locate_failure(obj) from exc

    def dumps_typed_at(self, obj: Any, label: str) -> tuple[str, bytes]:
        """Like :meth:`dumps_typed`, with ``label`` leading any error message.

        ``dumps_typed_at(value, "channel 'messages'")`` fails with
        ``channel 'messages' -> [3] -> 'artifact': cannot serialize object of type Foo``.
        """
        try:
            return self.dumps_typed(obj)
        except SerializationError as err:
            raise serialization_error_with_prefix(err, label) from err.__cause__

    # --- reading ---------------------------------------------------------------------

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        """Deserialize a ``(type string, bytes)`` pair written by this class or LangGraph's.

        Raises ``DeserializationError`` (and nothing else) for corrupt,
        tampered or unreadable blobs.
        """
        return self.loads_bound(data, None)

    def loads_bound(self, data: tuple[str, bytes], place: str | None) -> Any:
        """``loads_typed``, refusing a bound value stored for another ``place``."""
        try:
            type_, blob = data
        except (TypeError, ValueError):
            raise DeserializationError("expected a (type, bytes) pair") from None
        if self._require_encryption and not is_encrypted(type_):
            raise DeserializationError(
                f"a value of type {type_!r} is not encrypted, and this serializer requires "
                "encryption (require_encryption=True): refused"
            )
        if type_ == "msgpack":
            return self._decoder.unpack(blob)
        if not isinstance(type_, str):
            raise DeserializationError(f"type must be a string, got {type(type_).__name__}")
        if not isinstance(blob, (bytes, bytearray, memoryview)):
            raise DeserializationError(f"blob must be bytes, got {type(blob).__name__}")
        if "+" in type_:
            try:
                type_, blob = self._envelope.open(type_, bytes(blob), place)
            except DeserializationError:
                raise
            except Exception as exc:
                raise DeserializationError(
                    f"could not unwrap blob of type {type_!r}: {type(exc).__name__}: {exc}"
                ) from exc
        if type_ == "msgpack":
            return self._decoder.unpack(blob)
        if type_ == "null":
            return None
        if type_ == "bytes":
            return bytes(blob)
        if type_ == "bytearray":
            return bytearray(blob)
        if type_ == "json":
            return self._decoder.load_json(bytes(blob))
        if type_ == "pickle":
            if not self.pickle_fallback:
                raise DeserializationError(_PICKLE_REFUSED)
            try:
                return pickle.loads(blob)  # noqa: S301 - explicitly enabled by the caller
            except Exception as exc:
                raise DeserializationError(f"corrupt pickle blob: {exc}") from exc
        raise DeserializationError(f"unknown serialization type {type_!r}")

    # --- strict mode -----------------------------------------------------------------

    def with_msgpack_allowlist(
        self, extra_allowlist: Iterable[tuple[str, ...] | type]
    ) -> DurastateSerializer:
        """A new serializer in strict mode whose allowlist adds ``extra_allowlist``.

        ``self`` is unchanged. Returns ``self`` when it is already strict and
        the list adds nothing (so LangGraph keeps the saver it has).
        """
        extra = normalize_allowlist(extra_allowlist)
        current = self._revival.allowlist
        merged = (current or frozenset()) | extra
        if current is not None and merged == current:
            return self
        clone = copy.copy(self)
        clone._set_revival(Reviver(merged))
        return clone


def apply_allowlist(
    serde: SerializerProtocol, extra: Collection[tuple[str, ...] | type]
) -> SerializerProtocol:
    """Return ``serde`` restricted to ``extra`` in strict mode, for a saver's ``with_allowlist``.

    Handles :class:`DurastateSerializer` and LangGraph's ``JsonPlusSerializer``,
    also inside an ``EncryptedSerializer``. Any other serializer is returned
    unchanged, with a warning that strict mode cannot be enforced for it.
    """
    if isinstance(serde, JsonPlusSerializer):
        return serde.with_msgpack_allowlist(extra)
    if isinstance(serde, EncryptedSerializer) and isinstance(serde.serde, JsonPlusSerializer):
        inner = serde.serde.with_msgpack_allowlist(extra)
        return serde if inner is serde.serde else EncryptedSerializer(serde.cipher, inner)
    logger.warning(
        "Serializer %s has no msgpack allowlist; strict deserialization is not enforced.",
        type(serde).__name__,
    )
    return serde


@functools.lru_cache(maxsize=8)
def _default_for(
    strict: bool, durastate_key: str | None, langgraph_key: str | None
) -> DurastateSerializer:
    return DurastateSerializer()


def default_serializer() -> DurastateSerializer:
    """The shared serializer for the current environment (strict flag and key variables).

    Instances are immutable in use, so backends share one instead of building
    their own; a change of ``DURASTATE_AES_KEY``, ``LANGGRAPH_AES_KEY`` or
    LangGraph's strict flag yields a new one.
    """
    return _default_for(
        _langgraph_strict(), os.environ.get(DURASTATE_KEY_ENV), os.environ.get(LANGGRAPH_KEY_ENV)
    )
