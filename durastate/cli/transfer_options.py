"""Options shared by the data commands (selection, conflicts, output) and their reports."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from durastate.cli.embedding import index_options
from durastate.cli.params import DURATION
from durastate.migrate import CopyOptions, CopyReport, Selection, VerifyReport
from durastate.migrate.options import CONFLICT_POLICIES
from durastate.store.base import check_namespace

F = TypeVar("F", bound=Callable[..., Any])
KINDS = ("checkpoints", "store")


def selection_options(fn: F) -> F:
    """--thread, --namespace and --only."""
    for option in reversed(
        (
            click.option(
                "--thread",
                "thread_ids",
                multiple=True,
                metavar="ID",
                help="Only this thread (repeatable); default: every thread.",
            ),
            click.option(
                "--namespace",
                "namespaces",
                multiple=True,
                metavar="PREFIX",
                help="Only store items under this namespace prefix, labels joined by '.'"
                " (e.g. users.alice; repeatable); default: every item.",
            ),
            click.option(
                "--newer-than",
                "newer_than",
                type=DURATION,
                metavar="DURATION",
                help="Only threads active, and items updated, within this long (e.g. 30d, 12h).",
            ),
            click.option(
                "--cache",
                "caches",
                is_flag=True,
                help="Also node-cache entries (off by default: a cache can be rebuilt).",
            ),
            click.option(
                "--only",
                "kinds",
                type=click.Choice(KINDS),
                multiple=True,
                help="Only checkpoints (threads) or only store items; default: both.",
            ),
        )
    ):
        fn = option(fn)
    return fn


def output_options(fn: F) -> F:
    """--quiet and --json."""
    fn = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")(fn)
    return click.option(
        "--quiet", "-q", is_flag=True, help="No progress bar (it is off when not a terminal)."
    )(fn)


def transfer_options(fn: F) -> F:
    """Selection, output, and --on-conflict / --batch-size / --reembed."""
    fn = click.option(
        "--reembed",
        is_flag=True,
        help="Embed the items written with --embed instead of copying their vectors"
        " (items the destination already holds identically are left as they are).",
    )(fn)
    fn = index_options(fn)
    fn = click.option(
        "--batch-size",
        type=click.IntRange(min=1),
        default=200,
        show_default=True,
        help="Store items read and written per batch.",
    )(fn)
    fn = click.option(
        "--on-conflict",
        type=click.Choice(CONFLICT_POLICIES),
        default="error",
        show_default=True,
        help="A destination thread or item holding different data: refuse it (error),"
        " leave it (skip) or overwrite it (replace).",
    )(fn)
    return output_options(selection_options(fn))


def parse_namespace(text: str) -> tuple[str, ...]:
    labels = tuple(text.split(".")) if text else ()
    try:
        return check_namespace(labels, allow_empty=True)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--namespace'") from None


def parse_selection(kw: dict[str, Any]) -> Selection:
    kinds = set(kw.pop("kinds", ()) or KINDS)
    thread_ids = tuple(kw.pop("thread_ids", ()))
    if any(not t for t in thread_ids):
        raise click.BadParameter("must not be empty", param_hint="'--thread'")
    namespaces = tuple(parse_namespace(n) for n in kw.pop("namespaces", ()))
    caches = bool(kw.pop("caches", False))
    newer_than = kw.pop("newer_than", None)
    since = None if newer_than is None else time.time() - newer_than
    return Selection(
        thread_ids, namespaces, "checkpoints" in kinds, "store" in kinds, caches, since
    )


def copy_options(selection: Selection, kw: dict[str, Any]) -> CopyOptions:
    return CopyOptions(
        selection=selection,
        on_conflict=kw.get("on_conflict", "error"),
        batch_size=kw.get("batch_size", 200),
        reembed=kw.get("reembed", False),
        progress=not kw.get("quiet", False) and not kw.get("as_json", False),
    )


def print_copy_report(report: CopyReport, title: str) -> None:
    echo = click.echo
    echo(title)
    echo(
        f"  threads      {report.threads_copied} copied, {report.threads_completed} completed,"
        f" {report.threads_unchanged} already there, {report.threads_replaced} replaced,"
        f" {report.threads_skipped} skipped, {report.thread_conflicts} refused"
    )
    echo(
        f"  checkpoints  {report.checkpoints_written} written"
        f" (with {report.writes_written} pending writes)"
    )
    echo(
        f"  store items  {report.items_copied} copied, {report.items_unchanged} already there,"
        f" {report.items_replaced} replaced, {report.items_skipped} skipped,"
        f" {report.item_conflicts} refused"
    )
    if report.cache_entries_copied:
        echo(f"  cache        {report.cache_entries_copied} entries copied")
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)


def print_verify_report(checked: VerifyReport) -> None:
    state = "OK" if checked.ok else "FAILED"
    click.echo(
        f"verify {state}: {checked.threads} threads, {checked.checkpoints} checkpoints,"
        f" {checked.writes} pending writes, {checked.items} store items compared"
    )
    click.echo(f"  source digest       {checked.source_digest}")
    click.echo(f"  destination digest  {checked.destination_digest}")
    if checked.excluded_threads or checked.excluded_items:
        click.echo(
            f"  left different on purpose: {checked.excluded_threads} threads,"
            f" {checked.excluded_items} items"
        )
    for tid in checked.mismatched_threads:
        click.echo(f"  differs: thread {tid!r}")
    for ns, key in checked.mismatched_items:
        click.echo(f"  differs: item {'.'.join(ns)}/{key}")
