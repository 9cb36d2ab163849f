"""Fail fast, with the server's own reason, when a backend's server cannot be reached."""

from __future__ import annotations

from typing import Any

from durastate.cli.failures import CommandFailed
from durastate.connect import BackendURL, redact

CONNECT_TIMEOUT = 10
"""Seconds to wait for a server to answer (a pool would wait 30 s and hide the reason)."""


def check_reachable(url: BackendURL, role: str = "", timeout: int = CONNECT_TIMEOUT) -> None:
    """Connect once to a Postgres or Redis server and close again; raise ``CommandFailed``
    naming the ``role`` ("source", "destination") when there is one."""
    try:
        if url.engine == "postgres":
            _probe_postgres(url.target, timeout)
        elif url.engine == "redis":
            _probe_redis(url.target, timeout)
    except Exception as exc:
        reason = redact(f"{type(exc).__name__}: {exc}".strip(), url.secrets)
        what = f"the {role} " if role else ""
        raise CommandFailed(f"cannot reach {what}{url.masked}: {reason}") from None


def _probe_postgres(target: str, timeout: int) -> None:
    import psycopg

    extra: dict[str, Any] = {} if "connect_timeout=" in target else {"connect_timeout": timeout}
    psycopg.connect(target, autocommit=True, **extra).close()


def _probe_redis(target: str, timeout: int) -> None:
    import redis

    client = redis.Redis.from_url(
        target,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        single_connection_client=True,
    )
    try:
        client.ping()
    finally:
        client.close()
