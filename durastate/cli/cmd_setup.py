"""`durastate setup URL`: create or upgrade the schemas of a backend, idempotently."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from durastate.cli.failures import explain
from durastate.cli.params import BACKEND_URL
from durastate.cli.reachability import check_reachable
from durastate.connect import PARTS, BackendURL, Part, PartOptions, backend_class, open_part
from durastate.store.vectors import DISTANCE_TYPES


def _no_embedding(texts: Sequence[str]) -> list[list[float]]:
    raise RuntimeError("durastate setup creates schemas only; it never embeds text")


def schema_version(obj: Any) -> int | None:
    """The schema version a backend object reports, or None if it does not expose one."""
    probe = getattr(obj, "schema_version", None)
    if callable(probe):
        probe = probe()
    return probe if isinstance(probe, int) and not isinstance(probe, bool) else None


@click.command(
    epilog="""\b
Running it again is safe: an up-to-date schema is left as it is.
URL query parameters: see `durastate --help` and durastate.connect.
"""
)
@click.argument("url", type=BACKEND_URL, envvar="DURASTATE_URL")
@click.option(
    "--only",
    "parts",
    type=click.Choice(PARTS),
    multiple=True,
    help="Set up only this part (repeatable); default: checkpointer, store and cache.",
)
@click.option(
    "--index-dims",
    type=click.IntRange(min=1),
    help="Also create the store's vector index for embeddings of this many dimensions.",
)
@click.option(
    "--distance",
    type=click.Choice(DISTANCE_TYPES),
    default="cosine",
    show_default=True,
    help="Distance of the vector index (with --index-dims).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def setup(
    url: BackendURL,
    parts: tuple[Part, ...],
    index_dims: int | None,
    distance: str,
    as_json: bool,
) -> None:
    """Create or upgrade a backend's schemas (safe to repeat).

    URL names the backend (see `durastate --help`); it may come from the environment
    variable DURASTATE_URL instead, which keeps a password out of the shell history.
    Prints each part's schema version before and after, where the engine reports one.
    """
    index = None
    if index_dims is not None:
        index = {"dims": index_dims, "embed": _no_embedding, "distance_type": distance}
    options = PartOptions(index=index)
    check_reachable(url)
    report = []
    if not as_json:
        click.echo(f"{url.masked} ({url.engine})")
    for part in parts or PARTS:
        cls = backend_class(url.engine, part)
        with explain(f"setting up the {part} ({cls.__name__}) at {url.masked}"):
            with open_part(url, part, options) as obj:
                before = schema_version(obj)
                if getattr(obj, "setup", None) is not None:
                    obj.setup()
                after = schema_version(obj)
        report.append(
            {
                "part": part,
                "class": cls.__name__,
                "schema_version_before": before,
                "schema_version_after": after,
            }
        )
        if not as_json:
            versions = (
                "nothing to set up (memory)"
                if url.engine == "memory"
                else f"schema version {_show(before)} -> {_show(after)}"
            )
            click.echo(f"  {part:<14}{cls.__name__:<20}{versions}")
    if as_json:
        click.echo(json.dumps({"url": url.masked, "engine": url.engine, "parts": report}))


def _show(version: int | None) -> str:
    return "unknown" if version is None else str(version)
