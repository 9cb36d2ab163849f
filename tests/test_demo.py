"""`durastate demo` end to end: the real console command, SQLite in the working directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

EXE = Path(sys.executable).with_name("durastate")
PID = re.compile(r"\(process (\d+), ")

EXPECTED_HISTORY = [
    ("7", "loop", "-", "6"),
    ("6", "loop", "remember", "6"),
    ("5", "loop", "agent", "5"),
    ("4", "loop", "tools", "4"),
    ("3", "loop", "agent", "3"),
    ("2", "loop", "tools", "2"),
    ("1", "loop", "agent", "1"),
    ("0", "loop", "recall", "1"),
    ("-1", "input", "__start__", "0"),
]


@dataclass
class Run:
    code: int
    out: str
    err: str

    def sections(self) -> dict[str, list[str]]:
        """Lines under each '== title (process N, ...)' header, by title."""
        found: dict[str, list[str]] = {}
        current: list[str] = found.setdefault("", [])
        for text in self.out.splitlines():
            if text.startswith("== "):
                title = text[3:].split(" (process ")[0]
                current = found.setdefault(title, [text])
            else:
                current.append(text)
        return found

    def pid(self, title: str) -> int:
        match = PID.search(self.sections()[title][0])
        assert match, self.sections()[title][0]
        return int(match.group(1))


def durastate(cwd: Path, *args: str) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DURASTATE_")}
    done = subprocess.run(
        [EXE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    return Run(done.returncode, done.stdout, done.stderr)


START, RESUME = "phase 1 of 2: start", "phase 2 of 2: resume"


@dataclass
class Runs:
    cwd: Path
    first: Run
    again: Run
    fresh: Run


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """`durastate demo` on a fresh directory, run again, then run with --fresh."""
    cwd = tmp_path_factory.mktemp("demo")
    first = durastate(cwd, "demo")
    again = durastate(cwd, "demo")
    fresh = durastate(cwd, "demo", "--fresh")
    return Runs(cwd, first, again, fresh)


def test_demo_succeeds_and_keeps_its_state_in_sqlite_in_the_working_directory(
    runs: Runs,
) -> None:
    first = runs.first
    assert first.code == 0, first.err
    assert first.err == ""
    assert (runs.cwd / "durastate-demo.db").is_file()
    assert list(first.sections()) == ["", START, RESUME, "report"]
    assert "sqlite:///durastate-demo.db, thread 'demo')" in first.sections()[START][0]


def test_phase_1_stops_at_the_approval_interrupt(runs: Runs) -> None:
    start = runs.first.sections()[START]
    assert (
        "  user      Plan a day trip from Porto to Lisbon on Saturday and email the plan to Ana."
        in start
    )
    assert any(ln.startswith("  agent     calls email_plan(to='ana@example.com'") for ln in start)
    assert "  paused    approval needed: may I email the Lisbon plan to ana@example.com?" in start
    assert start[-1] == (
        "  saved     thread 'demo' is paused at step 4 waiting for approval; this process exits now"
    )
    assert not any("email_plan ->" in ln or "says" in ln for ln in start)
    assert len(start) <= 13


def test_phase_2_resumes_in_a_new_process_and_completes(runs: Runs) -> None:
    run = runs.first
    resume = run.sections()[RESUME]
    assert len({run.pid(START), run.pid(RESUME), run.pid("report")}) == 3
    assert resume[1] == (
        "  loaded    thread 'demo', paused at step 4 waiting for approval:"
        " may I email the Lisbon plan to ana@example.com?"
    )
    assert "  approve   Command(resume='approve')" in resume
    assert any(ln.startswith("  tools     email_plan -> 'Sent to ana@example.com") for ln in resume)
    assert "  agent     says 'Done: I emailed Ana the plan for Lisbon on Saturday.'" in resume
    assert resume[-1] == "  done      thread 'demo' finished at step 7"
    assert len(resume) <= 13


def test_the_expensive_task_is_computed_once_then_served_from_the_cache(
    runs: Runs,
) -> None:
    sections = runs.first.sections()
    computed = [ln for ln in sections[START] if "fetch_forecast(" in ln]
    cached = [ln for ln in sections[RESUME] if "fetch_forecast(" in ln]
    assert len(computed) == 1 and len(cached) == 1
    assert "fetch_forecast('Lisbon', 'Saturday') computed (cache miss): " in computed[0]
    assert "fetch_forecast('Lisbon', 'Saturday') served from the cache: " in cached[0]
    assert computed[0].split(": ", 1)[1] == cached[0].split(": ", 1)[1]


def _history(report: list[str]) -> list[tuple[str, ...]]:
    at = report.index("  history of thread 'demo' (newest first):")
    assert report[at + 1].split() == ["step", "source", "next", "messages"]
    rows = []
    for text in report[at + 2 :]:
        if not text.startswith("    "):
            break
        rows.append(tuple(text.split()))
    return rows


def test_report_shows_every_checkpoint_of_the_thread(runs: Runs) -> None:
    assert _history(runs.first.sections()["report"]) == EXPECTED_HISTORY


def test_semantic_search_finds_the_memory_written_in_phase_2_first(runs: Runs) -> None:
    sections = runs.first.sections()
    assert any(
        ln.startswith("  recall    4 memories match the request; best: \"Ana's email address")
        for ln in sections[START]
    )
    report = sections["report"]
    at = report.index("  memories of 'ada' best matching 'Which trip plan did I send to Ana?':")
    hits = [ln.split(maxsplit=2) for ln in report[at + 1 :]]
    assert [key for _, key, _ in hits] == ["sent-trip-plan", "ana-email", "travel"]
    scores = [float(score) for score, _, _ in hits]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[1]
    assert hits[0][2] == "Sent Ana the day trip plan for Lisbon on Saturday (ana@example.com)."


def test_running_again_continues_where_the_thread_is(runs: Runs) -> None:
    again = runs.again
    assert again.code == 0, again.err
    assert list(again.sections()) == ["", "report"]
    assert again.sections()[""] == [
        "  thread 'demo' finished in an earlier run (pass --fresh to run it again)"
    ]
    assert _history(again.sections()["report"]) == EXPECTED_HISTORY


def _without_ids(lines: list[str]) -> list[str]:
    return [PID.sub("(process N, ", ln) for ln in lines]


def test_fresh_starts_over_and_tells_the_same_story(runs: Runs) -> None:
    first, fresh = runs.first, runs.fresh
    assert fresh.code == 0, fresh.err
    start = fresh.sections()[START]
    assert start[1] == "  fresh     deleted thread 'demo', 6 memories, cached forecasts"
    assert _without_ids(start[:1] + start[2:]) == _without_ids(first.sections()[START])
    for title in (RESUME, "report"):
        assert _without_ids(fresh.sections()[title]) == _without_ids(first.sections()[title])


def test_memory_url_runs_every_phase_in_one_process_and_says_so(tmp_path: Path) -> None:
    run = durastate(tmp_path, "demo", "--url", "memory://")
    assert run.code == 0, run.err
    assert "memory:// keeps nothing once a process exits" in run.out
    assert len({run.pid(START), run.pid(RESUME), run.pid("report")}) == 1
    assert "served from the cache" in "\n".join(run.sections()[RESUME])
    assert _history(run.sections()["report"]) == EXPECTED_HISTORY
    assert list(tmp_path.iterdir()) == []
