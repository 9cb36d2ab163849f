"""Migrating from the official LangGraph backends (SQLite, Postgres, Redis) by `durastate copy`."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from langgraph.checkpoint.postgres import PostgresSaver as OfficialPostgresSaver
from langgraph.checkpoint.redis import RedisSaver as OfficialRedisSaver
from langgraph.checkpoint.sqlite import SqliteSaver as OfficialSqliteSaver
from langgraph.store.postgres import PostgresStore as OfficialPostgresStore
from langgraph.store.redis import RedisStore as OfficialRedisStore
from langgraph.store.sqlite import SqliteStore as OfficialSqliteStore
from langgraph.types import Command
from migrate_support import config, graph, history, populate
from postgres_support import Schemas, schema_pool, schemas

from durastate.cli.main import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, run
from durastate.connect import open_backends

__all__ = ["schema_pool", "schemas"]  # fixtures: each test gets its own Postgres schema


@pytest.fixture(autouse=True)
def _no_urls_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DURASTATE_URL", raising=False)


@contextmanager
def official_sqlite(path: Path) -> Iterator[tuple[OfficialSqliteSaver, OfficialSqliteStore]]:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        saver = OfficialSqliteSaver(conn)
        store = OfficialSqliteStore(conn)
        store.setup()
        yield saver, store
    finally:
        conn.close()


def fill_store(store: Any) -> None:
    store.put(("users", "alice"), "pref", {"text": "likes trains", "n": 1})
    store.put(("users", "alice"), "temp", {"text": "short lived"}, ttl=30)
    store.put(("docs",), "readme", {"text": "hello"})


def durastate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def copy_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code, out, err = durastate(capsys, "copy", *args, "--json")
    assert code == EXIT_OK, err
    result: dict[str, Any] = json.loads(out)
    return result


def check_moved(official: Any, official_store: Any, dest_url: str) -> None:
    """Same history and items on durastate; the interrupted thread resumes there."""
    with open_backends(dest_url) as dest:
        for thread_id in ("waiting", "done"):
            assert history(dest.checkpointer, thread_id) == history(official, thread_id)
        items = {(i.namespace, i.key): i for i in dest.store.search((), limit=50)}
        expected = {(i.namespace, i.key): i for i in official_store.search((), limit=50)}
        assert {k: i.value for k, i in items.items()} == {k: i.value for k, i in expected.items()}
        ttl = [i for i in dest.store.export_items() if i.key == "temp"]  # type: ignore[attr-defined]
        assert ttl[0].ttl_minutes == 30.0 and ttl[0].expires_at is not None
        resumed = graph(dest.checkpointer).invoke(Command(resume="yes"), config("waiting"))
        assert resumed["items"][-2:] == ["review:yes", "published"]
        assert graph(dest.checkpointer).get_state(config("waiting")).next == ()


def test_official_sqlite_database_migrates_and_resumes_under_durastate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    old = tmp_path / "old.db"
    with official_sqlite(old) as (saver, store):
        populate(saver, None)
        fill_store(store)
        assert graph(saver).get_state(config("waiting")).next == ("child",)
    size = old.stat().st_size
    dest_url = f"sqlite:///{tmp_path}/new.db"
    result = copy_json(capsys, f"langgraph+sqlite:///{old}", dest_url, "--verify")
    assert result["copy"]["threads_copied"] == 2 and result["copy"]["items_copied"] == 3
    assert result["verify"]["ok"] and result["verify"]["checkpoints"] == 16
    again = copy_json(capsys, f"langgraph+sqlite:///{old}", dest_url)
    assert again["copy"]["threads_unchanged"] == 2 and again["copy"]["items_unchanged"] == 3
    assert old.stat().st_size == size
    with official_sqlite(old) as (saver, store):
        check_moved(saver, store, dest_url)


def test_official_postgres_database_migrates_and_resumes_under_durastate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, postgres_url: str, schemas: Schemas
) -> None:
    schema = schemas.new(fresh=True)
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{postgres_url}?options=-csearch_path%3D{schema}"
    with OfficialPostgresSaver.from_conn_string(url) as saver:
        saver.setup()
        populate(saver, None)
    with OfficialPostgresStore.from_conn_string(url) as store:
        store.setup()
        fill_store(store)
    dest_url = f"sqlite:///{tmp_path}/new.db"
    result = copy_json(capsys, f"langgraph+{url}", dest_url, "--verify")
    assert result["copy"]["threads_copied"] == 2 and result["copy"]["items_copied"] == 3
    assert result["verify"]["ok"]
    with (
        OfficialPostgresSaver.from_conn_string(url) as saver,
        OfficialPostgresStore.from_conn_string(url) as store,
    ):
        check_moved(saver, store, dest_url)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["memory://", "langgraph+sqlite:///x.db"], EXIT_USAGE, "can only be the SOURCE"),
        (["langgraph+memory://", "memory://"], EXIT_USAGE, "official sources are"),
        (["langgraph+sqlite:///nowhere/old.db", "memory://"], EXIT_FAILURE, "no such SQLite"),
    ],
)
def test_official_source_errors(
    capsys: pytest.CaptureFixture[str], args: list[str], code: int, message: str
) -> None:
    got, _, err = durastate(capsys, "copy", *args)
    assert got == code and message in err


def test_a_file_without_langgraph_tables_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).execute("CREATE TABLE other (x)").connection.close()
    code, _, err = durastate(capsys, "copy", f"langgraph+sqlite:///{empty}", "memory://")
    assert code == EXIT_FAILURE and "no LangGraph checkpoints or store tables" in err


def test_official_redis_threads_and_items_migrate_and_resume(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, redis_stack_url: str
) -> None:
    prefix = f"official-{uuid.uuid4().hex[:10]}"
    threads = [f"{prefix}-waiting", f"{prefix}-done"]
    with OfficialRedisSaver.from_conn_string(redis_stack_url) as saver:
        saver.setup()
        populate(saver, None, f"{prefix}-")
        try:
            with OfficialRedisStore.from_conn_string(redis_stack_url) as store:
                store.setup()
                store.put((prefix, "alice"), "pref", {"text": "likes trains"})
                store.put((prefix, "bob"), "pref", {"text": "museums"})
                dest_url = f"sqlite:///{tmp_path}/new.db"
                selection = ["--thread", threads[0], "--thread", threads[1], "--namespace", prefix]
                source = f"langgraph+{redis_stack_url}"
                result = copy_json(capsys, source, dest_url, *selection, "--verify")
                assert result["copy"]["threads_copied"] == 2
                assert result["copy"]["items_copied"] == 2 and result["verify"]["ok"]
                again = copy_json(capsys, source, dest_url, *selection)
                assert again["copy"]["threads_unchanged"] == 2
                with open_backends(dest_url) as dest:
                    for thread_id in threads:
                        # The official Redis saver mixes subgraph checkpoints into the root
                        # history; durastate's keeps each namespace apart.
                        mine = history(dest.checkpointer, thread_id)
                        theirs = [h for h in history(saver, thread_id) if not h[5]["parents"]]
                        assert mine == theirs and len(mine) >= 3
                    assert sorted(i.namespace[1] for i in dest.store.search((prefix,))) == [
                        "alice",
                        "bob",
                    ]
                    resumed = graph(dest.checkpointer).invoke(
                        Command(resume="yes"), config(threads[0])
                    )
                    assert resumed["items"][-1] == "published"
                store.delete((prefix, "alice"), "pref")
                store.delete((prefix, "bob"), "pref")
        finally:
            for thread_id in threads:
                saver.delete_thread(thread_id)
