"""`durastate prune URL` and `durastate sweep URL`: retention and expiry, now."""

from __future__ import annotations

import json
import time
from typing import Any

import click

from durastate.checkpoint import InMemorySaver
from durastate.cli.failures import CommandFailed, explain
from durastate.cli.opening import check_source_exists
from durastate.cli.params import BACKEND_URL, DURATION
from durastate.connect import PARTS, BackendURL, open_part
from durastate.migrate.checkpoints import copy_thread
from durastate.migrate.threads import (
    checkpoint_keys,
    iter_checkpoints,
    last_activity,
    thread_ids,
)


def _count(saver: Any, thread_id: str) -> int:
    return len(checkpoint_keys(saver, thread_id))


def _after_prune(saver: Any, thread_id: str, strategy: str, keep: int, dry_run: bool) -> int:
    """Prune the thread (or, dry run, a copy of it in memory); answers what is left."""
    target = saver
    if dry_run:
        target = InMemorySaver()
        copy_thread(target, thread_id, lambda: iter_checkpoints(saver, thread_id), "error")
    target.prune([thread_id], strategy=strategy, keep=keep)
    return _count(target, thread_id)


@click.command(
    epilog="""\b
Keeps the newest N checkpoints of every namespace of each thread (checkpoints
that newer ones still need are kept too); --delete removes the threads.
--older-than leaves threads with a recent checkpoint alone (with --delete: drop
threads idle that long). --dry-run counts what would go, by pruning a copy in memory.
"""
)
@click.argument("url", type=BACKEND_URL, envvar="DURASTATE_URL")
@click.option("--keep", type=click.IntRange(min=1), help="Checkpoints to keep per namespace.")
@click.option("--keep-latest", is_flag=True, help="Keep only the latest (same as --keep 1).")
@click.option("--delete", "delete_all", is_flag=True, help="Delete the selected threads.")
@click.option("--thread", "threads", multiple=True, metavar="ID", help="Only this thread.")
@click.option(
    "--older-than",
    type=DURATION,
    metavar="DURATION",
    help="Only threads with no checkpoint this recent (e.g. 30d, 12h).",
)
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def prune(
    url: BackendURL,
    keep: int | None,
    keep_latest: bool,
    delete_all: bool,
    threads: tuple[str, ...],
    older_than: float | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Delete old checkpoints of every thread (or of --thread ones)."""
    if [keep is not None, keep_latest, delete_all].count(True) != 1:
        raise click.UsageError("give exactly one of --keep N, --keep-latest or --delete")
    strategy = "delete" if delete_all else "keep_latest"
    kept = keep if keep is not None else 1
    check_source_exists(url)
    rows: list[dict[str, Any]] = []
    with explain(f"pruning {url.masked}"), open_part(url, "checkpointer") as saver:
        if not callable(getattr(saver, "prune", None)):
            raise CommandFailed(f"{type(saver).__name__} cannot prune checkpoints")
        cutoff = None if older_than is None else time.time() - older_than
        for tid in threads or list(thread_ids(saver)):
            if cutoff is not None:
                when = last_activity(saver, tid)
                if when is None or when >= cutoff:
                    continue
            before = _count(saver, tid)
            after = _after_prune(saver, tid, strategy, kept, dry_run) if before else 0
            rows.append({"thread_id": tid, "before": before, "deleted": before - after})
    deleted = sum(r["deleted"] for r in rows)
    if as_json:
        out = {"url": url.masked, "dry_run": dry_run, "deleted": deleted, "threads": rows}
        click.echo(json.dumps(out))
        return
    verb = "would delete" if dry_run else "deleted"
    for row in rows:
        click.echo(f"  {row['thread_id']}: {row['before']} checkpoints, {verb} {row['deleted']}")
    click.echo(f"{url.masked}: {verb} {deleted} checkpoints in {len(rows)} threads")


@click.command(epilog="Removes now what the TTL sweepers would remove later; safe to run any time.")
@click.argument("url", type=BACKEND_URL, envvar="DURASTATE_URL")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def sweep(url: BackendURL, as_json: bool) -> None:
    """Delete expired threads, store items and cache entries now."""
    check_source_exists(url)
    removed: dict[str, int | None] = {}
    for part in PARTS:
        with explain(f"sweeping the {part} at {url.masked}"), open_part(url, part) as obj:
            sweeper = getattr(obj, "sweep_ttl", None)
            removed[part] = int(sweeper()) if callable(sweeper) else None
    if as_json:
        click.echo(json.dumps({"url": url.masked, "removed": removed}))
        return
    names = {"checkpointer": "expired threads", "store": "expired items", "cache": "entries"}
    shown = ", ".join(f"{'unsupported' if n is None else n} {names[p]}" for p, n in removed.items())
    click.echo(f"{url.masked}: removed {shown}")
