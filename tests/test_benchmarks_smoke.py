"""The benchmark harness runs end to end on the in-memory engine and writes its results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_harness_writes_well_formed_results(tmp_path: Path) -> None:
    out = tmp_path / "results"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--sizes",
            "tiny",
            "--engines",
            "memory",
            "--no-chart",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    payload = json.loads((out / "results.json").read_text())
    assert payload["meta"]["mode"] == "tiny"
    assert payload["meta"]["machine"]["cores"] >= 1
    rows = payload["rows"]
    workloads = {(r["workload"], r["mode"]) for r in rows}
    assert ("graph_loop", "sync") in workloads
    assert ("store", "async") in workloads
    assert ("cache", "sync") in workloads
    for r in rows:
        assert r["engine"] == "memory"
        assert r["durastate"] >= 0 and r["official"] >= 0
        assert len(r["samples"]["durastate"]) == len(r["samples"]["official"]) >= 1
        assert isinstance(r["met"], bool)
    failed = [s for s in payload["skipped"] if " failed at " in s["reason"]]
    assert failed == []
    table = (out / "results.md").read_text()
    assert "| memory | graph_loop | sync | overhead_ms (ms) |" in table
