"""The tables of the Postgres checkpointer (store and cache join later), as numbered migrations.

Checkpoints hold the bare checkpoint and its metadata exactly as serialized, a JSONB
projection of the metadata (GIN-indexed for ``list(filter=...)``) and ``blob_versions``,
the channel versions whose values live once per (thread, namespace, channel, version) in
``durastate_checkpoint_blobs``. Thread expiry (TTL) is one row per thread in
``durastate_threads``, so refreshing a thread is one small update. Key columns use the
"C" collation, so ids order by code point whatever the database's locale. Append new
migrations to a component's ``steps``; never edit a released one.
"""

from __future__ import annotations

from durastate._engines.postgres.requests import Component

CHECKPOINTS = Component(
    "checkpoint",
    (
        (
            """CREATE TABLE IF NOT EXISTS {p}durastate_checkpoints (
                thread_id text COLLATE "C" NOT NULL,
                checkpoint_ns text COLLATE "C" NOT NULL,
                checkpoint_id text COLLATE "C" NOT NULL,
                parent_checkpoint_id text COLLATE "C",
                run_id text COLLATE "C",
                checkpoint_type text NOT NULL,
                checkpoint bytea NOT NULL,
                metadata_type text NOT NULL,
                metadata bytea NOT NULL,
                metadata_json jsonb NOT NULL,
                blob_versions jsonb NOT NULL,
                created_at timestamptz NOT NULL,
                PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
            )""",
            """CREATE INDEX IF NOT EXISTS durastate_checkpoints_by_id
                ON {p}durastate_checkpoints (checkpoint_id DESC, thread_id, checkpoint_ns)""",
            """CREATE INDEX IF NOT EXISTS durastate_checkpoints_by_metadata
                ON {p}durastate_checkpoints USING gin (metadata_json jsonb_path_ops)""",
            """CREATE INDEX IF NOT EXISTS durastate_checkpoints_by_run
                ON {p}durastate_checkpoints (run_id) WHERE run_id IS NOT NULL""",
            """CREATE TABLE IF NOT EXISTS {p}durastate_checkpoint_blobs (
                thread_id text COLLATE "C" NOT NULL,
                checkpoint_ns text COLLATE "C" NOT NULL,
                channel text COLLATE "C" NOT NULL,
                version text COLLATE "C" NOT NULL,
                type text NOT NULL,
                data bytea NOT NULL,
                PRIMARY KEY (thread_id, checkpoint_ns, channel, version)
            )""",
            """CREATE TABLE IF NOT EXISTS {p}durastate_checkpoint_writes (
                thread_id text COLLATE "C" NOT NULL,
                checkpoint_ns text COLLATE "C" NOT NULL,
                checkpoint_id text COLLATE "C" NOT NULL,
                task_id text COLLATE "C" NOT NULL,
                idx integer NOT NULL,
                channel text NOT NULL,
                type text NOT NULL,
                data bytea NOT NULL,
                task_path text COLLATE "C" NOT NULL,
                PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
            )""",
            """CREATE TABLE IF NOT EXISTS {p}durastate_threads (
                thread_id text COLLATE "C" PRIMARY KEY,
                expires_at timestamptz NOT NULL
            )""",
            """CREATE INDEX IF NOT EXISTS durastate_threads_by_expiry
                ON {p}durastate_threads (expires_at)""",
        ),
    ),
)
