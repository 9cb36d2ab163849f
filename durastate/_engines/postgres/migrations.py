"""Schemas, versioned migrations and the advisory lock that serializes them across processes.

Every component (checkpoints, store, cache) records its version in ``durastate_schema``
of its schema. Setting up reads the version without locking first (no DDL, so a role that
cannot create tables works once they exist); when behind, it takes
``pg_advisory_xact_lock`` for the schema, reads the version again and applies the missing
migrations, all in one transaction, so processes starting together apply each exactly once.
"""

from __future__ import annotations

import re
from functools import lru_cache

from durastate._engines.postgres.requests import Body, Component, Operation, Rows, Run
from durastate.errors import InvalidInputError, SchemaVersionError

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def check_schema(schema: str | None) -> str | None:
    """A valid schema name (letters, digits, underscores; at most 63) or None."""
    if schema is None:
        return None
    if not isinstance(schema, str) or not _IDENTIFIER.fullmatch(schema):
        raise InvalidInputError(
            f"schema must be an identifier of letters, digits and underscores "
            f"(at most 63, not starting with a digit), got {schema!r}"
        )
    return schema


def prefix(schema: str | None) -> str:
    """What ``{p}`` becomes in statements: ``"schema".``, or nothing for the search_path."""
    return "" if schema is None else f'"{schema}".'


@lru_cache(maxsize=1024)
def qualify(sql: str, schema: str | None) -> str:
    """A statement template with its tables placed in ``schema``."""
    return sql.replace("{p}", prefix(schema))


_EXISTS = "SELECT to_regclass(%s) IS NOT NULL"
_SCHEMA_TABLE = """CREATE TABLE IF NOT EXISTS {p}durastate_schema (
    component text PRIMARY KEY,
    version integer NOT NULL
)"""


def _version_table(schema: str | None) -> str:
    return f"{prefix(schema)}durastate_schema"


def version_body(component: Component, schema: str | None) -> Body[int]:
    """The recorded version of a component (0 when it was never set up)."""
    ((exists,),) = yield Rows(_EXISTS, (_version_table(schema),))
    if not exists:
        return 0
    rows = yield Rows(
        qualify("SELECT version FROM {p}durastate_schema WHERE component = %s", schema),
        (component.name,),
    )
    return int(rows[0][0]) if rows else 0


def _check_known(component: Component, version: int) -> None:
    if version > component.latest:
        raise SchemaVersionError(
            f"the database's {component.name} schema is at version {version}, newer than the "
            f"{component.latest} this version of durastate knows; upgrade durastate"
        )


def migrate_body(component: Component, schema: str | None) -> Body[int]:
    """Lock, then apply what is missing; the driver runs this in one transaction.

    One statement per request: a connection in pipeline mode cannot run several at once.
    """
    if schema is None:
        yield Rows(
            "SELECT pg_advisory_xact_lock(hashtextextended('durastate:' || current_schema(), 0))"
        )
    else:
        yield Rows(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"durastate:{schema}",)
        )
        yield Run(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    yield Run(qualify(_SCHEMA_TABLE, schema))
    rows = yield Rows(
        qualify("SELECT version FROM {p}durastate_schema WHERE component = %s FOR UPDATE", schema),
        (component.name,),
    )
    version = int(rows[0][0]) if rows else 0
    _check_known(component, version)
    for number in range(version + 1, component.latest + 1):
        for statement in component.steps[number - 1]:
            yield Run(qualify(statement, schema))
    if version < component.latest:
        yield Run(
            qualify(
                "INSERT INTO {p}durastate_schema (component, version) VALUES (%s, %s) "
                "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                schema,
            ),
            (component.name, component.latest),
        )
    return component.latest


def version_operation(component: Component, schema: str | None) -> Operation[int]:
    return Operation(lambda: version_body(component, schema))


def migrate_operation(component: Component, schema: str | None) -> Operation[int]:
    return Operation(lambda: migrate_body(component, schema), transaction=True)


def check_version(component: Component, version: int) -> bool:
    """Whether ``version`` is current (raises when it is newer than this durastate)."""
    _check_known(component, version)
    return version == component.latest
