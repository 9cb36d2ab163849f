"""The Postgres store's tables (items; their vectors) and its approximate-nearest-neighbour index.

Items hold their value as JSONB and their times as epoch seconds (``double precision``, as
exact as every other engine's). Namespaces use the order-preserving text of
``store_rows.encode_namespace`` in the "C" collation, so ``ORDER BY ns`` sorts by labels and
a prefix is one index range. Vectors live in their own table as ``real[]`` (so a store
without an index never needs pgvector), one row per embedded text, deleted with their item
(``ON DELETE CASCADE``). The ANN index is an expression index on
``embedding::vector(dims)`` (or ``halfvec(dims)``; pgvector's casts from ``real[]`` are
immutable), partial on ``dims``, so stores of different widths and distances share one
schema, and queries written as ``ORDER BY embedding::vector(dims) <=> query LIMIT k``
use it. Writes and gets are PL/pgSQL functions (migration 2; since migration 3 a write
leaves unchanged vectors alone), so their plans are made once per session even without
prepared statements (PgBouncer); semantic searches run through ``durastate_store_ann``
(pgvector migration 2), which carries the scan settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from durastate._engines.postgres.requests import Component
from durastate.errors import InvalidInputError
from durastate.store.index import IndexSettings

_WRITE_FUNCTION = """
CREATE OR REPLACE FUNCTION {p}durastate_store_write(
    p_d_ns text[], p_d_key text[], p_u_ns text[], p_u_key text[], p_u_value text[],
    p_u_expires double precision[], p_u_ttl double precision[], p_now double precision,
    p_a_ns text[], p_a_key text[], p_a_seq integer[], p_a_field text[], p_a_dims integer[],
    p_a_vec text[], p_u_count integer[]
) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    IF cardinality(p_d_ns) > 0 THEN
        DELETE FROM {p}durastate_store i USING unnest(p_d_ns, p_d_key) AS w(ns, key)
        WHERE i.ns = (w.ns COLLATE "C") AND i.key = (w.key COLLATE "C");
    END IF;
    IF cardinality(p_u_ns) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO {p}durastate_store AS t
        (ns, key, value, created_at, updated_at, expires_at, ttl_minutes)
    SELECT u.ns, u.key, u.value::jsonb, p_now, p_now, u.expires_at, u.ttl
    FROM unnest(p_u_ns, p_u_key, p_u_value, p_u_expires, p_u_ttl)
        AS u(ns, key, value, expires_at, ttl)
    ON CONFLICT (ns, key) DO UPDATE SET
        value = excluded.value,
        updated_at = excluded.updated_at,
        expires_at = excluded.expires_at,
        ttl_minutes = excluded.ttl_minutes,
        created_at = CASE WHEN t.expires_at IS NOT NULL AND t.expires_at <= excluded.updated_at
                          THEN excluded.created_at ELSE t.created_at END;
    IF cardinality(p_a_ns) > 0 THEN
        INSERT INTO {p}durastate_store_vectors AS t (ns, key, seq, field, dims, embedding)
        SELECT a.ns, a.key, a.seq, a.field, a.dims, a.embedding::real[]
        FROM unnest(p_a_ns, p_a_key, p_a_seq, p_a_field, p_a_dims, p_a_vec)
            AS a(ns, key, seq, field, dims, embedding)
        ON CONFLICT (ns, key, seq) DO UPDATE SET
            field = excluded.field, dims = excluded.dims, embedding = excluded.embedding;
    END IF;
    DELETE FROM {p}durastate_store_vectors v
    USING unnest(p_u_ns, p_u_key, p_u_count) AS c(ns, key, n)
    WHERE v.ns = (c.ns COLLATE "C") AND v.key = (c.key COLLATE "C") AND v.seq >= c.n;
END
$fn$"""
"""Every delete and upsert of a batch, vectors upserted by position and the surplus cut."""

_WRITE_KEEPING_FUNCTION = """
CREATE OR REPLACE FUNCTION {p}durastate_store_write(
    p_d_ns text[], p_d_key text[], p_u_ns text[], p_u_key text[], p_u_value text[],
    p_u_expires double precision[], p_u_ttl double precision[], p_now double precision,
    p_a_ns text[], p_a_key text[], p_a_seq integer[], p_a_field text[], p_a_dims integer[],
    p_a_vec text[], p_u_count integer[]
) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    IF cardinality(p_d_ns) > 0 THEN
        DELETE FROM {p}durastate_store i USING unnest(p_d_ns, p_d_key) AS w(ns, key)
        WHERE i.ns = (w.ns COLLATE "C") AND i.key = (w.key COLLATE "C");
    END IF;
    IF cardinality(p_u_ns) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO {p}durastate_store AS t
        (ns, key, value, created_at, updated_at, expires_at, ttl_minutes)
    SELECT u.ns, u.key, u.value::jsonb, p_now, p_now, u.expires_at, u.ttl
    FROM unnest(p_u_ns, p_u_key, p_u_value, p_u_expires, p_u_ttl)
        AS u(ns, key, value, expires_at, ttl)
    ON CONFLICT (ns, key) DO UPDATE SET
        value = excluded.value,
        updated_at = excluded.updated_at,
        expires_at = excluded.expires_at,
        ttl_minutes = excluded.ttl_minutes,
        created_at = CASE WHEN t.expires_at IS NOT NULL AND t.expires_at <= excluded.updated_at
                          THEN excluded.created_at ELSE t.created_at END;
    IF cardinality(p_a_ns) > 0 THEN
        INSERT INTO {p}durastate_store_vectors AS t (ns, key, seq, field, dims, embedding)
        SELECT a.ns, a.key, a.seq, a.field, a.dims, a.embedding::real[]
        FROM unnest(p_a_ns, p_a_key, p_a_seq, p_a_field, p_a_dims, p_a_vec)
            AS a(ns, key, seq, field, dims, embedding)
        ON CONFLICT (ns, key, seq) DO UPDATE SET
            field = excluded.field, dims = excluded.dims, embedding = excluded.embedding
        WHERE (t.field, t.dims, t.embedding)
            IS DISTINCT FROM (excluded.field, excluded.dims, excluded.embedding);
    END IF;
    DELETE FROM {p}durastate_store_vectors v
    USING unnest(p_u_ns, p_u_key, p_u_count) AS c(ns, key, n)
    WHERE v.ns = (c.ns COLLATE "C") AND v.key = (c.key COLLATE "C") AND v.seq >= c.n;
END
$fn$"""
"""``durastate_store_write`` leaving a vector row alone when its item is written again with
the same field and embedding: no new row version, so no new HNSW/IVFFlat index entry (the
cost of a vector write) when a value changes but its embedded text does not."""

_GET_FUNCTION = """
CREATE OR REPLACE FUNCTION {p}durastate_store_get(
    p_ns text[], p_key text[], p_refresh boolean[], p_now double precision
) RETURNS TABLE (o_ns text, o_key text, o_value text, o_created double precision,
                 o_updated double precision, o_ttl double precision)
LANGUAGE plpgsql AS $fn$
BEGIN
    RETURN QUERY
    SELECT i.ns::text, i.key::text, i.value::text, i.created_at, i.updated_at, i.ttl_minutes
    FROM unnest(p_ns, p_key) AS w(ns, key)
    JOIN {p}durastate_store i ON i.ns = (w.ns COLLATE "C") AND i.key = (w.key COLLATE "C")
    WHERE i.expires_at IS NULL OR i.expires_at > p_now;
    IF true = ANY(p_refresh) THEN
        UPDATE {p}durastate_store i SET expires_at = p_now + i.ttl_minutes * 60.0
        FROM unnest(p_ns, p_key, p_refresh) AS w(ns, key, refresh)
        WHERE w.refresh AND i.ns = (w.ns COLLATE "C") AND i.key = (w.key COLLATE "C")
          AND i.ttl_minutes IS NOT NULL AND i.expires_at > p_now;
    END IF;
END
$fn$"""
"""Live items by (namespace, key), refreshing the TTL of those asked to, after reading."""

STORE = Component(
    "store",
    (
        (
            """CREATE TABLE IF NOT EXISTS {p}durastate_store (
                ns text COLLATE "C" NOT NULL,
                key text COLLATE "C" NOT NULL,
                value jsonb NOT NULL,
                created_at double precision NOT NULL,
                updated_at double precision NOT NULL,
                expires_at double precision,
                ttl_minutes double precision,
                PRIMARY KEY (ns, key)
            )""",
            """CREATE INDEX IF NOT EXISTS durastate_store_by_recency
                ON {p}durastate_store (updated_at DESC, ns, key)""",
            """CREATE INDEX IF NOT EXISTS durastate_store_by_expiry
                ON {p}durastate_store (expires_at) WHERE expires_at IS NOT NULL""",
            """CREATE TABLE IF NOT EXISTS {p}durastate_store_vectors (
                ns text COLLATE "C" NOT NULL,
                key text COLLATE "C" NOT NULL,
                seq integer NOT NULL,
                field text NOT NULL,
                dims integer NOT NULL,
                embedding real[] NOT NULL,
                PRIMARY KEY (ns, key, seq),
                FOREIGN KEY (ns, key) REFERENCES {p}durastate_store (ns, key)
                    ON DELETE CASCADE
            )""",
        ),
        (_WRITE_FUNCTION, _GET_FUNCTION),
        (_WRITE_KEEPING_FUNCTION,),
    ),
)

_ANN_FUNCTION = """
CREATE OR REPLACE FUNCTION {p}durastate_store_ann(
    p_sql text, p_args text[], p_ef integer, p_probes integer
) RETURNS TABLE (o_ns text, o_key text, o_value text, o_created double precision,
                 o_updated double precision, o_ttl double precision, o_embedding real[])
LANGUAGE plpgsql
SET hnsw.iterative_scan = 'relaxed_order'
SET hnsw.ef_search = '40'
SET ivfflat.iterative_scan = 'relaxed_order'
SET ivfflat.probes = '1'
AS $fn$
BEGIN
    PERFORM set_config('hnsw.ef_search', p_ef::text, true),
            set_config('ivfflat.probes', p_probes::text, true);
    RETURN QUERY EXECUTE p_sql USING p_args;
END
$fn$"""
"""A candidate query of a semantic search run with the ANN scan settings in force.

The settings are the function's own (its ``SET`` clauses), so they last for this call
only, in autocommit or inside the caller's transaction, behind PgBouncer too, and the
search is one statement (no ``BEGIN`` / ``SET LOCAL`` / ``COMMIT`` round trips).
``p_sql`` reads its parameters as ``$1[i]`` (text, cast in the query)."""

PGVECTOR = Component(
    "store_pgvector",
    (
        ("CREATE EXTENSION IF NOT EXISTS vector",),
        (_ANN_FUNCTION,),
    ),
)
"""What semantic search needs besides the tables: pgvector, and the search function."""

_OPERATORS = {"cosine": "<=>", "l2": "<->", "inner_product": "<#>"}
_OPCLASS = {"cosine": "cosine", "l2": "l2", "inner_product": "ip"}
_KINDS = ("hnsw", "ivfflat", "flat")
_VECTOR_TYPES = ("vector", "halfvec")
_MAX_INDEXED = {"vector": 2000, "halfvec": 4000}


def _positive_int(config: Mapping[str, Any], name: str, default: int) -> int:
    value = config.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInputError(f"ann_index_config[{name!r}] must be a positive int, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class VectorLayout:
    """How one store's vectors are indexed and queried (all values are checked literals)."""

    dims: int
    distance: str
    kind: str
    vector_type: str
    m: int = 16
    ef_construction: int = 64
    ef_search: int | None = None
    nlist: int = 100
    probes: int | None = None

    @property
    def operator(self) -> str:
        return _OPERATORS[self.distance]

    @property
    def cast(self) -> str:
        """The expression the index covers (and queries order by)."""
        return f"embedding::{self.vector_type}({self.dims})"

    def query_cast(self, placeholder: str) -> str:
        return f"{placeholder}::{self.vector_type}({self.dims})"

    @property
    def index_name(self) -> str:
        short = {"cosine": "cos", "l2": "l2", "inner_product": "ip"}[self.distance]
        base = f"durastate_vec_{self.kind}_{self.vector_type}{self.dims}_{short}"
        if self.kind == "hnsw":
            return f"{base}_m{self.m}_ef{self.ef_construction}"
        return f"{base}_l{self.nlist}"

    def index_sql(self) -> str | None:
        """``CREATE INDEX`` for the ANN index (None for ``flat``: exact scans only)."""
        if self.kind == "flat":
            return None
        opclass = f"{self.vector_type}_{_OPCLASS[self.distance]}_ops"
        if self.kind == "hnsw":
            options = f"m = {self.m}, ef_construction = {self.ef_construction}"
        else:
            options = f"lists = {self.nlist}"
        return (
            f"CREATE INDEX IF NOT EXISTS {self.index_name} ON {{p}}durastate_store_vectors "
            f"USING {self.kind} (({self.cast}) {opclass}) WITH ({options}) "
            f"WHERE dims = {self.dims}"
        )

    def scan_values(self, candidates: int) -> tuple[int, int]:
        """``hnsw.ef_search`` and ``ivfflat.probes`` for a scan asked for ``candidates`` rows."""
        ef = self.ef_search or min(1000, max(100, 2 * candidates))
        probes = self.probes or max(1, min(self.nlist, 10))
        return ef, probes

    def scan_settings(self, candidates: int) -> str | None:
        """``SET LOCAL`` statements of the settings ``durastate_store_ann`` runs a scan with
        (to ``EXPLAIN`` a candidate query as it runs), letting it go on past filtered rows.

        Both index kinds are configured, since another store on the same schema may have
        built the other kind on the same expression and the planner may pick it. None for
        ``flat``: its queries never use an index.
        """
        if self.kind == "flat":
            return None
        ef, probes = self.scan_values(candidates)
        return (
            "SET LOCAL hnsw.iterative_scan = relaxed_order; "
            f"SET LOCAL hnsw.ef_search = {ef}; "
            "SET LOCAL ivfflat.iterative_scan = relaxed_order; "
            f"SET LOCAL ivfflat.probes = {probes}"
        )


def vector_layout(settings: IndexSettings) -> VectorLayout:
    """The layout an index configuration asks for (``ann_index_config`` as in LangGraph's)."""
    raw = settings.extra.get("ann_index_config") or {}
    if not isinstance(raw, Mapping):
        raise InvalidInputError(f"ann_index_config must be a mapping, got {type(raw).__name__}")
    kind = raw.get("kind", "hnsw")
    if kind not in _KINDS:
        raise InvalidInputError(f"ann_index_config['kind'] must be one of {_KINDS}, got {kind!r}")
    vector_type = raw.get("vector_type", "vector")
    if vector_type not in _VECTOR_TYPES:
        raise InvalidInputError(
            f"ann_index_config['vector_type'] must be one of {_VECTOR_TYPES}, got {vector_type!r}"
        )
    if kind != "flat" and settings.dims > _MAX_INDEXED[vector_type]:
        raise InvalidInputError(
            f"pgvector indexes {vector_type} of at most {_MAX_INDEXED[vector_type]} dimensions "
            f"(dims is {settings.dims}); use ann_index_config {{'vector_type': 'halfvec'}} "
            "(up to 4000) or {'kind': 'flat'} (exact search, no index)"
        )
    ef_search = raw.get("ef_search")
    probes = raw.get("probes")
    return VectorLayout(
        dims=settings.dims,
        distance=settings.distance_type,
        kind=kind,
        vector_type=vector_type,
        m=_positive_int(raw, "m", 16),
        ef_construction=_positive_int(raw, "ef_construction", 64),
        ef_search=None if ef_search is None else _positive_int(raw, "ef_search", 40),
        nlist=_positive_int(raw, "nlist", 100),
        probes=None if probes is None else _positive_int(raw, "probes", 1),
    )
