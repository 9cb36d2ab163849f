"""`durastate setup URL`: creates or upgrades schemas, safe to repeat, versions reported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from durastate.cli.main import EXIT_FAILURE, EXIT_OK, run
from durastate.connect import open_backends

SECRET = "hunter2-Secret"


@pytest.fixture(autouse=True)
def _no_urls_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DURASTATE_URL", raising=False)


def setup_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code = run(["setup", *args, "--json"])
    out, err = capsys.readouterr()
    assert code == EXIT_OK, err
    result: dict[str, Any] = json.loads(out)
    return result


def test_setup_creates_then_leaves_an_up_to_date_sqlite_schema(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/app.db"
    first = setup_json(capsys, url)
    assert first["url"] == url and first["engine"] == "sqlite"
    assert [(p["part"], p["class"]) for p in first["parts"]] == [
        ("checkpointer", "SqliteSaver"),
        ("store", "SqliteStore"),
        ("cache", "SqliteCache"),
    ]
    assert all(p["schema_version_before"] == 0 for p in first["parts"])
    assert all(p["schema_version_after"] >= 1 for p in first["parts"])

    with open_backends(url) as backends:
        backends.store.put(("n",), "k", {"v": 1})
        latest = {"checkpointer": backends.checkpointer, "store": backends.store}
        versions = {part: obj.schema_version() for part, obj in latest.items()}  # type: ignore[attr-defined]

    second = setup_json(capsys, url)
    for part in second["parts"]:
        assert part["schema_version_before"] == part["schema_version_after"]
    assert {p["part"]: p["schema_version_after"] for p in second["parts"][:2]} == versions
    with open_backends(url) as backends:
        item = backends.store.get(("n",), "k")
        assert item is not None and item.value == {"v": 1}


def test_setup_prints_one_line_per_part(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/app.db"
    code = run(["setup", url, "--only", "store", "--only", "cache", "--index-dims", "8"])
    out, err = capsys.readouterr()
    assert code == EXIT_OK, err
    lines = out.splitlines()
    assert lines[0] == f"{url} (sqlite)"
    assert [ln.split()[:2] for ln in lines[1:]] == [
        ["store", "SqliteStore"],
        ["cache", "SqliteCache"],
    ]
    assert all(ln.split()[2:5] == ["schema", "version", "0"] for ln in lines[1:])
    again = setup_json(capsys, url, "--only", "checkpointer")
    assert [p["part"] for p in again["parts"]] == ["checkpointer"]
    assert again["parts"][0]["schema_version_before"] == 0


def test_setup_reads_the_url_from_the_environment(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DURASTATE_URL", f"sqlite:///{tmp_path}/env.db")
    assert run(["setup"]) == EXIT_OK
    assert (tmp_path / "env.db").is_file()
    assert f"sqlite:///{tmp_path}/env.db (sqlite)" in capsys.readouterr().out


def test_setup_failure_exits_1_and_names_what_it_was_doing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/missing-dir/app.db"
    code = run(["setup", url])
    _, err = capsys.readouterr()
    assert code == EXIT_FAILURE
    assert err.startswith(f"Error: setting up the checkpointer (SqliteSaver) at {url}: ")
    assert not (tmp_path / "missing-dir").exists()
