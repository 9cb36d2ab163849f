"""Connection settings and versioned schema migrations, as operations any driver can run.

Every component (checkpoints, store, cache) records its version in ``durastate_schema``.
Upgrading takes the write lock first (``BEGIN IMMEDIATE``) and reads the version again
under it, so processes opening a new file together apply each migration exactly once.
"""

from __future__ import annotations

from durastate._engines.sqlite.requests import (
    Body,
    Component,
    InTransaction,
    Operation,
    Plan,
    Rows,
    Run,
)
from durastate.errors import SchemaVersionError

SCHEMA_TABLE = """
CREATE TABLE IF NOT EXISTS durastate_schema (
    component TEXT PRIMARY KEY,
    version INTEGER NOT NULL
)"""


def configure_body(busy_timeout_ms: int) -> Body[bool]:
    """Busy timeout first, then foreign keys, WAL with ``synchronous=NORMAL`` on files.

    A brand-new file also gets ``auto_vacuum=INCREMENTAL`` (it can only be chosen
    before the first table exists), so deleted data gives its pages back. Answers
    False when the caller's open transaction kept the journal settings from changing.
    """
    (current,) = (yield Rows("PRAGMA busy_timeout"))[0]
    if int(current) < busy_timeout_ms:
        yield Rows(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    if (yield InTransaction()):
        return False
    yield Run("PRAGMA foreign_keys = ON")
    files = [row[2] for row in (yield Rows("PRAGMA database_list")) if row[1] == "main"]
    if not files or not files[0]:
        return True  # in memory or a temporary database: no WAL
    (mode,) = (yield Rows("PRAGMA journal_mode"))[0]
    if str(mode).lower() != "wal":
        (pages,) = (yield Rows("PRAGMA page_count"))[0]
        if int(pages) == 0:
            yield Rows("PRAGMA auto_vacuum = INCREMENTAL")
        (mode,) = (yield Rows("PRAGMA journal_mode = WAL"))[0]
    if str(mode).lower() == "wal":
        yield Run("PRAGMA synchronous = NORMAL")
    return True


def version_body(component: Component) -> Body[int]:
    """The recorded version of a component (0 when it was never set up)."""
    found = yield Rows(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'durastate_schema'"
    )
    if not found:
        return 0
    rows = yield Rows("SELECT version FROM durastate_schema WHERE component = ?", (component.name,))
    return int(rows[0][0]) if rows else 0


def _check_known(component: Component, version: int) -> None:
    if version > component.latest:
        raise SchemaVersionError(
            f"the database's {component.name} schema is at version {version}, newer than the "
            f"{component.latest} this version of durastate knows; upgrade durastate"
        )


def migrate_body(component: Component) -> Body[int]:
    """Apply the missing migrations of a component; run it under ``BEGIN IMMEDIATE``."""
    yield Run(SCHEMA_TABLE)
    version = yield from version_body(component)
    _check_known(component, version)
    for number in range(version + 1, component.latest + 1):
        for statement in component.steps[number - 1]:
            yield Run(statement)
    if version < component.latest:
        yield Run(
            "INSERT INTO durastate_schema (component, version) VALUES (?, ?) "
            "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
            (component.name, component.latest),
        )
    return component.latest


def ensure_plan(component: Component) -> Plan[int]:
    """Check the version without locking; migrate under the write lock only if behind."""
    version = yield Operation("auto", lambda: version_body(component))
    _check_known(component, version)
    if version < component.latest:
        version = yield Operation("write", lambda: migrate_body(component))
    return int(version)


def version_operation(component: Component) -> Operation[int]:
    return Operation("auto", lambda: version_body(component))
