"""PostgreSQL plumbing shared by the Postgres checkpointer, store and cache (psycopg 3)."""
