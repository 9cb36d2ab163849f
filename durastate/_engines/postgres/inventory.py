"""What the CLI's ``status`` asks Postgres: bytes of durastate's tables in one schema."""

from __future__ import annotations

TABLE_BYTES = """
SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND left(c.relname, 10) = 'durastate_'
  AND n.nspname = coalesce(%s, current_schema())
"""
"""Tables with their indexes and TOAST; parameter: the schema (None: the first on the path)."""
