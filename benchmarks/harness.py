"""Runs each workload on both implementations, alternated, and reduces to medians and ratios."""

from __future__ import annotations

import functools
import gc
import shutil
import statistics
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.engines import IMPLS, Engine, Side


@dataclass(frozen=True)
class Sizes:
    """How big each workload is; ``full`` follows the issue, ``quick`` trims repetitions."""

    reps: int = 5
    graph_threads: int = 20
    graph_turns: int = 3
    ops_threads: int = 20
    ops_turns: int = 2
    gets: int = 2000
    history_checkpoints: int = 500
    latency_calls: int = 30
    store_items: int = 5000
    store_namespaces: int = 50
    store_gets: int = 1000
    filtered_searches: int = 100
    semantic_searches: int = 100
    cache_entries: int = 5000
    storage_supersteps: int = 200
    every_async: bool = True  # False: async only for the graph loop and saver calls


SIZES = {
    "full": Sizes(),
    "quick": Sizes(
        reps=3,
        graph_turns=1,
        ops_turns=1,
        gets=500,
        latency_calls=8,
        store_gets=300,
        filtered_searches=40,
        semantic_searches=30,
        every_async=False,
    ),
    "tiny": Sizes(
        reps=1,
        graph_threads=2,
        graph_turns=1,
        ops_threads=2,
        ops_turns=1,
        gets=20,
        history_checkpoints=24,
        latency_calls=2,
        store_items=100,
        store_namespaces=5,
        store_gets=20,
        filtered_searches=5,
        semantic_searches=5,
        cache_entries=100,
        storage_supersteps=20,
    ),
}


class Shared:
    """Inputs built once per process and replayed identically on every implementation."""

    def __init__(self, sizes: Sizes) -> None:
        self.sizes = sizes

    @functools.cache  # noqa: B019 - one instance per run
    def ops_recording(self) -> Any:
        from benchmarks.workloads.data import record

        return record(self.sizes.ops_threads, self.sizes.ops_turns, "ops")

    @functools.cache  # noqa: B019
    def history_recording(self) -> Any:
        from benchmarks.workloads.data import (
            HISTORY_WINDOW,
            SUPERSTEPS_PER_INVOKE,
            record,
            truncate,
        )

        n = self.sizes.history_checkpoints
        turns = n // (SUPERSTEPS_PER_INVOKE + 1) + 1
        return truncate(record(1, turns, "history", HISTORY_WINDOW), n)

    @functools.cache  # noqa: B019
    def store_data(self) -> Any:
        from benchmarks.workloads.data import store_data

        sz = self.sizes
        data = store_data(sz.store_items, sz.store_namespaces, sz.semantic_searches)
        assert data.exact  # ground truth computed before any timing
        return data

    @functools.cache  # noqa: B019
    def cache_entries(self) -> Any:
        from benchmarks.workloads.data import cache_entries

        return cache_entries(self.sizes.cache_entries)


@dataclass
class RunContext:
    """What one timed run sees: its side (None: the no-checkpointer baseline)."""

    side: Side | None
    workdir: Path
    sizes: Sizes
    shared: Shared
    mode: str


@dataclass(frozen=True)
class Metric:
    key: str
    unit: str
    higher_is_better: bool


@dataclass(frozen=True)
class Workload:
    name: str
    mode: str
    needs: tuple[str, ...]  # the Side attributes it uses
    run: Callable[[RunContext], dict[str, float]]
    metrics: tuple[Metric, ...]
    baseline: bool = False  # also run without a checkpointer (graph loop overhead)
    reps: int | None = None  # fixed repetitions (deterministic results)
    minor_async: bool = False  # left out when Sizes.every_async is False


def workloads() -> list[Workload]:
    from benchmarks.workloads import checkpoint as cp
    from benchmarks.workloads import store as st

    loop = (Metric("supersteps_per_s", "1/s", True), Metric("overhead_ms", "ms", False))
    ops = (
        Metric("put_per_s", "1/s", True),
        Metric("put_writes_per_s", "1/s", True),
        Metric("get_tuple_per_s", "1/s", True),
    )
    hist = (
        Metric("get_state_ms", "ms", False),
        Metric("list10_ms", "ms", False),
        Metric("history_ms", "ms", False),
    )
    store = (
        Metric("put_items_per_s", "1/s", True),
        Metric("get_per_s", "1/s", True),
        Metric("filtered_search_per_s", "1/s", True),
        Metric("semantic_search_per_s", "1/s", True),
        Metric("recall_at_10", "", True),
        Metric("get_found", "", True),
    )
    cache = (Metric("set_per_s", "1/s", True), Metric("get_per_s", "1/s", True))
    return [
        Workload("graph_loop", "sync", ("saver",), cp.graph_loop_sync, loop, baseline=True),
        Workload("graph_loop", "async", ("asaver",), cp.graph_loop_async, loop, baseline=True),
        Workload("saver_ops", "sync", ("saver",), cp.saver_ops_sync, ops),
        Workload("saver_ops", "async", ("asaver",), cp.saver_ops_async, ops),
        Workload("history_500", "sync", ("saver",), cp.history_sync, hist),
        Workload("history_500", "async", ("asaver",), cp.history_async, hist, minor_async=True),
        Workload("store", "sync", ("store",), st.store_sync, store),
        Workload("store", "async", ("astore",), st.store_async, store, minor_async=True),
        Workload("cache", "sync", ("cache",), st.cache_sync, cache),
        Workload("cache", "async", ("acache",), st.cache_async, cache, minor_async=True),
        Workload(
            "storage_200",
            "sync",
            ("saver", "saver_bytes"),
            cp.storage_sync,
            (Metric("storage_mb", "MB", False),),
            reps=1,
        ),
    ]


# (engine or "*", workload, metric) -> (kind, value): "advantage" means the factor by
# which durastate must beat the official package; "min" an absolute floor for durastate.
TARGETS: dict[tuple[str, str, str], tuple[str, float]] = {
    ("sqlite", "graph_loop", "overhead_ms"): ("advantage", 2.0),
    ("postgres", "graph_loop", "overhead_ms"): ("advantage", 2.0),
    ("redis", "graph_loop", "overhead_ms"): ("advantage", 3.0),
    ("sqlite", "history_500", "get_state_ms"): ("advantage", 3.0),
    ("postgres", "history_500", "get_state_ms"): ("advantage", 3.0),
    ("redis", "history_500", "get_state_ms"): ("advantage", 10.0),
    ("sqlite", "saver_ops", "get_tuple_per_s"): ("advantage", 2.0),
    ("postgres", "saver_ops", "get_tuple_per_s"): ("advantage", 2.0),
    ("redis", "saver_ops", "get_tuple_per_s"): ("advantage", 5.0),
    ("*", "saver_ops", "put_per_s"): ("advantage", 2.0),
    ("memory", "store", "semantic_search_per_s"): ("advantage", 50.0),
    ("sqlite", "store", "semantic_search_per_s"): ("advantage", 5.0),
    ("postgres", "store", "semantic_search_per_s"): ("advantage", 2.0),
    ("redis", "store", "semantic_search_per_s"): ("advantage", 2.0),
    ("*", "store", "recall_at_10"): ("min", 0.95),
    ("*", "store", "get_found"): ("min", 1.0),
    ("postgres", "store", "put_items_per_s"): ("advantage", 10.0),
    ("sqlite", "storage_200", "storage_mb"): ("advantage", 3.0),
    ("redis", "storage_200", "storage_mb"): ("advantage", 3.0),
    ("postgres", "storage_200", "storage_mb"): ("advantage", 1.5),
}
# Everywhere else the target is "nowhere slower": an advantage of at least 1.


def target_for(engine: str, workload: str, metric: str) -> tuple[str, float]:
    for key in ((engine, workload, metric), ("*", workload, metric)):
        if key in TARGETS:
            return TARGETS[key]
    return ("advantage", 1.0)


@dataclass
class Row:
    engine: str
    workload: str
    mode: str
    metric: str
    unit: str
    higher_is_better: bool
    durastate: float
    official: float
    ratio: float  # durastate / official
    advantage: float  # > 1: durastate better
    target: str
    met: bool
    samples: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class Outcome:
    rows: list[Row] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": [asdict(r) for r in self.rows],
            "skipped": self.skipped,
            "seconds": round(self.seconds, 1),
        }


def _timed_run(
    wl: Workload, side: Side | None, sizes: Sizes, shared: Shared, workroot: Path
) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(dir=workroot))
    try:
        gc.collect()
        return wl.run(RunContext(side, workdir, sizes, shared, wl.mode))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _make_row(
    engine: str, wl: Workload, m: Metric, samples: dict[str, list[float]]
) -> Row:  # fmt: skip
    d = statistics.median(samples["durastate"])
    o = statistics.median(samples["official"])
    ratio = d / o if o else float("inf")
    advantage = (d / o if o else float("inf")) if m.higher_is_better else (o / d if d else 0.0)
    kind, value = target_for(engine, wl.name, m.key)
    if kind == "min":
        met, target = d >= value, f">= {value:g}"
    else:
        met, target = advantage >= value, f"{value:g}x"
    return Row(
        engine, wl.name, wl.mode, m.key, m.unit, m.higher_is_better,
        d, o, ratio, advantage, target, met, samples,
    )  # fmt: skip


def run_engine(
    engine: Engine,
    sizes: Sizes,
    shared: Shared,
    workroot: Path,
    outcome: Outcome,
    only: set[str] | None = None,
    log: Callable[[str], None] = print,
) -> None:
    """Every workload both sides can run, ``reps`` times, rotating which goes first."""
    for wl in workloads():
        if only and wl.name not in only:
            continue
        if wl.minor_async and not sizes.every_async:
            outcome.skipped.append(
                {"engine": engine.name, "workload": wl.name, "mode": wl.mode,
                 "reason": "sync only in this run (quick mode or --set every_async=0)"}
            )  # fmt: skip
            continue
        sides: dict[str, Side] = {}
        why = []
        for impl in IMPLS:
            side = engine.side(impl)
            if isinstance(side, str):
                why.append(f"{impl}: {side}")
            elif missing := [n for n in wl.needs if getattr(side, n) is None]:
                why.append(f"{impl} has no {'/'.join(missing)} on {engine.name}")
            else:
                sides[impl] = side
        if why:
            reason = "; ".join(why)
            outcome.skipped.append(
                {"engine": engine.name, "workload": wl.name, "mode": wl.mode, "reason": reason}
            )
            log(f"  skip {engine.name}/{wl.name}/{wl.mode}: {reason}")
            continue
        impls: list[str] = list(IMPLS) + (["none"] if wl.baseline else [])
        samples: dict[str, dict[str, list[float]]] = {}
        started = time.perf_counter()
        failing = ""
        try:
            for rep in range(wl.reps or sizes.reps):
                order = impls[rep % len(impls) :] + impls[: rep % len(impls)]
                for impl in order:
                    failing = impl
                    res = _timed_run(wl, sides.get(impl), sizes, shared, workroot)
                    for key, value in res.items():
                        samples.setdefault(key, {}).setdefault(impl, []).append(value)
        except Exception as exc:
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            where = f"{Path(frame.filename).name}:{frame.lineno}"
            detail = f"{failing} failed at {where}: {type(exc).__name__}: {exc}".splitlines()[0]
            outcome.skipped.append(
                {
                    "engine": engine.name,
                    "workload": wl.name,
                    "mode": wl.mode,
                    "reason": detail[:300],
                }
            )
            log(f"  FAILED {engine.name}/{wl.name}/{wl.mode}: {detail}")
            continue
        if wl.baseline:
            _add_overhead(samples)
        for m in wl.metrics:
            row = _make_row(engine.name, wl, m, samples[m.key])
            outcome.rows.append(row)
        took = time.perf_counter() - started
        summary = ", ".join(
            f"{r.metric} {r.durastate:.4g}/{r.official:.4g}"
            for r in outcome.rows[-len(wl.metrics) :]
        )
        log(f"  {engine.name}/{wl.name}/{wl.mode} ({took:.1f}s): {summary}")


def _add_overhead(samples: dict[str, dict[str, list[float]]]) -> None:
    """Checkpointer overhead per superstep: each run's step time minus the median baseline."""
    sps = samples["supersteps_per_s"]
    base_ms = 1000 / statistics.median(sps.pop("none"))
    samples["overhead_ms"] = {
        impl: [max(1000 / v - base_ms, 1e-6) for v in values] for impl, values in sps.items()
    }
    samples["overhead_ms"]["no_checkpointer_ms_per_superstep"] = [base_ms]
