"""The live threads of a Postgres saver, read from the checkpoints table's index."""

from __future__ import annotations

import time

from durastate._engines.postgres.checkpoint_read import ts
from durastate._engines.postgres.migrations import qualify
from durastate._engines.postgres.requests import Body, Operation, Rows
from durastate._engines.postgres.schema import CHECKPOINTS

_LIVE_THREADS = """SELECT DISTINCT c.thread_id FROM {p}durastate_checkpoints c
WHERE NOT EXISTS (SELECT 1 FROM {p}durastate_threads t
                  WHERE t.thread_id = c.thread_id AND t.expires_at <= %(now)s)
ORDER BY c.thread_id"""


def thread_ids_operation(schema: str | None) -> Operation[list[str]]:
    """Every thread holding a checkpoint that has not expired, sorted (one query)."""
    sql = qualify(_LIVE_THREADS, schema)

    def body() -> Body[list[str]]:
        rows = yield Rows(sql, {"now": ts(time.time())})
        return [str(r[0]) for r in rows]

    return Operation(body, needs=(CHECKPOINTS,))
