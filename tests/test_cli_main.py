"""The `durastate` command: help, version, exit statuses, URL errors and masked passwords."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from durastate import __version__
from durastate.cli.main import EXIT_OK, EXIT_USAGE, cli, run

SECRET = "hunter2-Secret"


@pytest.fixture(autouse=True)
def _no_urls_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DURASTATE_URL", raising=False)
    monkeypatch.delenv("DURASTATE_DEMO_URL", raising=False)


def durastate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_commands_url_schemes_and_exit_statuses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = durastate(capsys, "--help")
    assert code == EXIT_OK
    assert "demo" in out and "setup" in out
    for scheme in (
        "memory://",
        "sqlite:///app.db",
        "postgresql://",
        "redis://",
        "redis+cluster://",
    ):
        assert scheme in out
    assert "URL query parameters:" in out
    for parameter in ("timeout=SECONDS", "mode cache immutable", "cluster=true|false"):
        assert parameter in out
    assert "Exit status:" in out
    for status, meaning in (("0", "success"), ("1", "failure"), ("2", "usage error")):
        assert any(
            ln.split()[0] == status and meaning in ln for ln in out.splitlines() if ln.strip()
        )


@pytest.mark.parametrize("command", sorted(cli.commands))  # type: ignore[attr-defined]
def test_every_subcommand_has_help(capsys: pytest.CaptureFixture[str], command: str) -> None:
    code, out, _ = durastate(capsys, command, "--help")
    assert code == EXIT_OK
    assert out.startswith(f"Usage: durastate {command} [OPTIONS]")
    assert "-h, --help" in out


def test_subcommand_help_documents_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    _, demo_help, _ = durastate(capsys, "demo", "-h")
    for option in ("--url", "--thread", "--fresh", "--phase", "start|resume|report"):
        assert option in demo_help
    assert "sqlite:///durastate-demo.db" in demo_help and "DURASTATE_DEMO_URL" in demo_help
    _, setup_help, _ = durastate(capsys, "setup", "-h")
    for option in ("URL", "--only", "--index-dims", "--distance", "--json", "DURASTATE_URL"):
        assert option in setup_help


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = durastate(capsys, "--version")
    assert (code, out) == (EXIT_OK, f"durastate {__version__}\n")


@pytest.mark.parametrize(
    "args",
    [
        ["no-such-command"],
        ["--no-such-option"],
        ["demo", "--phase", "sideways"],
        ["demo", "--bogus"],
        ["setup"],
        ["setup", "memory://", "--only", "everything"],
        ["setup", "memory://", "--index-dims", "0"],
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, out, err = durastate(capsys, *args)
    assert code == EXIT_USAGE
    assert "Usage:" in err and "Error:" in err
    assert out == ""


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["setup", f"mysql://root:{SECRET}@db/app"], "unknown scheme 'mysql'"),
        (["setup", f"postgresql://app:{SECRET}@db:notaport/x"], "malformed"),
        (["setup", "sqlite://app.db"], "did you mean sqlite:///app.db"),
        (["demo", "--url", f"redis://:{SECRET}@h?cluster=perhaps"], "must be true or false"),
        (["demo", "--url", "file:///tmp/x.db"], "unknown scheme 'file'"),
    ],
)
def test_malformed_urls_are_usage_errors_with_passwords_masked(
    capsys: pytest.CaptureFixture[str], args: list[str], problem: str
) -> None:
    code, out, err = durastate(capsys, *args)
    assert code == EXIT_USAGE
    assert problem in err
    assert SECRET not in out + err


def test_url_from_environment_is_checked_and_masked(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DURASTATE_URL", f"cassandra://u:{SECRET}@h/x")
    code, _, err = durastate(capsys, "setup")
    assert code == EXIT_USAGE
    assert "unknown scheme 'cassandra'" in err and "u:***@h" in err
    assert SECRET not in err


def test_demo_phases_by_hand_refuse_memory_urls(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = durastate(capsys, "demo", "--url", "memory://", "--phase", "start")
    assert code == EXIT_USAGE
    assert "memory:// keeps nothing" in err


def test_fresh_only_combines_with_the_start_phase(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = durastate(capsys, "demo", "--phase", "report", "--fresh")
    assert code == EXIT_USAGE
    assert "--fresh only applies" in err


def test_setup_memory_reports_each_part(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = durastate(capsys, "setup", "memory://")
    assert code == EXIT_OK
    assert out.splitlines()[0] == "memory:// (memory)"
    assert [ln.split()[:2] for ln in out.splitlines()[1:]] == [
        ["checkpointer", "InMemorySaver"],
        ["store", "InMemoryStore"],
        ["cache", "InMemoryCache"],
    ]
    code, out, _ = durastate(capsys, "setup", "memory://", "--only", "store", "--json")
    assert code == EXIT_OK
    assert json.loads(out) == {
        "url": "memory://",
        "engine": "memory",
        "parts": [
            {
                "part": "store",
                "class": "InMemoryStore",
                "schema_version_before": None,
                "schema_version_after": None,
            }
        ],
    }


def test_the_console_script_is_installed_and_returns_exit_statuses(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("durastate")
    assert exe.exists(), "the `durastate` console script should be installed with the package"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DURASTATE_")}
    ok = subprocess.run([exe, "--version"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert (ok.returncode, ok.stdout) == (0, f"durastate {__version__}\n")
    bad = subprocess.run(
        [exe, "setup", f"oracle://scott:{SECRET}@db/x"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert bad.returncode == 2
    assert "unknown scheme 'oracle'" in bad.stderr and SECRET not in bad.stderr
    via_module = subprocess.run(
        [sys.executable, "-m", "durastate.cli", "--version"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert via_module.stdout == f"durastate {__version__}\n"
