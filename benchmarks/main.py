"""Command line of the benchmarks: pick engines and size, run, write the results folder."""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from benchmarks import report
from benchmarks.engines import MODULES, load
from benchmarks.harness import SIZES, Outcome, Shared, run_engine

HERE = Path(__file__).resolve().parent


def machine_slug(info: dict[str, object]) -> str:
    cpu = re.sub(r"\(.*?\)|processor|cpu|\d+-core", "", str(info["cpu"]), flags=re.I)
    words = [w for w in re.split(r"[^a-z0-9]+", cpu.lower()) if w][:3]
    return "-".join([*words, f"{info['cores']}c", f"{round(float(str(info['ram_gb'])))}g"])


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="benchmarks/run",
        description="durastate side by side with the official LangGraph backends.",
    )
    p.add_argument("--quick", action="store_true", help="3 repetitions, fewer calls (~2 min)")
    p.add_argument("--sizes", choices=sorted(SIZES), help=argparse.SUPPRESS)
    p.add_argument(
        "--engines",
        default=",".join(MODULES),
        help=f"comma-separated, from {', '.join(MODULES)} (default: all; a row needs both sides)",
    )
    p.add_argument("--only", help="comma-separated workload names (graph_loop, saver_ops, ...)")
    p.add_argument("--reps", type=int, help="override the number of repetitions")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SIZE=N",
        help="override one size, e.g. --set store_items=100000 (see harness.Sizes)",
    )
    p.add_argument("--out", type=Path, help="results folder (default: results/<date>-<machine>)")
    p.add_argument("--note", action="append", default=[], help="a note kept with the results")
    p.add_argument("--no-chart", action="store_true", help="skip the PNG (no matplotlib needed)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    mode = args.sizes or ("quick" if args.quick else "full")
    sizes = SIZES[mode]
    overrides: dict[str, int] = {"reps": args.reps} if args.reps else {}
    for item in args.set:
        key, _, value = item.partition("=")
        if key not in asdict(sizes) or not value.isdigit():
            raise SystemExit(f"--set {item!r}: expected one of {', '.join(asdict(sizes))}=N")
        overrides[key] = int(value)
    if overrides:
        sizes = type(sizes)(**{**asdict(sizes), **overrides})
    info = report.machine_info()
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    suffix = "" if mode == "full" else f"-{mode}"
    outdir = args.out or HERE / "results" / f"{today}-{machine_slug(info)}{suffix}"
    workroot = Path(tempfile.mkdtemp(prefix="durastate-bench-"))
    shared = Shared(sizes)
    outcome = Outcome()
    only = set(args.only.split(",")) if args.only else None
    notes = list(args.note)
    started = time.perf_counter()
    for name in [e.strip() for e in args.engines.split(",") if e.strip()]:
        engine = load(name)
        print(f"{name}:", flush=True)
        notes += [f"{name}: {n}" for n in engine.notes]
        for impl in ("durastate", "official"):
            side = engine.side(impl)
            if isinstance(side, str):
                print(f"  {impl} unavailable: {side}")
        run_engine(engine, sizes, shared, workroot, outcome, only, log=_log)
    outcome.seconds = time.perf_counter() - started
    shutil.rmtree(workroot, ignore_errors=True)
    meta = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "mode": mode,
        "command": "benchmarks/run " + " ".join(argv if argv is not None else sys.argv[1:]),
        "reps": sizes.reps,
        "sizes": asdict(sizes),
        "machine": info,
        "notes": notes,
    }
    files = report.write(outdir, meta, outcome, draw=not args.no_chart)
    print(f"done in {outcome.seconds:.0f}s: " + ", ".join(str(p) for p in files.values()))
    return 0


def _log(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
