"""SQLite connection settings and versioned migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from durastate._engines.sqlite.drivers import SyncDatabase, drive
from durastate._engines.sqlite.migrations import ensure_plan, version_operation
from durastate._engines.sqlite.requests import Component, Operation, Rows, Run, transact
from durastate._engines.sqlite.schema import CACHE, CHECKPOINTS, STORE
from durastate.cache.sqlite import SqliteCache
from durastate.checkpoint.sqlite import SqliteSaver
from durastate.errors import SchemaVersionError
from durastate.store.sqlite import SqliteStore


def _pragma(conn: sqlite3.Connection, name: str) -> Any:
    return conn.execute(f"PRAGMA {name}").fetchone()[0]


def test_file_connections_get_wal_busy_timeout_foreign_keys_and_normal_sync(
    tmp_path: Path,
) -> None:
    with SqliteSaver(tmp_path / "p.db", timeout=12.5) as saver:
        saver.setup()
        conn = saver.conn
        assert _pragma(conn, "journal_mode") == "wal"
        assert _pragma(conn, "busy_timeout") == 12500
        assert _pragma(conn, "foreign_keys") == 1
        assert _pragma(conn, "synchronous") == 1  # NORMAL
        assert _pragma(conn, "auto_vacuum") == 2  # INCREMENTAL on a new file


def test_a_callers_longer_busy_timeout_is_kept(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "b.db", timeout=120)
    SqliteStore(conn).setup()
    assert _pragma(conn, "busy_timeout") == 120000


def test_setup_records_one_version_per_component_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    with SqliteSaver(path) as saver, SqliteStore(path) as store, SqliteCache(path=path) as cache:
        assert (saver.schema_version(), store.schema_version(), cache.schema_version()) == (0, 0, 0)
        assert not saver.is_setup
        for _ in range(2):
            saver.setup()
            store.setup()
            cache.setup()
        assert saver.is_setup and store.is_setup
        assert (saver.schema_version(), store.schema_version(), cache.schema_version()) == (1, 1, 1)
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT component, version FROM durastate_schema ORDER BY 1").fetchall()
    assert rows == [("cache", 1), ("checkpoint", 1), ("store", 1)]
    assert {c.name: c.latest for c in (CHECKPOINTS, STORE, CACHE)} == {
        "checkpoint": 1,
        "store": 1,
        "cache": 1,
    }


def test_first_use_migrates_without_setup(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "f.db") as store:
        store.put(("a",), "k", {"v": 1})
        assert store.is_setup and store.schema_version() == 1


def test_a_newer_schema_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with SqliteSaver(path) as saver:
        saver.setup()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE durastate_schema SET version = 99 WHERE component = 'checkpoint'")
    with SqliteSaver(path) as saver, pytest.raises(SchemaVersionError, match="version 99"):
        saver.get_tuple({"configurable": {"thread_id": "t"}})


def test_missing_migrations_are_applied_in_order_once(tmp_path: Path) -> None:
    """An older file gets exactly the steps it lacks, each statement once."""
    v1 = Component("demo", (("CREATE TABLE demo_a (x)",),))
    v3 = Component(
        "demo",
        (
            ("CREATE TABLE demo_a (x)",),
            ("ALTER TABLE demo_a ADD COLUMN y", "INSERT INTO demo_a (x, y) VALUES (1, 2)"),
            ("CREATE TABLE demo_b AS SELECT x + y AS z FROM demo_a",),
        ),
    )
    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    db = SyncDatabase(conn, owned=True, timeout=5)
    assert db.run_plan(ensure_plan(v1)) == 1
    assert db.run_plan(ensure_plan(v3)) == 3
    assert db.run_plan(ensure_plan(v3)) == 3
    assert conn.execute("SELECT z FROM demo_b").fetchall() == [(3,)]
    assert db.run(version_operation(v3)) == 3
    with pytest.raises(SchemaVersionError):
        db.run_plan(ensure_plan(v1))


def test_a_failing_migration_changes_nothing(tmp_path: Path) -> None:
    broken = Component("broken", (("CREATE TABLE ok_table (x)", "CREATE TABLE nope ("),))
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    db = SyncDatabase(conn, owned=True, timeout=5)
    with pytest.raises(sqlite3.OperationalError):
        db.run_plan(ensure_plan(broken))
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "ok_table" not in tables
    assert db.run(version_operation(broken)) == 0


def test_busy_transactions_are_retried_until_the_lock_is_free(tmp_path: Path) -> None:
    """A write blocked by another writer succeeds once it lets go (within the timeout)."""
    import threading

    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    conn = sqlite3.connect(path, isolation_level=None, timeout=0.01)
    release = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
    release.start()

    def body() -> Any:
        yield Run("INSERT INTO t VALUES (1)")
        return (yield Rows("SELECT COUNT(*) FROM t"))[0][0]

    assert drive(conn, transact(Operation("write", body), 30, nested=False, legacy=False)) == 1
    release.join()


def test_busy_errors_surface_after_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "stuck.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    conn = sqlite3.connect(path, isolation_level=None, timeout=0.01)

    def body() -> Any:
        yield Run("INSERT INTO t VALUES (1)")

    with pytest.raises(sqlite3.OperationalError, match="locked"):
        drive(conn, transact(Operation("write", body), 0.2, nested=False, legacy=False))
    holder.execute("ROLLBACK")


def test_vacuum_compacts_an_older_file_and_switches_it_to_incremental(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE someone_elses (x)")  # created without auto_vacuum
    with SqliteSaver(path) as saver:
        saver.setup()
        assert _pragma(saver.conn, "auto_vacuum") == 0
        pages = saver.vacuum()
        assert pages > 0
        assert _pragma(saver.conn, "auto_vacuum") == 2
        assert _pragma(saver.conn, "journal_mode") == "wal"
