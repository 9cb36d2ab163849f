"""`durastate demo --phase ...`: phases by hand share state through the database."""

from __future__ import annotations

from pathlib import Path

import pytest

from durastate.cli.main import EXIT_FAILURE, EXIT_OK, run


def durastate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _no_urls_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DURASTATE_DEMO_URL", raising=False)


def test_phases_by_hand_follow_the_thread_and_refuse_what_cannot_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    common = ("demo", "--url", f"sqlite:///{tmp_path}/by-hand.db", "--thread", "t-42")

    code, out, err = durastate(capsys, *common, "--phase", "start")
    assert code == EXIT_OK, err
    assert out.splitlines()[0].startswith("== phase 1 of 2: start (process ")
    assert "  saved     thread 't-42' is paused at step 4 waiting for approval" in out

    code, out, err = durastate(capsys, *common, "--phase", "start")
    assert code == EXIT_FAILURE
    assert "Error: thread 't-42' already exists (paused at step 4 waiting for approval)" in err

    code, out, err = durastate(capsys, *common, "--phase", "resume")
    assert code == EXIT_OK, err
    assert "served from the cache" in out
    assert out.splitlines()[-1] == "  done      thread 't-42' finished at step 7"

    code, out, err = durastate(capsys, *common, "--phase", "resume")
    assert code == EXIT_FAILURE
    assert "Error: thread 't-42' has no pending approval (finished at step 7)" in err

    code, out, err = durastate(capsys, *common, "--phase", "report")
    assert code == EXIT_OK, err
    assert "  history of thread 't-42' (newest first):" in out
    assert "sent-trip-plan" in out

    code, out, err = durastate(capsys, *common, "--phase", "start", "--fresh")
    assert code == EXIT_OK, err
    assert "  fresh     deleted thread 't-42', 6 memories, cached forecasts" in out
    assert "computed (cache miss)" in out
    assert not (tmp_path / "durastate-demo.db").exists()


def test_a_phase_that_cannot_run_exits_1_and_says_why(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/demo.db"
    code, _, err = durastate(capsys, "demo", "--url", url, "--phase", "resume")
    assert code == EXIT_FAILURE
    assert "Error: thread 'demo' has no pending approval (not started)" in err
    code, _, err = durastate(capsys, "demo", "--url", url, "--phase", "report")
    assert code == EXIT_FAILURE
    assert "Error: thread 'demo' has no checkpoints; run `durastate demo` first" in err
