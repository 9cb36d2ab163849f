"""Giving space back: incremental vacuum after deletes, and a full ``VACUUM`` on request.

New files get ``auto_vacuum=INCREMENTAL`` (see ``migrations.configure_body``), so
``vacuum_operation`` after a delete, prune or sweep truncates the freed pages away (in
WAL mode the file shrinks at the next WAL checkpoint). A file created without it (by
another program) keeps its free pages for reuse until ``compact_operation`` runs a full
``VACUUM``, which also switches it to incremental mode.
"""

from __future__ import annotations

from durastate._engines.sqlite.requests import Body, InTransaction, Operation, Rows, Script


def vacuum_operation() -> Operation[int]:
    """Give free pages back to the file system; answers how many there were."""

    def body() -> Body[int]:
        if (yield InTransaction()):
            return 0  # the caller's transaction is open; executescript would commit it
        (free,) = (yield Rows("PRAGMA freelist_count"))[0]
        if int(free):
            yield Script("PRAGMA incremental_vacuum;")
        return int(free)

    return Operation("auto", body)


def compact_operation() -> Operation[int]:
    """Rewrite the whole file (``VACUUM``) in incremental auto-vacuum mode; answers pages."""

    def body() -> Body[int]:
        if (yield InTransaction()):
            raise RuntimeError("VACUUM cannot run inside the caller's open transaction")
        yield Script("PRAGMA auto_vacuum = INCREMENTAL; VACUUM;")
        (pages,) = (yield Rows("PRAGMA page_count"))[0]
        return int(pages)

    return Operation("auto", body)
