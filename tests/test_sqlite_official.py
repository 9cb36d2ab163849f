"""LangGraph's own checkpointer conformance suite, at FULL level, for both SQLite savers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.conformance import checkpointer_test, validate

from durastate.checkpoint.sqlite import AsyncSqliteSaver, SqliteSaver


def _failures(report: Any) -> list[str]:
    return [f for result in report.results.values() for f in (result.failures or [])]


@pytest.mark.parametrize("cls", [SqliteSaver, AsyncSqliteSaver], ids=lambda c: c.__name__)
@pytest.mark.parametrize("where", ["file", "memory"])
async def test_official_conformance_is_full(tmp_path: Path, cls: Any, where: str) -> None:
    counter = iter(range(1_000))

    @checkpointer_test(name=f"{cls.__name__}-{where}")
    async def factory() -> AsyncIterator[Any]:
        target = ":memory:" if where == "memory" else str(tmp_path / f"db{next(counter)}.sqlite")
        if cls is SqliteSaver:
            with SqliteSaver.from_conn_string(target) as saver:
                yield saver
        else:
            async with AsyncSqliteSaver.from_conn_string(target) as saver:
                yield saver

    report = await validate(factory)
    assert report.conformance_level() == "FULL", _failures(report)
    assert all(r.detected for r in report.results.values())
