"""`durastate copy SRC DST`: threads and store items from one backend into another."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from durastate.cli.embedding import index_config
from durastate.cli.failures import CommandFailed, explain
from durastate.cli.opening import open_side
from durastate.cli.params import BACKEND_URL, SOURCE_URL
from durastate.cli.transfer_options import (
    copy_options,
    parse_selection,
    print_copy_report,
    print_verify_report,
    transfer_options,
)
from durastate.connect import BackendURL
from durastate.migrate import copy_data, verify


@click.command(
    epilog="""\b
Every checkpoint of every namespace is copied with its id, parent, metadata and
pending writes, so history, time travel and interrupted runs resume on the
destination. Store items keep created_at, updated_at, TTL and vectors (re-used
when the destination's index has the same dimensions). Node-cache entries
are copied with --cache (keeping their expiry).
Re-running is safe: what the destination already holds identically is skipped,
and a copy interrupted midway is completed. A destination thread or item holding
different data is refused (exit status 1) unless --on-conflict says otherwise.
"""
)
@click.argument("source", type=SOURCE_URL)
@click.argument("destination", type=BACKEND_URL)
@transfer_options
@click.option(
    "--verify", "do_verify", is_flag=True, help="Compare counts and content hashes at the end."
)
def copy(source: BackendURL, destination: BackendURL, do_verify: bool, **kw: Any) -> None:
    """Copy threads (all checkpoints) and store items from SOURCE to DESTINATION."""
    selection = parse_selection(kw)
    index = index_config(kw)
    options = copy_options(selection, kw)
    if options.reembed and index is None:
        raise click.UsageError("--reembed needs --embed (the destination's embedder)")
    if same_backend(source, destination):
        raise click.UsageError("SOURCE and DESTINATION are the same backend")
    with (
        open_side(
            source,
            role="source",
            checkpoints=selection.checkpoints,
            store=selection.store,
            cache=selection.caches,
        ) as src,
        open_side(
            destination,
            role="destination",
            checkpoints=selection.checkpoints,
            store=selection.store,
            cache=selection.caches,
            index=index,
        ) as dst,
    ):
        with explain(f"copying from {source.masked} to {destination.masked}"):
            report = copy_data(src, dst, options)
        checked = None
        if do_verify:
            with explain(f"verifying {destination.masked} against {source.masked}"):
                checked = verify(src, dst, options, *report.left_alone())
    if kw["as_json"]:
        out: dict[str, Any] = {
            "source": source.masked,
            "destination": destination.masked,
            "copy": report.as_dict(),
        }
        if checked is not None:
            out["verify"] = checked.as_dict()
        click.echo(json.dumps(out))
    else:
        print_copy_report(report, f"{source.masked} -> {destination.masked}")
        if checked is not None:
            print_verify_report(checked)
    fail_on(report, checked)


def same_backend(a: BackendURL, b: BackendURL) -> bool:
    """Whether two URLs name one backend (SQLite: one file, however the path is written)."""
    if a.engine == "memory" or type(a) is not type(b):
        return False
    if a.engine == b.engine == "sqlite" and ":memory:" not in (a.target, b.target):
        return os.path.realpath(a.target) == os.path.realpath(b.target)
    return a.raw == b.raw


def fail_on(report: Any, checked: Any) -> None:
    """Exit status 1 when the copy refused conflicts or the verification found differences."""
    if report.conflicts:
        names = ", ".join(repr(t) for t in report.conflicting_threads[:5])
        items = ", ".join(f"{'.'.join(ns)}/{key}" for ns, key in report.conflicting_items[:5])
        parts = []
        if report.thread_conflicts:
            parts.append(f"{report.thread_conflicts} thread(s) ({names})")
        if report.item_conflicts:
            parts.append(f"{report.item_conflicts} store item(s) ({items})")
        raise CommandFailed(
            f"the destination holds different data for {' and '.join(parts)}; they were left "
            "untouched (use --on-conflict=replace to overwrite them or --on-conflict=skip)"
        )
    if checked is not None and not checked.ok:
        raise CommandFailed(
            f"verification failed: {checked.thread_mismatches} thread(s) and "
            f"{checked.item_mismatches} item(s) differ between source and destination"
        )
