"""Profile one workload on one side with pyinstrument: where durastate spends its time.

.venv/bin/python -m benchmarks.profile sqlite saver_ops sync [durastate|official]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks.engines import load
from benchmarks.harness import SIZES, RunContext, Shared, workloads


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    p.add_argument("engine")
    p.add_argument("workload")
    p.add_argument("mode", choices=("sync", "async"))
    p.add_argument("impl", nargs="?", default="durastate", choices=("durastate", "official"))
    p.add_argument("--sizes", default="quick", choices=sorted(SIZES))
    p.add_argument("--all", action="store_true", help="show library frames too")
    p.add_argument("--html", type=Path, help="also write pyinstrument's HTML report here")
    args = p.parse_args()
    from pyinstrument import Profiler

    wl = next(w for w in workloads() if (w.name, w.mode) == (args.workload, args.mode))
    side = load(args.engine).side(args.impl)
    if isinstance(side, str):
        raise SystemExit(side)
    sizes = SIZES[args.sizes]
    shared = Shared(sizes)
    ctx = RunContext(side, Path(tempfile.mkdtemp()), sizes, shared, wl.mode)
    wl.run(ctx)  # warm: build the shared inputs outside the profile
    ctx.workdir = Path(tempfile.mkdtemp())
    profiler = Profiler(interval=0.0005, async_mode="enabled")
    profiler.start()
    result = wl.run(ctx)
    profiler.stop()
    print(result)
    print(profiler.output_text(unicode=False, color=False, show_all=args.all))
    if args.html:
        args.html.write_text(profiler.output_html())


if __name__ == "__main__":
    main()
