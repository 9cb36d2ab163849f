"""The tables of the Postgres checkpointer (store and cache join later), as numbered migrations.

Checkpoints hold the bare checkpoint and its metadata exactly as serialized, a JSONB
projection of the metadata (GIN-indexed for ``list(filter=...)``) and ``blob_versions``,
the channel versions whose values live once per (thread, namespace, channel, version) in
``durastate_checkpoint_blobs``. Thread expiry (TTL) is one row per thread in
``durastate_threads``, so refreshing a thread is one small update. ``put`` is the
function ``durastate_put_checkpoint`` and ``get_tuple`` ``durastate_get_checkpoint``
(migration 2); ``put_writes`` is ``durastate_put_writes`` (migration 3, which also
replaces ``durastate_put_checkpoint``); migration 4 replaces the ``put`` and ``get``
functions so that their channel lookups use the key index, migration 5 ``put`` again
(one statement fewer). Key columns use the "C" collation, so ids order by code point
whatever the database's locale. Append new migrations to a component's ``steps``; never
edit a released one.
"""

from __future__ import annotations

from durastate._engines.postgres.requests import Component

_MISSING_V2 = """SELECT coalesce(array_agg(v.key), '{}') INTO missing
    FROM jsonb_each_text(p_unchanged) AS v
    WHERE NOT EXISTS (
        SELECT 1 FROM {p}durastate_checkpoint_blobs b
        WHERE b.thread_id = p_thread AND b.checkpoint_ns = p_ns
          AND b.channel = v.key AND b.version = v.value);"""
_MISSING = """    SELECT coalesce(array_agg(u.key), '{}') INTO missing
    FROM (SELECT v.key, (SELECT true FROM {p}durastate_checkpoint_blobs b
                         WHERE b.thread_id = p_thread AND b.checkpoint_ns = p_ns
                           AND b.channel = v.key AND b.version = v.value) AS found
          FROM jsonb_each_text(p_unchanged) AS v) AS u
    WHERE u.found IS NULL;"""
"""One key lookup per unchanged channel (migration 2's anti join scanned the thread's
values on every put)."""
_MISSING_V4 = """    SELECT coalesce(array_agg(u.key), '{}') INTO missing
    FROM (SELECT v.key, (SELECT true FROM {p}durastate_checkpoint_blobs b
                         WHERE b.thread_id = p_thread AND b.checkpoint_ns = p_ns
                           AND b.channel = (v.key COLLATE "C")
                           AND b.version = (v.value COLLATE "C")) AS found
          FROM jsonb_each_text(p_unchanged) AS v) AS u
    WHERE u.found IS NULL;"""
"""Migration 4: the keys compared in the key index's collation, so each lookup is one
index probe (migration 3's compared in the database's collation and read every value of
the thread's namespace for each unchanged channel)."""

_PUT_CHECKPOINT = """
CREATE OR REPLACE FUNCTION {p}durastate_put_checkpoint(
    p_thread text, p_ns text, p_id text, p_parent text, p_run text,
    p_checkpoint_type text, p_checkpoint bytea, p_metadata_type text, p_metadata bytea,
    p_metadata_json jsonb, p_versions jsonb, p_unchanged jsonb, p_now timestamptz,
    p_expires timestamptz, p_channels text[], p_blob_versions text[], p_types text[],
    p_datas bytea[]
) RETURNS text[] LANGUAGE plpgsql AS $fn$
DECLARE
    expired boolean;
    missing text[];
BEGIN
    SELECT EXISTS (SELECT 1 FROM {p}durastate_threads
                   WHERE thread_id = p_thread AND expires_at <= p_now) INTO expired;
    IF expired THEN
        DELETE FROM {p}durastate_checkpoint_writes WHERE thread_id = p_thread;
        DELETE FROM {p}durastate_checkpoints WHERE thread_id = p_thread;
        DELETE FROM {p}durastate_checkpoint_blobs WHERE thread_id = p_thread;
    END IF;
    IF p_expires IS NOT NULL THEN
        INSERT INTO {p}durastate_threads AS t (thread_id, expires_at)
        VALUES (p_thread, p_expires)
        ON CONFLICT (thread_id) DO UPDATE SET expires_at = excluded.expires_at;
    ELSIF expired THEN
        DELETE FROM {p}durastate_threads WHERE thread_id = p_thread;
    END IF;
    INSERT INTO {p}durastate_checkpoint_blobs AS b
        (thread_id, checkpoint_ns, channel, version, type, data)
    SELECT p_thread, p_ns, n.channel, n.version, n.type, n.data
    FROM unnest(p_channels, p_blob_versions, p_types, p_datas) AS n(channel, version, type, data)
    ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO UPDATE
        SET type = excluded.type, data = excluded.data
        WHERE (b.type, b.data) IS DISTINCT FROM (excluded.type, excluded.data);
    INSERT INTO {p}durastate_checkpoints AS c (
        thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, run_id,
        checkpoint_type, checkpoint, metadata_type, metadata, metadata_json,
        blob_versions, created_at)
    VALUES (p_thread, p_ns, p_id, p_parent, p_run, p_checkpoint_type, p_checkpoint,
            p_metadata_type, p_metadata, p_metadata_json, p_versions, p_now)
    ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET
        parent_checkpoint_id = excluded.parent_checkpoint_id, run_id = excluded.run_id,
        checkpoint_type = excluded.checkpoint_type, checkpoint = excluded.checkpoint,
        metadata_type = excluded.metadata_type, metadata = excluded.metadata,
        metadata_json = excluded.metadata_json, blob_versions = excluded.blob_versions,
        created_at = excluded.created_at;
{missing}
    RETURN missing;
END
$fn$"""
PUT_CHECKPOINT_FUNCTION_V3 = _PUT_CHECKPOINT.replace("{missing}", _MISSING)
PUT_CHECKPOINT_FUNCTION = _PUT_CHECKPOINT.replace("{missing}", _MISSING_V4)
"""``put`` as one call: PL/pgSQL keeps its statements' plans for the session, so even
without client-side prepared statements (PgBouncer) a ``put`` is not planned again. An
expired thread (not swept yet) loses its old history first; the answer names the
unchanged channels that have no stored value (to be written from the checkpoint)."""

_CHECKPOINT_ROW = """
    INSERT INTO {p}durastate_checkpoints AS c (
        thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, run_id,
        checkpoint_type, checkpoint, metadata_type, metadata, metadata_json,
        blob_versions, created_at)
    SELECT p_thread, p_ns, p_id, p_parent, p_run, p_checkpoint_type, p_checkpoint,
           p_metadata_type, p_metadata, p_metadata_json, p_versions, p_now{guard}
    ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET
        parent_checkpoint_id = excluded.parent_checkpoint_id, run_id = excluded.run_id,
        checkpoint_type = excluded.checkpoint_type, checkpoint = excluded.checkpoint,
        metadata_type = excluded.metadata_type, metadata = excluded.metadata,
        metadata_json = excluded.metadata_json, blob_versions = excluded.blob_versions,
        created_at = excluded.created_at;"""

PUT_CHECKPOINT_FUNCTION_V5 = (
    """
CREATE OR REPLACE FUNCTION {p}durastate_put_checkpoint(
    p_thread text, p_ns text, p_id text, p_parent text, p_run text,
    p_checkpoint_type text, p_checkpoint bytea, p_metadata_type text, p_metadata bytea,
    p_metadata_json jsonb, p_versions jsonb, p_unchanged jsonb, p_now timestamptz,
    p_expires timestamptz, p_channels text[], p_blob_versions text[], p_types text[],
    p_datas bytea[]
) RETURNS text[] LANGUAGE plpgsql AS $fn$
DECLARE
    stored integer;
    missing text[];
BEGIN"""
    + _CHECKPOINT_ROW.replace(
        "{guard}",
        """
    WHERE NOT EXISTS (SELECT 1 FROM {p}durastate_threads
                      WHERE thread_id = p_thread AND expires_at <= p_now)""",
    )
    + """
    GET DIAGNOSTICS stored = ROW_COUNT;
    IF stored = 0 THEN
        DELETE FROM {p}durastate_checkpoint_writes WHERE thread_id = p_thread;
        DELETE FROM {p}durastate_checkpoints WHERE thread_id = p_thread;
        DELETE FROM {p}durastate_checkpoint_blobs WHERE thread_id = p_thread;
        IF p_expires IS NULL THEN
            DELETE FROM {p}durastate_threads WHERE thread_id = p_thread;
        END IF;"""
    + _CHECKPOINT_ROW.replace("{guard}", "")
    + """
    END IF;
    IF p_expires IS NOT NULL THEN
        INSERT INTO {p}durastate_threads AS t (thread_id, expires_at)
        VALUES (p_thread, p_expires)
        ON CONFLICT (thread_id) DO UPDATE SET expires_at = excluded.expires_at;
    END IF;
    INSERT INTO {p}durastate_checkpoint_blobs AS b
        (thread_id, checkpoint_ns, channel, version, type, data)
    SELECT p_thread, p_ns, n.channel, n.version, n.type, n.data
    FROM unnest(p_channels, p_blob_versions, p_types, p_datas) AS n(channel, version, type, data)
    ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO UPDATE
        SET type = excluded.type, data = excluded.data
        WHERE (b.type, b.data) IS DISTINCT FROM (excluded.type, excluded.data);
"""
    + _MISSING_V4
    + """
    RETURN missing;
END
$fn$"""
)
"""Migration 5: ``put`` without a statement of its own for the expiry check. The checkpoint
row is written first, only if its thread has not expired; when it was not written (the
thread expired and was not swept yet), the old history goes and the row is written
again. One statement fewer per call (about 20 us of server CPU of some 270)."""

_GET_ONE_TEMPLATE = """
        SELECT c.thread_id, c.checkpoint_ns, c.checkpoint_id, c.parent_checkpoint_id,
               c.checkpoint_type, c.checkpoint, c.metadata_type, c.metadata,
               b.channels, b.types, b.datas,
               w.task_ids, w.idxs, w.channels, w.types, w.datas, w.paths
        FROM (SELECT * FROM {p}durastate_checkpoints c
              WHERE c.thread_id = p_thread AND c.checkpoint_ns = p_ns {by_id}
              ORDER BY c.checkpoint_id DESC LIMIT 1) c
        LEFT JOIN LATERAL (
{values}
        ) b ON true
        LEFT JOIN LATERAL (
            SELECT array_agg(w.task_id) AS task_ids, array_agg(w.idx) AS idxs,
                   array_agg(w.channel) AS channels, array_agg(w.type) AS types,
                   array_agg(w.data) AS datas, array_agg(w.task_path) AS paths
            FROM {p}durastate_checkpoint_writes w
            WHERE w.thread_id = c.thread_id AND w.checkpoint_ns = c.checkpoint_ns
              AND w.checkpoint_id = c.checkpoint_id
        ) w ON true
        WHERE NOT EXISTS (SELECT 1 FROM {p}durastate_threads x
                          WHERE x.thread_id = p_thread AND x.expires_at <= p_now)"""

_VALUES_V2 = """            SELECT array_agg(v.key) AS channels, array_agg(bl.type) AS types,
                   array_agg(bl.data) AS datas
            FROM jsonb_each_text(c.blob_versions) v
            JOIN {p}durastate_checkpoint_blobs bl
              ON bl.thread_id = c.thread_id AND bl.checkpoint_ns = c.checkpoint_ns
             AND bl.channel = v.key AND bl.version = v.value"""

CHANNEL_VALUES = """SELECT array_agg(v.key) AS channels, array_agg(bl.type) AS types,
           array_agg(bl.data) AS datas
    FROM jsonb_each_text(c.blob_versions) v
    CROSS JOIN LATERAL (
        SELECT x.type, x.data FROM {p}durastate_checkpoint_blobs x
        WHERE x.thread_id = c.thread_id AND x.checkpoint_ns = c.checkpoint_ns
          AND x.channel = (v.key COLLATE "C") AND x.version = (v.value COLLATE "C")
          AND x.type <> 'empty'
        LIMIT 1) bl"""
"""The stored values of checkpoint ``c``'s channels: one primary-key lookup per channel.

Keys from ``jsonb_each_text`` carry the database's collation; without ``COLLATE "C"``
they cannot use the key index, and the planner, guessing 100 channels, joined against
every value of the thread instead (a 500-checkpoint thread: 2,000+ rows per read). The
``LIMIT 1`` keeps the lookups per channel. Empty values (channels without a value) are
left out: a reader skips them anyway."""


def _get_checkpoint_function(values: str) -> str:
    one = _GET_ONE_TEMPLATE.replace("{values}", values)
    return (
        """
CREATE OR REPLACE FUNCTION {p}durastate_get_checkpoint(
    p_thread text, p_ns text, p_id text, p_now timestamptz,
    p_touch_to timestamptz, p_touch_below timestamptz
) RETURNS TABLE (
    thread_id text, checkpoint_ns text, checkpoint_id text, parent_checkpoint_id text,
    checkpoint_type text, checkpoint bytea, metadata_type text, metadata bytea,
    blob_channels text[], blob_types text[], blob_datas bytea[],
    write_tasks text[], write_idxs integer[], write_channels text[], write_types text[],
    write_datas bytea[], write_paths text[]
) LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
BEGIN
    IF p_touch_to IS NOT NULL THEN
        UPDATE {p}durastate_threads SET expires_at = p_touch_to
        WHERE thread_id = p_thread AND expires_at > p_now AND expires_at < p_touch_below;
    END IF;
    IF p_id IS NULL THEN
        RETURN QUERY"""
        + one.replace("{by_id}", "")
        + """;
    ELSE
        RETURN QUERY"""
        + one.replace("{by_id}", "AND c.checkpoint_id = p_id")
        + """;
    END IF;
END
$fn$"""
    )


GET_CHECKPOINT_FUNCTION_V2 = _get_checkpoint_function(_VALUES_V2)
GET_CHECKPOINT_FUNCTION = _get_checkpoint_function(CHANNEL_VALUES)
"""``get_tuple`` as one call, planned once per session: the checkpoint (latest of its
namespace, or by id) with its channel values and pending writes aggregated beside it, in
the columns of ``checkpoint_read``'s page query. Moves the thread's expiry first when
asked (refresh on read). Migration 4 replaced migration 2's values join (see
``CHANNEL_VALUES``)."""

PUT_WRITES_FUNCTION = """
CREATE OR REPLACE FUNCTION {p}durastate_put_writes(
    p_thread text, p_ns text, p_id text, p_now timestamptz, p_expires timestamptz,
    p_tasks text[], p_idxs integer[], p_channels text[], p_types text[], p_datas bytea[],
    p_paths text[]
) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO {p}durastate_checkpoint_writes AS w
        (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, data, task_path)
    SELECT p_thread, p_ns, p_id, n.task_id, n.idx, n.channel, n.type, n.data, n.task_path
    FROM unnest(p_tasks, p_idxs, p_channels, p_types, p_datas, p_paths)
        AS n(task_id, idx, channel, type, data, task_path)
    ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) DO UPDATE
        SET channel = excluded.channel, type = excluded.type, data = excluded.data,
            task_path = excluded.task_path
        WHERE excluded.idx < 0;
    IF p_expires IS NOT NULL THEN
        UPDATE {p}durastate_threads SET expires_at = p_expires
        WHERE thread_id = p_thread AND expires_at > p_now;
    END IF;
END
$fn$"""
"""``put_writes`` as one call, planned once per session. Special writes (negative index:
errors, interrupts, ...) replace; regular ones keep the first stored, as LangGraph's
savers do. A live thread's expiry moves (an expired one is not revived)."""

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
        (_PUT_CHECKPOINT.replace("{missing}", _MISSING_V2), GET_CHECKPOINT_FUNCTION_V2),
        (PUT_CHECKPOINT_FUNCTION_V3, PUT_WRITES_FUNCTION),
        (PUT_CHECKPOINT_FUNCTION, GET_CHECKPOINT_FUNCTION),
        (PUT_CHECKPOINT_FUNCTION_V5,),
    ),
)
