"""Progress bars: drawn on a terminal's stderr, silent otherwise and with --quiet."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from migrate_support import index_config, populate

from durastate.cli.main import EXIT_OK, run
from durastate.connect import open_backends


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def source_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/source.db"
    with open_backends(url, index=index_config()) as backends:
        populate(backends.checkpointer, backends.store)
    return url


@pytest.mark.parametrize(
    ("tty", "quiet", "drawn"), [(True, False, True), (True, True, False), (False, False, False)]
)
def test_progress_is_drawn_only_on_a_terminal_and_not_with_quiet(
    monkeypatch: pytest.MonkeyPatch,
    source_url: str,
    tmp_path: Path,
    tty: bool,
    quiet: bool,
    drawn: bool,
) -> None:
    err = Terminal() if tty else io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    args = ["copy", source_url, f"sqlite:///{tmp_path}/dest.db", *(["-q"] if quiet else [])]
    assert run(args) == EXIT_OK
    shown = err.getvalue()
    assert ("threads" in shown and "items" in shown) is drawn
    if not drawn:
        assert shown == ""
