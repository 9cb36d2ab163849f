"""Opening backends by URL: parsing, password masking, and the classes each scheme opens."""

from __future__ import annotations

from pathlib import Path

import pytest

from durastate.cache import InMemoryCache
from durastate.checkpoint import InMemorySaver
from durastate.connect import (
    BackendURL,
    InvalidURLError,
    aopen_backends,
    mask_url,
    open_backends,
    parse_url,
    redact,
    url_secrets,
)
from durastate.demo.embedder import HashingEmbeddings
from durastate.store import InMemoryStore

SECRET = "s3cr3t-pw"


@pytest.mark.parametrize(
    ("url", "engine", "target", "cluster"),
    [
        ("memory://", "memory", "", False),
        ("sqlite:///app.db", "sqlite", "app.db", False),
        ("sqlite:///data/app.db", "sqlite", "data/app.db", False),
        ("sqlite:////var/lib/app.db", "sqlite", "/var/lib/app.db", False),
        ("sqlite:///:memory:", "sqlite", ":memory:", False),
        ("sqlite:///my%20dir/a.db", "sqlite", "my dir/a.db", False),
        (
            "postgresql://u:pw@db.example:5432/app?sslmode=require",
            "postgres",
            "postgresql://u:pw@db.example:5432/app?sslmode=require",
            False,
        ),
        ("postgres://db.example/app", "postgres", "postgres://db.example/app", False),
        ("postgresql:///app", "postgres", "postgresql:///app", False),
        ("redis://localhost:6379/0", "redis", "redis://localhost:6379/0", False),
        ("rediss://:pw@cache.example:6380", "redis", "rediss://:pw@cache.example:6380", False),
        ("redis+cluster://n1:7000", "redis", "redis://n1:7000", True),
        ("rediss+cluster://n1:7000", "redis", "rediss://n1:7000", True),
        ("redis://n1:7000?cluster=true", "redis", "redis://n1:7000", True),
        (
            "redis://h:6379/0?cluster=false&socket_timeout=5",
            "redis",
            "redis://h:6379/0?socket_timeout=5",
            False,
        ),
    ],
)
def test_valid_urls_name_engine_and_driver_target(
    url: str, engine: str, target: str, cluster: bool
) -> None:
    parsed = parse_url(url)
    assert (parsed.engine, parsed.target, parsed.cluster) == (engine, target, cluster)
    assert parsed.raw == url


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("", "empty"),
        ("app.db", "not a URL"),
        (f"mysql://root:{SECRET}@db/app", "unknown scheme 'mysql'"),
        (f"http://u:{SECRET}@h/x", "unknown scheme 'http'"),
        ("sqlite://app.db", "did you mean sqlite:///app.db"),
        ("sqlite:///", "needs a file path"),
        ("sqlite:///a.db?journal=wal", "unknown query parameter(s) journal"),
        ("sqlite:///a.db#x", "fragment"),
        ("memory://somewhere", "no host or path"),
        ("memory://?x=1", "unknown query parameter(s) x"),
        (f"redis://:{SECRET}@/0", "needs a host"),
        (f"redis://:{SECRET}@h:6379/0?cluster=maybe", "'cluster' must be true or false"),
        (f"postgresql://u:{SECRET}@h:99999/db", "out of range"),
        (f"postgresql://u:{SECRET}@h:port/db", "malformed"),
        (f"postgresql://u:{SECRET}@h/db name", "whitespace"),
        (" sqlite:///a.db", "whitespace"),
    ],
)
def test_bad_urls_raise_a_clear_error_without_the_password(url: str, problem: str) -> None:
    with pytest.raises(InvalidURLError) as caught:
        parse_url(url)
    message = str(caught.value)
    assert problem in message
    assert SECRET not in message


def test_bad_url_error_is_an_invalid_input_error() -> None:
    from durastate.errors import InvalidInputError

    with pytest.raises(InvalidInputError):
        parse_url("nope://x")
    with pytest.raises(InvalidURLError, match="must be a string"):
        parse_url(b"sqlite:///a.db")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (f"postgresql://app:{SECRET}@db:5432/x", "postgresql://app:***@db:5432/x"),
        (f"redis://:{SECRET}@cache:6379/0", "redis://:***@cache:6379/0"),
        (
            f"rediss://default:{SECRET}@h?ssl_cert_reqs=none",
            "rediss://default:***@h?ssl_cert_reqs=none",
        ),
        (f"postgresql://app:pa/ss{SECRET}@db/x", "postgresql://app:***@db/x"),
        (
            f"postgresql://app:{SECRET}@db/x?sslmode=require&password={SECRET}",
            "postgresql://app:***@db/x?sslmode=require&password=***",
        ),
        (f"postgresql://db/x?password={SECRET}", "postgresql://db/x?password=***"),
        (f"host=db user=app password={SECRET} dbname=x", "host=db user=app password=*** dbname=x"),
        ("postgresql://app@db/x", "postgresql://app@db/x"),
        ("sqlite:///app.db", "sqlite:///app.db"),
        (f"nonsense://u:{SECRET}@h:notaport/x", "nonsense://u:***@h:notaport/x"),
    ],
)
def test_mask_url_hides_passwords_even_in_malformed_urls(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_parsed_url_never_shows_its_password() -> None:
    parsed = parse_url(f"postgresql://app:{SECRET}@db/x")
    assert isinstance(parsed, BackendURL)
    for shown in (str(parsed), repr(parsed), parsed.masked, f"{parsed}"):
        assert SECRET not in shown
        assert "app:***@db" in shown
    assert parsed.target == f"postgresql://app:{SECRET}@db/x"


def test_redact_removes_raw_and_percent_encoded_passwords() -> None:
    url = "redis://:p%40ss%2Fword@h:6379"
    secrets = url_secrets(url)
    assert set(secrets) == {"p%40ss%2Fword", "p@ss/word"}
    text = "failed for p@ss/word and redis://:p%40ss%2Fword@h:6379"
    assert redact(text, secrets) == "failed for *** and redis://:***@h:6379"
    assert url_secrets("sqlite:///a.db") == ()


def test_memory_url_opens_the_memory_classes_with_their_options() -> None:
    index = {"dims": 16, "embed": HashingEmbeddings(16), "fields": ["text"]}
    with open_backends("memory://", index=index, ttl={"default_ttl": 5.0}) as backends:
        saver, store, cache = backends
        assert isinstance(saver, InMemorySaver)
        assert isinstance(store, InMemoryStore)
        assert isinstance(cache, InMemoryCache)
        assert backends.store is store
        store.put(("docs",), "a", {"text": "trains to Lisbon"})
        store.put(("docs",), "b", {"text": "museum opening hours"})
        hits = store.search(("docs",), query="train Lisbon")
        assert hits[0].key == "a"
        assert hits[0].score is not None and hits[0].score > 0.5


def test_each_memory_open_is_new_empty_storage() -> None:
    with open_backends("memory://") as first:
        first.store.put(("n",), "k", {"v": 1})
    with open_backends("memory://") as second:
        assert second.store.get(("n",), "k") is None


async def test_async_memory_open_yields_the_same_kinds() -> None:
    async with aopen_backends("memory://") as (saver, store, cache):
        assert isinstance(saver, InMemorySaver)
        assert isinstance(store, InMemoryStore)
        assert isinstance(cache, InMemoryCache)
        await store.aput(("n",), "k", {"v": 1})
        item = await store.aget(("n",), "k")
        assert item is not None and item.value == {"v": 1}


def test_open_backends_rejects_bad_urls_before_opening_anything(tmp_path: Path) -> None:
    with (
        pytest.raises(InvalidURLError, match="did you mean"),
        open_backends(f"sqlite://localhost{tmp_path}/x.db"),
    ):
        pass
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("url", "target", "options"),
    [
        ("sqlite:///a.db?timeout=2.5", "a.db", {"timeout": 2.5}),
        ("sqlite:///a.db?mode=ro", "sqlite:///a.db?mode=ro", {}),
        ("sqlite:///a.db?mode=ro&timeout=1", "sqlite:///a.db?mode=ro", {"timeout": 1.0}),
    ],
)
def test_sqlite_query_parameters(url: str, target: str, options: dict[str, float]) -> None:
    parsed = parse_url(url)
    assert (parsed.target, dict(parsed.options)) == (target, options)


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan", "inf"])
def test_sqlite_timeout_must_be_positive_seconds(value: str) -> None:
    with pytest.raises(InvalidURLError, match="'timeout' must be positive seconds"):
        parse_url(f"sqlite:///a.db?timeout={value}")


def _graph_roundtrip(saver: object) -> None:
    """Put one checkpoint through real LangGraph so reopening has something to find."""
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph

    class State(TypedDict):
        count: int

    builder = StateGraph(State)
    builder.add_node("inc", lambda s: {"count": s["count"] + 1})
    builder.add_edge(START, "inc")
    builder.add_edge("inc", END)
    graph = builder.compile(checkpointer=saver)  # type: ignore[arg-type]
    graph.invoke({"count": 41}, {"configurable": {"thread_id": "t"}})


def test_sqlite_url_opens_the_sqlite_classes_on_one_file(tmp_path: Path) -> None:
    from durastate.cache import SqliteCache
    from durastate.checkpoint import SqliteSaver
    from durastate.store import SqliteStore

    url = f"sqlite:///{tmp_path}/app.db"
    with open_backends(url, setup=True) as (saver, store, cache):
        assert isinstance(saver, SqliteSaver)
        assert isinstance(store, SqliteStore)
        assert isinstance(cache, SqliteCache)
        _graph_roundtrip(saver)
        store.put(("n",), "k", {"v": 1})
        cache.set({(("ns",), "key"): ("value", None)})
    assert (tmp_path / "app.db").is_file()
    with open_backends(url) as (saver, store, cache):
        got = saver.get_tuple({"configurable": {"thread_id": "t"}})
        assert got is not None and got.checkpoint["channel_values"]["count"] == 42
        item = store.get(("n",), "k")
        assert item is not None and item.value == {"v": 1}
        assert cache.get([(("ns",), "key")]) == {(("ns",), "key"): "value"}


def test_sqlite_relative_urls_are_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with open_backends("sqlite:///rel.db", setup=True) as backends:
        backends.store.put(("n",), "k", {"v": 1})
    assert (tmp_path / "rel.db").is_file()


def test_sqlite_in_memory_url_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with open_backends("sqlite:///:memory:", setup=True) as backends:
        backends.store.put(("n",), "k", {"v": 1})
        assert backends.store.get(("n",), "k") is not None
    assert list(tmp_path.iterdir()) == []


def test_sqlite_read_only_mode_reaches_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ro.db"
    with open_backends(url, setup=True) as backends:
        backends.store.put(("n",), "k", {"v": 1})
    with open_backends(url + "?mode=ro") as backends:
        item = backends.store.get(("n",), "k")
        assert item is not None and item.value == {"v": 1}
        with pytest.raises(Exception, match="readonly"):
            backends.store.put(("n",), "k", {"v": 2})
    with open_backends(url) as backends:
        item = backends.store.get(("n",), "k")
        assert item is not None and item.value == {"v": 1}


async def test_async_sqlite_url_opens_the_async_classes(tmp_path: Path) -> None:
    from durastate.cache import SqliteCache
    from durastate.checkpoint import AsyncSqliteSaver
    from durastate.store import AsyncSqliteStore

    url = f"sqlite:///{tmp_path}/async.db"
    index = {"dims": 32, "embed": HashingEmbeddings(32)}
    async with aopen_backends(url, index=index, setup=True) as (saver, store, cache):
        assert isinstance(saver, AsyncSqliteSaver)
        assert isinstance(store, AsyncSqliteStore)
        assert isinstance(cache, SqliteCache)
        await store.aput(("docs",), "a", {"text": "trains to Lisbon"})
        await store.aput(("docs",), "b", {"text": "museum hours"})
        hits = await store.asearch(("docs",), query="Lisbon trains")
        assert [h.key for h in hits] == ["a", "b"]
        await cache.aset({(("ns",), "key"): ("value", None)})
    with open_backends(url) as (_, store, cache):
        assert store.get(("docs",), "a") is not None
        assert cache.get([(("ns",), "key")]) == {(("ns",), "key"): "value"}


def test_checkpoint_ttl_and_store_ttl_reach_the_classes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ttl.db"
    with open_backends(
        url, ttl={"default_ttl": 1.0}, checkpoint_ttl={"default_ttl": 2.0}, setup=True
    ) as (saver, store, _):
        assert saver.ttl_config is not None and saver.ttl_config["default_ttl"] == 2.0
        assert store.ttl_config is not None and store.ttl_config["default_ttl"] == 1.0


def test_schema_and_key_prefix_options_reach_the_classes_not_the_driver() -> None:
    pg = parse_url("postgresql://u@db/app?schema=tenant_a&sslmode=require")
    assert pg.options == {"schema": "tenant_a"}
    assert pg.target == "postgresql://u@db/app?sslmode=require"
    redis = parse_url("redis://h:6379/0?key_prefix=app1&cluster=false")
    assert redis.options == {"key_prefix": "app1"} and redis.target == "redis://h:6379/0"
    with pytest.raises(InvalidURLError, match="'schema' must be a non-empty name"):
        parse_url("postgresql://db/app?schema=")
    with pytest.raises(InvalidURLError, match="unknown query parameter"):
        parse_url("sqlite:///a.db?schema=x")
