"""`durastate demo`: the agent demo, all phases or one phase at a time."""

from __future__ import annotations

import click

from durastate.cli.params import BACKEND_URL
from durastate.connect import BackendURL

PHASES = ("start", "resume", "report")


@click.command(
    epilog="""\b
Without --phase: phase 1 runs in one process and stops at the approval interrupt,
phase 2 runs in a new process, approves and finishes, then the report prints the
thread's history and the memories the store found by semantic search. Running it
again continues where the thread is (or only reports); --fresh starts over.
"""
)
@click.option(
    "--url",
    type=BACKEND_URL,
    default="sqlite:///durastate-demo.db",
    show_default=True,
    envvar="DURASTATE_DEMO_URL",
    show_envvar=True,
    help="Backend for checkpoints, memories and the cache.",
)
@click.option("--thread", default="demo", show_default=True, help="Thread id to use.")
@click.option(
    "--fresh",
    is_flag=True,
    help="Start over: delete the thread, the demo's memories and its cached forecasts.",
)
@click.option(
    "--phase",
    type=click.Choice(PHASES),
    help="Run one phase in this process: start (stops at approval), resume, or report.",
)
def demo(url: BackendURL, thread: str, fresh: bool, phase: str | None) -> None:
    """Run an LLM-free agent graph that persists across processes."""
    from durastate.demo.runner import run_all, run_phase

    if not thread:
        raise click.BadParameter("must not be empty", param_hint="'--thread'")
    if phase is not None and fresh and phase != "start":
        raise click.UsageError("--fresh only applies to --phase start (or to the full run)")
    if phase is not None and url.engine == "memory":
        raise click.UsageError(
            "memory:// keeps nothing after the process exits, so phases cannot run by hand;"
            " run `durastate demo --url memory://` to run all phases in one process"
        )
    if phase is None:
        run_all(url.raw, thread, fresh, click.echo)
    else:
        run_phase(phase, url.raw, thread, fresh, click.echo)
