"""durastate: persistence for LangGraph on memory, SQLite, PostgreSQL and Redis."""

from durastate.errors import (
    BackendUnavailableError,
    DeserializationError,
    DurastateError,
    InvalidInputError,
    SchemaVersionError,
    SerializationError,
)

__version__ = "0.1.0"

__all__ = [
    "BackendUnavailableError",
    "DeserializationError",
    "DurastateError",
    "InvalidInputError",
    "SchemaVersionError",
    "SerializationError",
    "__version__",
]
