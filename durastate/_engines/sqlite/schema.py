"""The tables of the SQLite checkpointer, store and cache, as numbered migrations.

Small checkpoint channel values sit in the checkpoint row (``inline_values``, see
``inline``); larger ones live once per (thread, namespace, channel, version) in
``durastate_checkpoint_blobs``, named by the row's ``blob_versions``. A value that
extends an earlier one of its channel (a message list that grew) is stored as a delta
against it (``base_id``), with a full copy at least every ``MAX_DEPTH`` versions (see
``deltas``). Store namespaces are kept
in an order-preserving text form (see ``store_rows.encode_namespace``). Append new
migrations to a component's ``steps``; never edit a released one.
"""

from __future__ import annotations

from durastate._engines.sqlite.requests import Component

CHECKPOINTS = Component(
    "checkpoint",
    (
        (
            """CREATE TABLE IF NOT EXISTS durastate_checkpoints (
                thread_id TEXT NOT NULL,
                checkpoint_ns TEXT NOT NULL,
                checkpoint_id TEXT NOT NULL,
                parent_checkpoint_id TEXT,
                run_id TEXT,
                checkpoint_type TEXT NOT NULL,
                checkpoint BLOB NOT NULL,
                metadata_type TEXT NOT NULL,
                metadata BLOB NOT NULL,
                metadata_json TEXT NOT NULL,
                inline_values BLOB NOT NULL,
                blob_versions TEXT NOT NULL,
                created_at REAL NOT NULL,
                PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
            )""",
            """CREATE INDEX IF NOT EXISTS durastate_checkpoints_by_run
                ON durastate_checkpoints (run_id) WHERE run_id IS NOT NULL""",
            """CREATE TABLE IF NOT EXISTS durastate_checkpoint_blobs (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                thread_id TEXT NOT NULL,
                checkpoint_ns TEXT NOT NULL,
                channel TEXT NOT NULL,
                version TEXT NOT NULL,
                type TEXT NOT NULL,
                data BLOB NOT NULL,
                base_id INTEGER REFERENCES durastate_checkpoint_blobs (id),
                base_skip INTEGER NOT NULL DEFAULT 0,
                head_len INTEGER NOT NULL DEFAULT 0,
                depth INTEGER NOT NULL DEFAULT 0,
                UNIQUE (thread_id, checkpoint_ns, channel, version)
            )""",
            """CREATE INDEX IF NOT EXISTS durastate_checkpoint_blobs_by_base
                ON durastate_checkpoint_blobs (base_id) WHERE base_id IS NOT NULL""",
            """CREATE TABLE IF NOT EXISTS durastate_checkpoint_writes (
                thread_id TEXT NOT NULL,
                checkpoint_ns TEXT NOT NULL,
                checkpoint_id TEXT NOT NULL,
                task_id TEXT NOT NULL,
                idx INTEGER NOT NULL,
                channel TEXT NOT NULL,
                type TEXT NOT NULL,
                data BLOB NOT NULL,
                task_path TEXT NOT NULL,
                PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
            )""",
            """CREATE TABLE IF NOT EXISTS durastate_threads (
                thread_id TEXT PRIMARY KEY,
                expires_at REAL NOT NULL
            ) WITHOUT ROWID""",
            """CREATE INDEX IF NOT EXISTS durastate_threads_by_expiry
                ON durastate_threads (expires_at)""",
        ),
    ),
)

STORE = Component(
    "store",
    (
        (
            """CREATE TABLE IF NOT EXISTS durastate_store (
                id INTEGER PRIMARY KEY,
                ns TEXT NOT NULL,
                key TEXT NOT NULL,
                value TEXT NOT NULL,
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL,
                expires_at REAL,
                ttl_minutes REAL,
                UNIQUE (ns, key)
            )""",
            """CREATE INDEX IF NOT EXISTS durastate_store_live
                ON durastate_store (ns, expires_at)""",
            """CREATE INDEX IF NOT EXISTS durastate_store_by_expiry
                ON durastate_store (expires_at) WHERE expires_at IS NOT NULL""",
            """CREATE TABLE IF NOT EXISTS durastate_store_vectors (
                item_id INTEGER NOT NULL REFERENCES durastate_store (id) ON DELETE CASCADE,
                seq INTEGER NOT NULL,
                field TEXT NOT NULL,
                embedding BLOB NOT NULL,
                PRIMARY KEY (item_id, seq)
            )""",
            """CREATE TABLE IF NOT EXISTS durastate_store_changes (
                name TEXT PRIMARY KEY,
                counter INTEGER NOT NULL
            )""",
            """INSERT OR IGNORE INTO durastate_store_changes (name, counter)
                VALUES ('vectors', 0)""",
            """CREATE TRIGGER IF NOT EXISTS durastate_store_vectors_added
                AFTER INSERT ON durastate_store_vectors BEGIN
                UPDATE durastate_store_changes SET counter = counter + 1 WHERE name = 'vectors';
                END""",
            """CREATE TRIGGER IF NOT EXISTS durastate_store_vectors_removed
                AFTER DELETE ON durastate_store_vectors BEGIN
                UPDATE durastate_store_changes SET counter = counter + 1 WHERE name = 'vectors';
                END""",
        ),
    ),
)

CACHE = Component(
    "cache",
    (
        (
            """CREATE TABLE IF NOT EXISTS durastate_cache (
                ns TEXT NOT NULL,
                key TEXT NOT NULL,
                type TEXT NOT NULL,
                data BLOB NOT NULL,
                expires_at REAL,
                PRIMARY KEY (ns, key)
            )""",
            """CREATE INDEX IF NOT EXISTS durastate_cache_by_expiry
                ON durastate_cache (expires_at) WHERE expires_at IS NOT NULL""",
        ),
    ),
)
