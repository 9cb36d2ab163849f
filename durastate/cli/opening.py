"""Opening a backend URL as the source or destination of a data command."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any

import click

from durastate.cli.failures import CommandFailed, explain
from durastate.cli.reachability import check_reachable
from durastate.connect import BackendURL, Part, PartOptions, backend_class, open_part
from durastate.migrate import BackendSide
from durastate.migrate.official import OfficialURL, open_official


def check_source_exists(url: BackendURL, role: str = "") -> None:
    """A SQLite source must be an existing file (opening would create an empty one);
    a server must answer now (not after a pool's 30 s wait)."""
    check_reachable(url, role)
    if url.engine != "sqlite" or url.target == ":memory:" or url.target.startswith("sqlite:"):
        return
    if not os.path.isfile(url.target):
        raise CommandFailed(f"source {url.masked}: no such SQLite file {url.target!r}")


def available(url: BackendURL, part: Part) -> bool:
    """Whether this installation has a class for ``part`` on the URL's engine."""
    package = "checkpoint" if part == "checkpointer" else part
    try:
        backend_class(url.engine, part)
    except ModuleNotFoundError as exc:
        if exc.name == f"durastate.{package}.{url.engine}":
            return False
        raise
    return True


def require(url: BackendURL, part: Part, role: str) -> None:
    if not available(url, part):
        other = "store" if part == "checkpointer" else "checkpoints"
        raise CommandFailed(
            f"the {role} {url.masked}: this durastate has no {part} for {url.engine} yet;"
            f" pass --only {other} to move the rest"
        )


@contextmanager
def open_side(
    url: BackendURL,
    *,
    role: str,
    checkpoints: bool = True,
    store: bool = True,
    cache: bool = False,
    index: Mapping[str, Any] | None = None,
) -> Iterator[BackendSide]:
    """The URL's checkpointer, store and cache (sync classes); a destination is set up first."""
    writing = role == "destination"
    if writing:
        check_reachable(url, role)
    else:
        check_source_exists(url, role)
    if isinstance(url, OfficialURL):
        with ExitStack() as official:
            with explain(f"opening the official LangGraph backend at {url.masked}"):
                side = official.enter_context(open_official(url))
            side.saver = side.saver if checkpoints else None
            side.store = side.store if store else None
            yield side
        return
    if url.engine == "memory" and not writing:
        click.echo(f"note: {url.masked} as a {role} holds nothing", err=True)
    with ExitStack() as stack:
        parts: dict[str, Any] = {}
        choices: tuple[tuple[Part, bool], ...] = (
            ("checkpointer", checkpoints),
            ("store", store),
            ("cache", cache),
        )
        for part, wanted in choices:
            if not wanted:
                parts[part] = None
                continue
            require(url, part, role)
            with explain(f"opening the {role} {part} at {url.masked}"):
                options = PartOptions(index=index) if part == "store" else None
                parts[part] = stack.enter_context(open_part(url, part, options, setup=writing))
        yield BackendSide(parts["checkpointer"], parts["store"], parts["cache"])
