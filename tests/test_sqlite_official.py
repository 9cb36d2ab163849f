"""LangGraph's own checkpointer conformance suite, at FULL level, for both SQLite savers.

Each saver is run through its async API and, via ``SyncApiSaver``, its sync API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from durastate.checkpoint.sqlite import AsyncSqliteSaver, SqliteSaver
from durastate.conformance import assert_official_full


@pytest.mark.parametrize("api", ["async", "sync"])
@pytest.mark.parametrize("cls", [SqliteSaver, AsyncSqliteSaver], ids=lambda c: c.__name__)
@pytest.mark.parametrize("where", ["file", "memory"])
async def test_official_conformance_is_full(tmp_path: Path, cls: Any, where: str, api: str) -> None:
    counter = iter(range(1_000))

    def fresh(**kw: Any) -> Any:
        target = ":memory:" if where == "memory" else str(tmp_path / f"db{next(counter)}.sqlite")
        return cls.from_conn_string(target, **kw)

    await assert_official_full(fresh, api=api, name=f"{cls.__name__}-{where}")
