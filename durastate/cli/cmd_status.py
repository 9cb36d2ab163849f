"""`durastate status URL`: schema versions, counts, activity and bytes of a backend."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from durastate.cli.cmd_setup import schema_version
from durastate.cli.failures import explain
from durastate.cli.inventory import cache_counts, checkpointer_counts, storage_bytes, store_counts
from durastate.cli.opening import available, check_source_exists
from durastate.cli.params import BACKEND_URL
from durastate.connect import PARTS, BackendURL, open_part

_COUNTERS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "checkpointer": checkpointer_counts,
    "store": store_counts,
    "cache": cache_counts,
}

_UNKNOWN: dict[str, dict[str, Any]] = {
    "checkpointer": dict.fromkeys(("threads", "checkpoints", "pending_writes", "oldest", "newest")),
    "store": dict.fromkeys(("items", "vectors", "oldest", "newest")),
    "cache": {"entries": None},
}
"""The counts of a part this installation has no class for."""


@click.command(
    epilog="""\b
Counts come from reading every checkpoint and item through the public APIs, so
they take a while on a large backend. A count the engine cannot tell is null
(JSON) or "unknown" (text), as is every count of a part this installation has no
class for on the engine. No data is changed (an engine may create its empty
tables on first use).
"""
)
@click.argument("url", type=BACKEND_URL, envvar="DURASTATE_URL")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(url: BackendURL, as_json: bool) -> None:
    """Show what a backend holds: threads, checkpoints, writes, items, cache entries."""
    check_source_exists(url)
    parts: dict[str, Any] = {}
    for part in PARTS:
        if not available(url, part):
            parts[part] = {"class": None, "schema_version": None, **_UNKNOWN[part]}
            continue
        with explain(f"reading the {part} at {url.masked}"):
            with open_part(url, part) as obj:
                parts[part] = {
                    "class": type(obj).__name__,
                    "schema_version": schema_version(obj),
                    **_COUNTERS[part](obj),
                }
    result = {"url": url.masked, "engine": url.engine, "bytes": storage_bytes(url), **parts}
    if as_json:
        click.echo(json.dumps(result))
        return
    show = _show
    click.echo(f"{url.masked} ({url.engine}), {show(result['bytes'])} bytes")
    cp, st, ca = parts["checkpointer"], parts["store"], parts["cache"]
    click.echo(
        f"  checkpointer  {show(cp['threads'])} threads, {show(cp['checkpoints'])} checkpoints,"
        f" {show(cp['pending_writes'])} pending writes; schema {show(cp['schema_version'])};"
        f" activity {show(cp['oldest'])} .. {show(cp['newest'])}"
    )
    click.echo(
        f"  store         {show(st['items'])} items, {show(st['vectors'])} vectors;"
        f" schema {show(st['schema_version'])};"
        f" updated {show(st['oldest'])} .. {show(st['newest'])}"
    )
    click.echo(
        f"  cache         {show(ca['entries'])} entries; schema {show(ca['schema_version'])}"
    )


def _show(value: Any) -> str:
    return "unknown" if value is None else str(value)
