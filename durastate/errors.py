"""The exceptions durastate raises, so callers can catch them by meaning."""

from __future__ import annotations


class DurastateError(Exception):
    """Base class of every error durastate raises on purpose."""


class InvalidInputError(DurastateError, ValueError):
    """An argument was malformed; nothing stored was changed."""


class SerializationError(DurastateError, TypeError):
    """A value could not be serialized; the message names its path in the state."""

    def __init__(self, message: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.path = path


class DeserializationError(DurastateError, ValueError):
    """Stored bytes could not be decoded (corrupt, tampered, or an unknown format)."""


class SchemaVersionError(DurastateError):
    """The database schema is newer than this version of durastate understands."""


class BackendUnavailableError(DurastateError, ConnectionError):
    """A server could not be reached; the message never includes a password."""
