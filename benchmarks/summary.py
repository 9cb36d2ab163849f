"""Prints the README's headline table from a results.json: the targeted rows, sync mode.

.venv/bin/python -m benchmarks.summary benchmarks/results/<run>/results.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HEADLINES = (
    ("graph_loop", "overhead_ms", "checkpoint overhead per superstep (ms)"),
    ("graph_loop", "supersteps_per_s", "agent loop supersteps/s"),
    ("history_500", "get_state_ms", "get_state, 500-checkpoint thread (ms)"),
    ("history_500", "list10_ms", "list(limit=10) (ms)"),
    ("history_500", "history_ms", "full get_state_history (ms)"),
    ("saver_ops", "put_per_s", "put/s"),
    ("saver_ops", "put_writes_per_s", "put_writes/s"),
    ("saver_ops", "get_tuple_per_s", "get_tuple/s"),
    ("store", "put_items_per_s", "store batched put items/s"),
    ("store", "get_per_s", "store get/s"),
    ("store", "filtered_search_per_s", "store filtered search/s"),
    ("store", "semantic_search_per_s", "store semantic top-10/s"),
    ("store", "recall_at_10", "recall@10"),
    ("cache", "set_per_s", "cache set entries/s"),
    ("cache", "get_per_s", "cache get entries/s"),
    ("storage_200", "storage_mb", "storage after 200 supersteps (MB)"),
)


def _num(v: float) -> str:
    return f"{v:,.0f}" if v >= 100 else f"{v:.3g}"


def table(payload: dict[str, Any], mode: str = "sync") -> str:
    rows = {
        (r["engine"], r["workload"], r["metric"]): r for r in payload["rows"] if r["mode"] == mode
    }
    engines = list(dict.fromkeys(r["engine"] for r in payload["rows"]))
    head = "| workload (" + mode + ") | " + " | ".join(engines) + " |"
    lines = [head, "|---|" + "---:|" * len(engines)]
    for workload, metric, label in HEADLINES:
        cells = []
        for e in engines:
            r = rows.get((e, workload, metric))
            if r is None:
                cells.append("-")
                continue
            mark = "" if r["met"] else " ✗"
            cells.append(
                f"{_num(r['durastate'])} vs {_num(r['official'])} (**{r['advantage']:.2g}x**{mark})"
            )
        if any(c != "-" for c in cells):
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    path = Path(sys.argv[1])
    payload = json.loads(path.read_text())
    for mode in ("sync", "async"):
        print(table(payload, mode))
        print()


if __name__ == "__main__":
    main()
