"""The one serializer every durastate backend uses: LangGraph-compatible, safe by default."""

from durastate.serde._ciphers import AesGcmKeyring, LangGraphAesCipher, parse_key
from durastate.serde._errors import UnserializableValueError, serialization_error_with_prefix
from durastate.serde._raw import UnrevivedValue
from durastate.serde.serializer import (
    DurastateSerializer,
    apply_allowlist,
    default_serializer,
)

__all__ = [
    "AesGcmKeyring",
    "DurastateSerializer",
    "LangGraphAesCipher",
    "UnrevivedValue",
    "UnserializableValueError",
    "apply_allowlist",
    "default_serializer",
    "parse_key",
    "serialization_error_with_prefix",
]
