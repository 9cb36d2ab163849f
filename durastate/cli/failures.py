"""Failures the commands report: what was being done, where, and the underlying error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from durastate.errors import DurastateError


class CommandFailed(DurastateError):
    """A command could not finish; the message says what it was doing and why."""


@contextmanager
def explain(doing: str) -> Iterator[None]:
    """Re-raise any error (other than durastate's own) prefixed with what was being done."""
    try:
        yield
    except DurastateError:
        raise
    except Exception as exc:
        raise CommandFailed(f"{doing}: {type(exc).__name__}: {exc}") from exc
