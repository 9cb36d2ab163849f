"""The live threads of a SQLite saver, read from the checkpoints table's index."""

from __future__ import annotations

import time

from durastate._engines.sqlite.requests import Body, Operation, Rows
from durastate._engines.sqlite.schema import CHECKPOINTS

_LIVE_THREADS = """SELECT DISTINCT c.thread_id FROM durastate_checkpoints c
WHERE NOT EXISTS (SELECT 1 FROM durastate_threads t
                  WHERE t.thread_id = c.thread_id AND t.expires_at <= :now)
ORDER BY c.thread_id"""


def thread_ids_operation() -> Operation[list[str]]:
    """Every thread holding a checkpoint that has not expired, sorted."""

    def body() -> Body[list[str]]:
        rows = yield Rows(_LIVE_THREADS, {"now": time.time()})
        return [str(r[0]) for r in rows]

    return Operation("read", body, (CHECKPOINTS,))
