"""The SQLite engine shared by ``SqliteSaver``, ``SqliteStore`` and ``SqliteCache``.

Operations are generators of statements (``requests``) run by a blocking or an async
driver (``drivers``), so sqlite3 and aiosqlite share every statement, migration and
row decoder. ``migrations`` sets up connections and schemas; ``checkpoint_*``,
``store_*`` and ``cache_ops`` hold each part's statements.
"""
