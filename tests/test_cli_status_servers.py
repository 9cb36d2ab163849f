"""`durastate status` on Postgres and Redis: counts and bytes of one schema or prefix only;
unreachable servers fail at once with the server's reason and no password."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import postgres_support
import pytest
from migrate_support import index_config, populate
from postgres_support import Schemas
from redis_support import delete_prefix

from durastate.cli.main import EXIT_FAILURE, EXIT_OK, run
from durastate.connect import open_backends

schemas = postgres_support.schemas
schema_pool = postgres_support.schema_pool


@pytest.fixture(autouse=True)
def _no_urls_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DURASTATE_URL", raising=False)


def status(capsys: pytest.CaptureFixture[str], url: str) -> dict[str, Any]:
    code = run(["status", url, "--json"])
    out, err = capsys.readouterr()
    assert code == EXIT_OK, err
    result: dict[str, Any] = json.loads(out)
    return result


def fill(url: str, *, vectors: bool = True) -> None:
    with open_backends(url, index=index_config() if vectors else None) as backends:
        populate(backends.checkpointer, backends.store)
        backends.cache.set({(("node",), "k1"): ("x" * 2000, None)})


def check_counts(result: dict[str, Any]) -> None:
    cp, store = result["checkpointer"], result["store"]
    assert (cp["threads"], cp["checkpoints"]) == (2, 16)
    assert store["items"] == 4 and result["cache"]["entries"] == 1


def test_postgres_status_counts_bytes_of_its_own_schema(
    capsys: pytest.CaptureFixture[str], postgres_url: str, schemas: Schemas
) -> None:
    empty = f"{postgres_url}?schema={schemas.new()}"
    full = f"{postgres_url}?schema={schemas.new()}"
    before = status(capsys, full)["bytes"]
    fill(full)
    result = status(capsys, full)
    check_counts(result)
    assert result["bytes"] > before > 0
    assert status(capsys, empty)["bytes"] < result["bytes"]
    assert status(capsys, empty)["checkpointer"]["threads"] == 0


@pytest.fixture
def prefixes(redis_stack_url: str, redis_cluster_url: str) -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    for prefix in made:
        delete_prefix(redis_stack_url, prefix)
        delete_prefix(redis_cluster_url, prefix)


@pytest.mark.parametrize("server", ["redis_stack", "redis_cluster"])
def test_redis_status_counts_memory_of_its_own_prefix(
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
    server: str,
    prefixes: list[str],
) -> None:
    base = request.getfixturevalue(f"{server}_url")
    full, other = f"ds-{uuid.uuid4().hex[:10]}", f"ds-{uuid.uuid4().hex[:10]}"
    prefixes += [full, other]
    fill(f"{base}?key_prefix={full}", vectors=server == "redis_stack")
    result = status(capsys, f"{base}?key_prefix={full}")
    check_counts(result)
    assert result["bytes"] > 2000
    assert status(capsys, f"{base}?key_prefix={other}")["bytes"] == 0
    nested = f"{full}:eu"  # its keys also match the SCAN pattern "<full>:*"
    prefixes.append(nested)
    fill(f"{base}?key_prefix={nested}", vectors=False)
    assert status(capsys, f"{base}?key_prefix={full}")["bytes"] == result["bytes"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:pa55-secret@127.0.0.1:{port}/db",
        "redis://:pa55-secret@127.0.0.1:{port}/0",
    ],
)
@pytest.mark.parametrize("command", ["status", "setup", "sweep", "copy-to"])
def test_an_unreachable_server_fails_at_once_with_its_reason(
    capsys: pytest.CaptureFixture[str], url: str, command: str, tmp_path: Any
) -> None:
    target = url.format(port=closed_port())
    args = ["copy", "memory://", target] if command == "copy-to" else [command, target]
    code = run(args)
    out, err = capsys.readouterr()
    assert code == EXIT_FAILURE
    assert "cannot reach" in err and "refused" in err.lower()
    assert "pa55-secret" not in out + err and "***" in err


def test_a_wrong_password_is_reported_without_it(
    capsys: pytest.CaptureFixture[str], postgres_url: str
) -> None:
    wrong = postgres_url.replace("durastate@", "not-the-password@", 1)
    assert wrong != postgres_url
    code = run(["status", wrong])
    out, err = capsys.readouterr()
    assert code == EXIT_FAILURE and "password authentication failed" in err
    assert "not-the-password" not in out + err
