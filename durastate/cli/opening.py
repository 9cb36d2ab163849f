"""Opening a backend URL as the source or destination of a data command."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import click

from durastate.cli.failures import CommandFailed, explain
from durastate.connect import BackendURL, open_part
from durastate.migrate import BackendSide


def check_source_exists(url: BackendURL) -> None:
    """A SQLite source must be an existing file (opening would create an empty one)."""
    if url.engine != "sqlite" or url.target == ":memory:" or url.target.startswith("sqlite:"):
        return
    if not os.path.isfile(url.target):
        raise CommandFailed(f"source {url.masked}: no such SQLite file {url.target!r}")


@contextmanager
def open_side(
    url: BackendURL, *, role: str, checkpoints: bool = True, store: bool = True
) -> Iterator[BackendSide]:
    """The URL's checkpointer and store (sync classes); a destination is set up first."""
    writing = role == "destination"
    if not writing:
        check_source_exists(url)
    if url.engine == "memory" and not writing:
        click.echo(f"note: {url.masked} as a {role} holds nothing", err=True)
    with ExitStack() as stack:
        parts: dict[str, Any] = {}
        for part, wanted in (("checkpointer", checkpoints), ("store", store)):
            if not wanted:
                parts[part] = None
                continue
            with explain(f"opening the {role} {part} at {url.masked}"):
                parts[part] = stack.enter_context(open_part(url, part, setup=writing))  # type: ignore[arg-type]
        yield BackendSide(parts["checkpointer"], parts["store"])
