"""Run the demo's phases: start (stops at approval), resume (in a new process), report."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, Literal

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StateSnapshot

from durastate.connect import Backends, open_backends, parse_url
from durastate.demo.graph import DemoContext, DemoState, build_graph
from durastate.demo.memories import (
    REPORT_QUERY,
    USER_ID,
    forget_all,
    memory_namespace,
    seed,
    store_index,
)
from durastate.demo.model import REQUEST
from durastate.demo.narrate import (
    approval_question,
    history_lines,
    line,
    memory_lines,
    narrate,
    pending_approvals,
)
from durastate.demo.tools import APPROVE, FORECAST_CACHE_NAMESPACE
from durastate.errors import DurastateError

DEFAULT_URL = "sqlite:///durastate-demo.db"
DEFAULT_THREAD = "demo"
URL_ENV = "DURASTATE_DEMO_URL"
"""Children get the URL from this variable, so a password never shows in a process list."""

Stage = Literal["new", "waiting", "finished", "running"]
Out = Callable[[str], None]
Graph = CompiledStateGraph[DemoState, DemoContext, DemoState, DemoState]


class DemoError(DurastateError):
    """A demo phase cannot run in the thread's current state."""


@contextmanager
def demo_backends(url: str) -> Iterator[tuple[Graph, Backends]]:
    """The backends at ``url`` (schemas set up) and the demo graph compiled on them."""
    with ExitStack() as stack:
        try:
            backends = stack.enter_context(open_backends(url, index=store_index(), setup=True))
        except DurastateError:
            raise
        except Exception as exc:
            where = parse_url(url).masked
            raise DemoError(f"cannot open {where}: {type(exc).__name__}: {exc}") from exc
        yield build_graph(*backends), backends


def thread_config(thread: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread}}


def stage_of(snapshot: StateSnapshot) -> Stage:
    if snapshot.metadata is None:
        return "new"
    if snapshot.interrupts:
        return "waiting"
    return "running" if snapshot.next else "finished"


def _step(snapshot: StateSnapshot) -> Any:
    return (snapshot.metadata or {}).get("step", "?")


def _describe(snapshot: StateSnapshot) -> str:
    stage = stage_of(snapshot)
    if stage == "waiting":
        return f"paused at step {_step(snapshot)} waiting for approval"
    if stage == "finished":
        return f"finished at step {_step(snapshot)}"
    if stage == "running":
        return f"stopped at step {_step(snapshot)} before {', '.join(snapshot.next)}"
    return "not started"


def _stream(graph: Graph, payload: Any, thread: str, out: Out) -> StateSnapshot:
    config = thread_config(thread)
    for chunk in graph.stream(payload, config, context=DemoContext(), stream_mode="updates"):
        for text in narrate(chunk):
            out(text)
    return graph.get_state(config)


def start(graph: Graph, backends: Backends, thread: str, fresh: bool, out: Out) -> None:
    """Phase 1: seed memories, send the request, stop at the approval interrupt."""
    snapshot = graph.get_state(thread_config(thread))
    if fresh:
        backends.checkpointer.delete_thread(thread)
        forgotten = forget_all(backends.store)
        backends.cache.clear([FORECAST_CACHE_NAMESPACE])
        out(line("fresh", f"deleted thread {thread!r}, {forgotten} memories, cached forecasts"))
    elif stage_of(snapshot) != "new":
        raise DemoError(
            f"thread {thread!r} already exists ({_describe(snapshot)}); pass --fresh to start"
            " over, --thread NAME for another thread, or use --phase resume / --phase report"
        )
    added = seed(backends.store)
    if added:
        out(line("memory", f"stored {added} memories of user {USER_ID!r} (embedded offline)"))
    out(line("user", REQUEST))
    after = _stream(graph, {"messages": [HumanMessage(REQUEST)]}, thread, out)
    out(line("saved", f"thread {thread!r} is {_describe(after)}; this process exits now"))


def resume(graph: Graph, thread: str, out: Out) -> None:
    """Phase 2: load the paused thread, approve with ``Command(resume=...)``, finish."""
    snapshot = graph.get_state(thread_config(thread))
    if stage_of(snapshot) != "waiting":
        raise DemoError(
            f"thread {thread!r} has no pending approval ({_describe(snapshot)});"
            " run --phase start first (with --fresh to start over)"
        )
    questions = "; ".join(approval_question(v) for v in pending_approvals(snapshot))
    out(line("loaded", f"thread {thread!r}, {_describe(snapshot)}: {questions}"))
    out(line("approve", f"Command(resume={APPROVE!r})"))
    after = _stream(graph, Command(resume=APPROVE), thread, out)
    out(line("done", f"thread {thread!r} {_describe(after)}"))


def report(graph: Graph, backends: Backends, thread: str, out: Out) -> None:
    """Print the thread's checkpoint history and what the store remembers."""
    config = thread_config(thread)
    if stage_of(graph.get_state(config)) == "new":
        raise DemoError(f"thread {thread!r} has no checkpoints; run `durastate demo` first")
    out(f"  history of thread {thread!r} (newest first):")
    for text in history_lines(graph.get_state_history(config)):
        out(text)
    hits = backends.store.search(memory_namespace(), query=REPORT_QUERY, limit=3)
    out(f"  memories of {USER_ID!r} best matching {REPORT_QUERY!r}:")
    for text in memory_lines(hits):
        out(text)


_TITLES = {"start": "phase 1 of 2: start", "resume": "phase 2 of 2: resume"}


def header(title: str, url: str, thread: str) -> str:
    return f"== {title} (process {os.getpid()}, {parse_url(url).masked}, thread {thread!r})"


def run_phase(phase: str, url: str, thread: str, fresh: bool, out: Out) -> None:
    """Run one phase by itself (``durastate demo --phase ...``)."""
    if parse_url(url).engine == "memory":
        raise DemoError(
            "memory:// keeps nothing after the process exits, so phases cannot run by hand;"
            " run `durastate demo --url memory://` to run them all in one process"
        )
    out(header(_TITLES.get(phase, phase), url, thread))
    with demo_backends(url) as (graph, backends):
        if phase == "start":
            start(graph, backends, thread, fresh, out)
        elif phase == "resume":
            resume(graph, thread, out)
        elif phase == "report":
            report(graph, backends, thread, out)
        else:
            raise ValueError(f"unknown demo phase {phase!r}")


def _child(phase: str, url: str, thread: str, fresh: bool) -> None:
    command = [sys.executable, "-m", "durastate.cli", "demo", "--phase", phase, "--thread", thread]
    if fresh:
        command.append("--fresh")
    sys.stdout.flush()
    sys.stderr.flush()
    done = subprocess.run(command, env={**os.environ, URL_ENV: url}, check=False)  # noqa: S603
    if done.returncode != 0:
        raise DemoError(f"phase {phase!r} failed (its process exited with {done.returncode})")


def run_all(url: str, thread: str, fresh: bool, out: Out) -> None:
    """The whole story: start in one process, resume in another, then report here."""
    if parse_url(url).engine == "memory":
        out("  note: memory:// keeps nothing once a process exits, so all phases run in this")
        out("  process here; the default sqlite:///durastate-demo.db shows a new process resume.")
        with demo_backends(url) as (graph, backends):
            out(header(_TITLES["start"], url, thread))
            start(graph, backends, thread, fresh, out)
            out(header(_TITLES["resume"], url, thread))
            resume(graph, thread, out)
            out(header("report", url, thread))
            report(graph, backends, thread, out)
        return
    with demo_backends(url) as (graph, _):
        snapshot = graph.get_state(thread_config(thread))
    stage = stage_of(snapshot)
    if fresh or stage == "new":
        _child("start", url, thread, fresh)
        _child("resume", url, thread, False)
    elif stage == "waiting":
        out(f"  thread {thread!r} waits for approval since an earlier run; resuming it")
        _child("resume", url, thread, False)
    elif stage == "finished":
        out(f"  thread {thread!r} finished in an earlier run (pass --fresh to run it again)")
    else:
        raise DemoError(f"thread {thread!r} is {_describe(snapshot)}; pass --fresh to start over")
    out(header("report", url, thread))
    with demo_backends(url) as (graph, backends):
        report(graph, backends, thread, out)
