"""SQLite node cache: TTL, exact-namespace clear, sweeping, async methods, bad keys."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from durastate.cache.sqlite import SqliteCache
from durastate.errors import InvalidInputError


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[SqliteCache[Any]]:
    with SqliteCache.from_conn_string(str(tmp_path / "cache.db")) as c:
        yield c


class _Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = time.time()
        monkeypatch.setattr(time, "time", lambda: self.now)


def _rows(cache: SqliteCache[Any]) -> int:
    return int(cache.conn.execute("SELECT COUNT(*) FROM durastate_cache").fetchone()[0])


def test_values_round_trip_and_survive_reopening(tmp_path: Path) -> None:
    path = str(tmp_path / "c.db")
    with SqliteCache.from_conn_string(path) as cache:
        cache.set({(("node", "a"), "k1"): ({"x": [1, 2]}, None), (("node",), "k2"): ("v", 60)})
    with SqliteCache.from_conn_string(path) as cache:
        assert cache.get([(("node", "a"), "k1"), (("node",), "k2"), (("none",), "k")]) == {
            (("node", "a"), "k1"): {"x": [1, 2]},
            (("node",), "k2"): "v",
        }


def test_expired_entries_are_ignored_then_swept(
    cache: SqliteCache[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _Clock(monkeypatch)
    cache.set({(("n",), "short"): (1, 10), (("n",), "long"): (2, 100), (("n",), "ever"): (3, None)})
    clock.now += 50
    assert cache.get([(("n",), "short"), (("n",), "long"), (("n",), "ever")]) == {
        (("n",), "long"): 2,
        (("n",), "ever"): 3,
    }
    assert _rows(cache) == 3  # still stored until a sweep
    assert cache.sweep_ttl() == 1
    assert _rows(cache) == 2
    cache.set({(("n",), "short"): (4, 10)})
    assert cache.get([(("n",), "short")]) == {(("n",), "short"): 4}


def test_the_sweeper_thread_removes_expired_entries(
    cache: SqliteCache[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _Clock(monkeypatch)
    cache.set({(("n",), "k"): (1, 1)})
    clock.now += 5
    cache.start_ttl_sweeper(0.02)
    deadline = time.monotonic() + 20
    while _rows(cache) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cache.stop_ttl_sweeper(timeout=5)
    assert _rows(cache) == 0


def test_clear_deletes_exactly_the_given_namespaces(cache: SqliteCache[Any]) -> None:
    keys = [(("a",), "k"), (("a", "b"), "k"), (("a,b",), "k"), (("b",), "k")]
    cache.set({k: (i, None) for i, k in enumerate(keys)})
    cache.clear([("a",), ("a,b",)])
    assert sorted(cache.get(keys).values()) == [1, 3]
    cache.clear()
    assert cache.get(keys) == {}


async def test_async_methods(cache: SqliteCache[Any]) -> None:
    await cache.aset({(("n",), "k"): ("v", None)})
    assert await cache.aget([(("n",), "k")]) == {(("n",), "k"): "v"}
    await cache.aclear([("n",)])
    assert await cache.aget([(("n",), "k")]) == {}
    assert await cache.asweep_ttl() == 0


def test_many_keys_are_read_in_one_statement(cache: SqliteCache[Any]) -> None:
    keys = [(("n", str(i % 7)), f"k{i}") for i in range(3000)]
    cache.set({k: (i, None) for i, k in enumerate(keys)})
    seen: list[str] = []
    cache.conn.set_trace_callback(seen.append)
    found = cache.get(keys)
    cache.conn.set_trace_callback(None)
    assert len(found) == 3000 and len(seen) == 1


@pytest.mark.parametrize(
    ("key", "ttl", "message"),
    [
        ((("n",), "\udc00"), None, "surrogate"),
        ((("n\x00",), "k"), None, "NUL"),
        ((("n",), 5), None, "string"),
        ((("n",), "k"), -1, "positive"),
        (("n", "k"), None, "tuple"),
    ],
)
def test_bad_keys_are_refused_and_nothing_is_written(
    cache: SqliteCache[Any], key: Any, ttl: Any, message: str
) -> None:
    cache.setup()
    with pytest.raises(InvalidInputError, match=message):
        cache.set({(("n",), "good"): (1, None), key: (2, ttl)})
    assert _rows(cache) == 0


def test_needs_a_path_or_a_connection(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="exactly one"):
        SqliteCache()
    cache: SqliteCache[Any] = SqliteCache(path=str(tmp_path / "p.db"))
    cache.set({(("n",), "k"): (1, None)})
    assert asyncio.run(cache.aget([(("n",), "k")])) == {(("n",), "k"): 1}
    cache.close()
