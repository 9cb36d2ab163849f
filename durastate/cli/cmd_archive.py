"""`durastate export SRC FILE` and `durastate import FILE DST`: the portable archive."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from durastate import __version__
from durastate.cli.cmd_copy import fail_on
from durastate.cli.embedding import index_config
from durastate.cli.failures import explain
from durastate.cli.opening import open_side
from durastate.cli.params import BACKEND_URL, SOURCE_URL
from durastate.cli.transfer_options import (
    copy_options,
    output_options,
    parse_selection,
    print_copy_report,
    print_verify_report,
    selection_options,
    transfer_options,
)
from durastate.connect import BackendURL
from durastate.migrate import CopyReport, copy_data, verify
from durastate.migrate.archive import ArchiveSource, export_archive, verify_archive

ARCHIVE_EPILOG = """\b
The archive is a gzip'd stream of length-prefixed msgpack records behind a
versioned header (format "durastate-archive", version 1); see README.md.
Channel values, metadata and pending writes are kept byte for byte; store
items keep their timestamps, TTL and vectors; cache entries come with --cache.
"""


@click.command("export", epilog=ARCHIVE_EPILOG)
@click.argument("source", type=SOURCE_URL)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@selection_options
@output_options
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@click.option(
    "--verify", "do_verify", is_flag=True, help="Read the archive back and compare with SOURCE."
)
def export_command(source: BackendURL, file: Path, force: bool, do_verify: bool, **kw: Any) -> None:
    """Write threads and store items of SOURCE into the archive FILE.

    The archive appears only when complete: an interrupted export leaves no file.
    """
    selection = parse_selection(kw)
    options = copy_options(selection, kw)
    if file.exists() and not force:
        raise click.UsageError(f"{file} exists; pass --force to overwrite it")
    if not file.parent.is_dir():
        raise click.UsageError(f"{file.parent} is not a directory")
    about = {
        "created_at": datetime.now(timezone.utc).isoformat(),
        "durastate_version": __version__,
        "source": source.masked,
        "serializer": "durastate",
    }
    with open_side(
        source,
        role="source",
        checkpoints=selection.checkpoints,
        store=selection.store,
        cache=selection.caches,
    ) as src:
        with explain(f"exporting {source.masked} to {file}"):
            written, notes = export_archive(src, file, options, about)
        checked = None
        if do_verify:
            with explain(f"verifying {file} against {source.masked}"):
                checked = verify_archive(src, ArchiveSource(file), options)
    if kw["as_json"]:
        out: dict[str, Any] = {
            "source": source.masked,
            "file": str(file),
            "export": written.as_dict(),
            "warnings": notes.warnings,
        }
        if checked is not None:
            out["verify"] = checked.as_dict()
        click.echo(json.dumps(out))
    else:
        click.echo(f"{source.masked} -> {file}")
        click.echo(
            f"  {written.threads} threads, {written.checkpoints} checkpoints"
            f" ({written.writes} pending writes), {written.items} store items,"
            f" {written.cache_entries} cache entries,"
            f" {written.bytes} bytes"
        )
        for warning in notes.warnings:
            click.echo(f"warning: {warning}", err=True)
        if checked is not None:
            print_verify_report(checked)
    fail_on(CopyReport(), checked)


@click.command("import", epilog=ARCHIVE_EPILOG)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.argument("destination", type=BACKEND_URL)
@transfer_options
@click.option(
    "--verify", "do_verify", is_flag=True, help="Compare the destination with the archive."
)
def import_command(file: Path, destination: BackendURL, do_verify: bool, **kw: Any) -> None:
    """Load the archive FILE into DESTINATION (safe to repeat, like `durastate copy`)."""
    selection = parse_selection(kw)
    index = index_config(kw)
    options = copy_options(selection, kw)
    if options.reembed and index is None:
        raise click.UsageError("--reembed needs --embed (the destination's embedder)")
    archive = ArchiveSource(file)
    with open_side(
        destination,
        role="destination",
        checkpoints=selection.checkpoints,
        store=selection.store,
        cache=selection.caches,
        index=index,
    ) as dst:
        with explain(f"importing {file} into {destination.masked}"):
            report = copy_data(archive, dst, options)
        checked = None
        if do_verify:
            with explain(f"verifying {destination.masked} against {file}"):
                checked = verify(archive, dst, options, *report.left_alone())
    if kw["as_json"]:
        out: dict[str, Any] = {
            "file": str(file),
            "destination": destination.masked,
            "archive": {k: archive.header.get(k) for k in ("version", "created_at", "source")},
            "copy": report.as_dict(),
        }
        if checked is not None:
            out["verify"] = checked.as_dict()
        click.echo(json.dumps(out))
    else:
        print_copy_report(report, f"{file} -> {destination.masked}")
        if checked is not None:
            print_verify_report(checked)
    fail_on(report, checked)
