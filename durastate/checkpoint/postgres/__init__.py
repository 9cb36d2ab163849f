"""PostgreSQL checkpointers: ``PostgresSaver`` (psycopg, blocking) and ``AsyncPostgresSaver``.

Drop-in for ``langgraph.checkpoint.postgres``: ``PostgresSaver(conn)`` with a psycopg
``Connection`` or ``ConnectionPool``, ``PostgresSaver.from_conn_string(url)`` as a context
manager, ``setup()``. Differences that matter in production: a pool is used without a
saver-wide lock (concurrent runs proceed in parallel); prepared statements are off by
default, so PgBouncer in transaction mode works (``prepare_threshold=`` turns them on);
tables are created or upgraded on first use (``auto_setup=False`` for roles that cannot
run DDL; then ``setup()`` must have been run by a role that can), serialized by an
advisory lock; ``schema=`` places the tables in a schema of their own (created if
missing). ``put`` and ``put_writes`` are one statement each, ``get_tuple`` one query and
``list`` one query per page of 100. Thread retention (``prune``, ``delete_for_runs``,
``copy_thread``, thread TTL with a sweeper) works as on every durastate saver.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import DeltaChannelHistory
from langgraph.checkpoint.serde.base import SerializerProtocol
from psycopg import Connection, Pipeline
from psycopg_pool import ConnectionPool

from durastate._engines.postgres.connections import SyncDatabase
from durastate._engines.postgres.schema import CHECKPOINTS
from durastate.checkpoint.base import CheckpointTTLConfig
from durastate.checkpoint.executors import OpsCheckpointer
from durastate.checkpoint.postgres import _core
from durastate.checkpoint.postgres.aio import AsyncPostgresSaver
from durastate.errors import InvalidInputError


class PostgresSaver(OpsCheckpointer):
    """Checkpoints in PostgreSQL through psycopg 3 (blocking); ``a*`` methods use threads.

    ``conn``: a ``psycopg.Connection`` (used by one call at a time; left open), a
    ``psycopg_pool.ConnectionPool`` (each call takes its own connection; left open), or a
    ``postgresql://`` URL for a pool the saver opens and closes (``pool_config``: keyword
    arguments of ``ConnectionPool``, e.g. ``{"max_size": 20}``). Connections may be in
    autocommit or not; with an open transaction of the caller's, the saver's work becomes
    part of it. ``pipe`` is accepted for compatibility with LangGraph's saver.
    """

    def __init__(
        self,
        conn: Connection[Any] | ConnectionPool[Any] | str,
        pipe: Pipeline | None = None,
        serde: SerializerProtocol | None = None,
        *,
        ttl: CheckpointTTLConfig | None = None,
        schema: str | None = None,
        prepare_threshold: int | None = None,
        auto_setup: bool = True,
        pool_config: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(serde=serde, ttl=ttl)
        if pipe is not None and not isinstance(conn, Connection):
            raise InvalidInputError("a pipeline can only be used with a single Connection")
        self._db = SyncDatabase(
            conn,
            schema=schema,
            prepare_threshold=prepare_threshold,
            auto_setup=auto_setup,
            pool_config=pool_config,
        )
        self.conn = conn if not isinstance(conn, str) else self._db.pool
        self.pipe = pipe
        self.lock = self._db.lock
        self.schema = self._db.schema
        self._ops = _core.PostgresOps(self._db.schema)

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        pipeline: bool = False,
        serde: SerializerProtocol | None = None,
        ttl: CheckpointTTLConfig | None = None,
        schema: str | None = None,
        prepare_threshold: int | None = None,
        auto_setup: bool = True,
        pool_config: Mapping[str, Any] | None = None,
    ) -> Iterator[PostgresSaver]:
        """A saver on its own connection pool for ``conn_string``, closed on exit.

        ``pipeline`` is accepted for compatibility and has no effect: each call is already
        one round trip.
        """
        saver = cls(
            conn_string,
            serde=serde,
            ttl=ttl,
            schema=schema,
            prepare_threshold=prepare_threshold,
            auto_setup=auto_setup,
            pool_config=pool_config,
        )
        try:
            yield saver
        finally:
            saver.close()

    def __enter__(self) -> PostgresSaver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the TTL sweeper and close the pool if the saver opened it."""
        self.stop_ttl_sweeper()
        self._db.close()

    @property
    def is_setup(self) -> bool:
        return CHECKPOINTS.name in self._db.ready

    def setup(self) -> None:
        """Create or upgrade the tables now (otherwise done on first use)."""
        self._db.setup(CHECKPOINTS)

    def schema_version(self) -> int:
        """The checkpoint schema version recorded in the database (0 before setup)."""
        return self._db.version(CHECKPOINTS)

    def _run(self, op: Any) -> Any:
        return self._db.run(op)

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """The writes and nearest stored value of delta channels, in one query."""
        return super().get_delta_channel_history(config=config, channels=channels)


__all__ = ["AsyncPostgresSaver", "PostgresSaver"]
