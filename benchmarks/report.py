"""Writes a run's results: JSON, a Markdown table, a PNG chart of the ratios, machine info."""

from __future__ import annotations

import json
import os
import platform
import socket
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.harness import Outcome, Row

PACKAGES = (
    "durastate",
    "langgraph",
    "langgraph-checkpoint",
    "langgraph-checkpoint-sqlite",
    "langgraph-checkpoint-postgres",
    "langgraph-checkpoint-redis",
    "redisvl",
    "aiosqlite",
    "psycopg",
    "redis",
    "numpy",
    "pysqlite3-binary",
)


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    import sqlite3

    return {
        "host": socket.gethostname(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": ram_gb,
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "packages": versions,
        "load_average_at_start": _load(),
    }


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def markdown(meta: dict[str, Any], outcome: Outcome) -> str:
    m = meta["machine"]
    lines = [
        f"# durastate vs official backends — {meta['date']} ({meta['mode']})",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, Python {m['python']}, "
        f"SQLite {m['sqlite']}, {m['os']}. Load average at start {m['load_average_at_start']}, "
        f"at end {meta.get('load_average_at_end')}.",
        "",
        "Packages: " + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v) + ".",
        "",
        f"Command: `{meta['command']}`; {meta['reps']} repetitions, implementations "
        "alternated, medians. *ratio* = durastate / official; *advantage* > 1 means "
        "durastate is better (faster, smaller).",
        "",
    ]
    if meta.get("notes"):
        lines += [*(f"- {n}" for n in meta["notes"]), ""]
    lines += [
        "| engine | workload | mode | metric | durastate | official | ratio | advantage "
        "| target | met |",
        "|---|---|---|---|---:|---:|---:|---:|---|---|",
    ]
    for r in outcome.rows:
        unit = f" ({r.unit})" if r.unit else ""
        lines.append(
            f"| {r.engine} | {r.workload} | {r.mode} | {r.metric}{unit} | {_fmt(r.durastate)} "
            f"| {_fmt(r.official)} | {r.ratio:.3g} | {r.advantage:.3g}x | {r.target} "
            f"| {'yes' if r.met else '**no**'} |"
        )
    if outcome.skipped:
        lines += ["", "Not measured:", ""]
        lines += [
            f"- {s['engine']} / {s['workload']} / {s['mode']}: {s['reason']}"
            for s in outcome.skipped
        ]
    lines.append("")
    return "\n".join(lines)


def chart(rows: list[Row], path: Path, title: str) -> bool:
    """One panel per engine, a bar per row: durastate's advantage on a log axis.

    Answers False (no file) when matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows = [r for r in rows if r.metric not in ("recall_at_10", "get_found")]
    engines = list(dict.fromkeys(r.engine for r in rows))
    if not engines:
        return False
    cols = min(2, len(engines))
    nrows = (len(engines) + cols - 1) // cols
    longest = max(sum(1 for r in rows if r.engine == e) for e in engines)
    fig, axes = plt.subplots(
        nrows, cols, figsize=(8 * cols, 0.22 * longest * nrows + 1.5), squeeze=False
    )
    for ax, name in zip(axes.flat, engines, strict=False):
        mine = [r for r in rows if r.engine == name]
        values = [min(max(r.advantage, 1e-2), 1e3) for r in mine]
        ax.barh(range(len(mine)), values, color=["#2a9d8f" if r.met else "#e76f51" for r in mine])
        ax.set_yticks(
            range(len(mine)), [f"{r.workload} {r.mode}: {r.metric}" for r in mine], fontsize=7
        )
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.axvline(1.0, color="black", linewidth=0.8)
        for i, (v, r) in enumerate(zip(values, mine, strict=True)):
            ax.text(v, i, f" {r.advantage:.2g}x", va="center", fontsize=6)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("durastate advantage (>1 = better; red = target missed)", fontsize=8)
    for ax in list(axes.flat)[len(engines) :]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def write(
    outdir: Path, meta: dict[str, Any], outcome: Outcome, draw: bool = True
) -> dict[str, Path]:  # fmt: skip
    outdir.mkdir(parents=True, exist_ok=True)
    meta["load_average_at_end"] = _load()
    files = {"json": outdir / "results.json", "markdown": outdir / "results.md"}
    payload = {"meta": meta, **outcome.to_json()}
    files["json"].write_text(json.dumps(payload, indent=1, default=str) + "\n")
    files["markdown"].write_text(markdown(meta, outcome))
    png = outdir / "ratios.png"
    title = f"durastate / official, {meta['date']} {meta['mode']} on {meta['machine']['cpu']}"
    if draw and chart(outcome.rows, png, title):
        files["chart"] = png
    return files
