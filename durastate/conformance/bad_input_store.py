"""Bad input to stores: clear exceptions naming the culprit, stored items left as they were."""

from __future__ import annotations

import math
from typing import Any

import pytest
from langgraph.store.base import GetOp, InvalidNamespaceError, PutOp, SearchOp

from durastate.conformance._modes import BothModes
from durastate.conformance.harness import Bound, Opener, opened
from durastate.errors import InvalidInputError

NS = ("docs", "alice")
KEY = "note"
VALUE: dict[str, Any] = {"text": "kept", "n": 1, "tags": ["a", "b"]}

BAD_NAMESPACES: list[Any] = [
    (),
    ("",),
    ("docs", ""),
    ("docs", "a.b"),
    ("docs", 1),
    ("docs", None),
    ("docs", "a\x00b"),
    "docs",
]
"""Empty, empty label, dotted label, non-string labels, NUL, a bare string."""

BAD_PREFIXES = [ns for ns in BAD_NAMESPACES if ns != ()]
"""For search and list_namespaces, where ``()`` means "everything"."""


def names_namespace(exc: BaseException, namespace: Any) -> bool:
    """Whether an error message points at the offending namespace."""
    message = str(exc)
    if namespace == ():
        return "empty" in message.lower()
    return str(namespace) in message or repr(namespace) in message


def assert_namespace_error(exc: pytest.ExceptionInfo[BaseException], namespace: Any) -> None:
    """LangGraph documents ``InvalidNamespaceError`` (a ``ValueError``) for bad namespaces."""
    assert isinstance(exc.value, InvalidNamespaceError), repr(exc.value)
    assert names_namespace(exc.value, namespace), str(exc.value)


class Snapshot:
    """Everything a store holds, to check that a rejected call changed nothing."""

    def __init__(self, items: list[Any], namespaces: list[tuple[str, ...]]) -> None:
        self.items = items
        self.namespaces = namespaces

    @classmethod
    async def take(cls, s: Bound) -> Snapshot:
        found = await s.search((), limit=1000)
        items = sorted(
            (tuple(i.namespace), i.key, i.value, i.created_at, i.updated_at) for i in found
        )
        return cls(items, await s.list_namespaces(limit=1000))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Snapshot)
            and self.items == other.items
            and self.namespaces == other.namespaces
        )

    def __repr__(self) -> str:
        return f"Snapshot({self.items!r}, {self.namespaces!r})"

    __hash__ = None  # type: ignore[assignment]


async def seed(s: Bound) -> Snapshot:
    """Store two items and answer the snapshot every rejected call must leave intact."""
    await s.put(NS, KEY, VALUE)
    await s.put(("docs", "bob"), "other", {"text": "also kept"})
    return await Snapshot.take(s)


class StoreBadInput(BothModes):
    """Needs fixtures: store_opener."""

    # -- namespaces -------------------------------------------------------------------------
    async def test_put_rejects_bad_namespaces(self, api: Any, store_opener: Opener) -> None:
        """Also the reserved root label ``langgraph``, which LangGraph keeps for itself."""
        async with opened(store_opener) as store:
            s = api.bind(store)
            before = await seed(s)
            for namespace in [*BAD_NAMESPACES, ("langgraph", "x")]:
                with pytest.raises(ValueError) as exc:
                    await s.put(namespace, KEY, {"text": "new"})
                assert_namespace_error(exc, namespace)
            assert await Snapshot.take(s) == before

    async def test_get_rejects_bad_namespaces(self, api: Any, store_opener: Opener) -> None:
        async with opened(store_opener) as store:
            s = api.bind(store)
            before = await seed(s)
            for namespace in BAD_NAMESPACES:
                with pytest.raises(ValueError) as exc:
                    await s.get(namespace, KEY)
                assert_namespace_error(exc, namespace)
            assert await Snapshot.take(s) == before

    async def test_delete_rejects_bad_namespaces(self, api: Any, store_opener: Opener) -> None:
        """A dotted label never deletes the item its parts name (``("docs.alice",)``)."""
        async with opened(store_opener) as store:
            s = api.bind(store)
            before = await seed(s)
            for namespace in [*BAD_NAMESPACES, ("docs.alice",)]:
                with pytest.raises(ValueError) as exc:
                    await s.delete(namespace, KEY)
                assert_namespace_error(exc, namespace)
            assert await Snapshot.take(s) == before

    async def test_search_rejects_bad_prefixes(self, api: Any, store_opener: Opener) -> None:
        async with opened(store_opener) as store:
            s = api.bind(store)
            before = await seed(s)
            for namespace in BAD_PREFIXES:
                with pytest.raises(ValueError) as exc:
                    await s.search(namespace)
                assert_namespace_error(exc, namespace)
            assert await Snapshot.take(s) == before

    async def test_list_namespaces_rejects_bad_prefixes_and_suffixes(
        self, api: Any, store_opener: Opener
    ) -> None:
        """A bare string is not a prefix of single-character labels (``"docs"``)."""
        async with opened(store_opener) as store:
            s = api.bind(store)
            before = await seed(s)
            for namespace in BAD_PREFIXES:
                with pytest.raises(ValueError) as exc:
                    await s.list_namespaces(prefix=namespace)
                assert_namespace_error(exc, namespace)
                with pytest.raises(ValueError) as exc:
                    await s.list_namespaces(suffix=namespace)
                assert_namespace_error(exc, namespace)
            assert await Snapshot.take(s) == before

    async def test_batch_ops_reject_bad_namespaces_like_the_methods(
        self, api: Any, store_opener: Opener
    ) -> None:
        """Ops handed to ``batch`` skip ``BaseStore``'s checks; the store still raises
        ``InvalidNamespaceError`` (and durastate's ``InvalidInputError``)."""
        async with opened(store_opener) as store:
            s = api.bind(store)
            before = await seed(s)
            for namespace in BAD_NAMESPACES:
                ops: list[Any] = [PutOp(namespace, KEY, {"t": 1}), GetOp(namespace, KEY)]
                if namespace != ():
                    ops.append(SearchOp(namespace))
                for op in ops:
                    with pytest.raises(InvalidInputError) as exc:
                        await s.batch([op])
                    assert_namespace_error(exc, namespace)
            assert await Snapshot.take(s) == before

    # -- keys ----------------------------------------------------------------------------
    async def test_bad_keys_are_rejected(self, api: Any, store_opener: Opener) -> None:
        """Keys with NUL are rejected everywhere; a non-string key in an op is rejected.

        The methods turn keys into text first (``BaseStore`` calls ``str(key)``), so
        ``put(ns, 7, v)`` stores the key ``"7"`` as LangGraph's own stores do.
        """
        async with opened(store_opener) as store:
            s = api.bind(store)
            before = await seed(s)
            nul_key = "a\x00b"
            calls: list[tuple[Any, tuple[Any, ...]]] = [
                (s.put, (NS, nul_key, {"t": 1})),
                (s.get, (NS, nul_key)),
                (s.delete, (NS, nul_key)),
            ]
            for method, args in calls:
                with pytest.raises(InvalidInputError, match="NUL") as exc:
                    await method(*args)
                assert repr(nul_key) in str(exc.value)
            bad_keys: list[Any] = [7, None, b"note", ("note",)]
            for bad_key in bad_keys:
                for op in (PutOp(NS, bad_key, {"t": 1}), GetOp(NS, bad_key)):
                    with pytest.raises(InvalidInputError) as exc:
                        await s.batch([op])
                    assert type(bad_key).__name__ in str(exc.value)
                    assert str(NS) in str(exc.value)
            assert await Snapshot.take(s) == before
            await s.put(NS, 7, {"t": 7})
            item = await s.get(NS, "7")
            assert item is not None and item.key == "7" and item.value == {"t": 7}

    # -- values ----------------------------------------------------------------------------
    async def test_non_dict_values_are_rejected(self, api: Any, store_opener: Opener) -> None:
        """Store values are JSON objects; overwriting with a non-dict keeps the old value."""
        async with opened(store_opener) as store:
            s = api.bind(store)
            before = await seed(s)
            for bad in (["a", "b"], "text", 5, 1.5, True, ("a",), {"a"}):
                for key in (KEY, "fresh"):
                    with pytest.raises(InvalidInputError, match="dict") as exc:
                        await s.put(NS, key, bad)
                    assert str(NS) in str(exc.value) and repr(key) in str(exc.value)
            assert await Snapshot.take(s) == before

    async def test_none_value_deletes(self, api: Any, store_opener: Opener) -> None:
        """``put(ns, key, None)`` is LangGraph's delete, not an error (missing keys too)."""
        async with opened(store_opener) as store:
            s = api.bind(store)
            await seed(s)
            await s.put(NS, KEY, None)
            await s.put(NS, "never-there", None)
            assert await s.get(NS, KEY) is None
            assert [i.key for i in await s.search(("docs",))] == ["other"]

    async def test_values_json_cannot_hold_are_rejected(
        self, api: Any, store_opener: Opener
    ) -> None:
        """NaN and infinities, NUL in strings or field names, non-JSON objects: no engine
        can store them identically, so every engine refuses them and names the item."""
        async with opened(store_opener) as store:
            s = api.bind(store)
            before = await seed(s)
            bad_values: list[dict[Any, Any]] = [
                {"x": math.nan},
                {"x": math.inf},
                {"x": -math.inf},
                {"x": [1, {"deep": math.nan}]},
                {"x": "a\x00b"},
                {"a\x00b": 1},
                {"x": {"y": ["ok", "\x00"]}},
                {"x": object()},
                {"x": b"raw bytes"},
                {"x": {1, 2}},
            ]
            for value in bad_values:
                with pytest.raises(InvalidInputError) as exc:
                    await s.put(NS, KEY, value)
                assert str(NS) in str(exc.value) and repr(KEY) in str(exc.value)
            assert await Snapshot.take(s) == before

    async def test_bad_ttl_is_rejected(self, api: Any, store_opener: Opener) -> None:
        async with opened(store_opener) as store:
            s = api.bind(store)
            before = await seed(s)
            for ttl in (0, -1, math.nan, math.inf, "10", True):
                with pytest.raises(InvalidInputError, match="ttl") as exc:
                    await s.put(NS, KEY, {"text": "new"}, ttl=ttl)
                assert str(NS) in str(exc.value)
            assert await Snapshot.take(s) == before

    async def test_one_bad_op_rejects_the_whole_batch(self, api: Any, store_opener: Opener) -> None:
        """Validation happens before anything is written: good puts in the batch are not
        applied either."""
        async with opened(store_opener) as store:
            s = api.bind(store)
            before = await seed(s)
            batches: list[list[Any]] = [
                [PutOp(NS, "new", {"t": 1}), PutOp(NS, KEY, {"x": math.nan})],
                [PutOp(NS, KEY, {"t": 2}), GetOp(("docs", "a.b"), KEY)],
                [PutOp(NS, KEY, None), SearchOp(NS, filter={"n": {"$bogus": 1}})],
            ]
            for ops in batches:
                with pytest.raises(InvalidInputError):
                    await s.batch(ops)
            assert await Snapshot.take(s) == before

    # -- search and listing arguments --------------------------------------------------------
    async def test_bad_filters_are_rejected(self, api: Any, store_opener: Opener) -> None:
        """Unknown operators, wrong operand types, non-JSON operands and malformed paths."""
        async with opened(store_opener) as store:
            s = api.bind(store)
            before = await seed(s)
            cases: list[tuple[Any, str]] = [
                ({"n": {"$bogus": 1}}, "$bogus"),
                ({"n": {"$regex": ".*"}}, "$regex"),
                ({"n": {"$in": 5}}, "'n'"),
                ({"n": {"$nin": "ab"}}, "'n'"),
                ({"n": {"$gt": [1]}}, "'n'"),
                ({"n": {"$lte": None}}, "'n'"),
                ({"n": {"$gt": True}}, "'n'"),
                ({"n": {"$exists": "yes"}}, "'n'"),
                ({"n": math.nan}, "'n'"),
                ({"n": {"$eq": object()}}, "'n'"),
                ({"n": "a\x00"}, "'n'"),
                ({"": 1}, "''"),
                ({"a..b": 1}, "'a..b'"),
                ({"a[0]": 1}, "'a[0]'"),
                ({'a"b': 1}, 'a"b'),
                ("n", "filter"),
            ]
            for flt, fragment in cases:
                with pytest.raises(InvalidInputError) as exc:
                    await s.search(("docs",), filter=flt)
                assert fragment in str(exc.value), (flt, str(exc.value))
            assert await Snapshot.take(s) == before

    async def test_bad_limits_offsets_and_queries_are_rejected(
        self, api: Any, store_opener: Opener
    ) -> None:
        async with opened(store_opener) as store:
            s = api.bind(store)
            before = await seed(s)
            calls: list[tuple[Any, str]] = [
                (lambda: s.search(("docs",), limit=-1), "limit"),
                (lambda: s.search(("docs",), offset=-1), "offset"),
                (lambda: s.search(("docs",), limit=2.5), "limit"),
                (lambda: s.list_namespaces(limit=-1), "limit"),
                (lambda: s.list_namespaces(offset=-5), "offset"),
                (lambda: s.list_namespaces(max_depth=0), "max_depth"),
                (lambda: s.list_namespaces(max_depth=-1), "max_depth"),
                (lambda: s.search(("docs",), query=5), "query"),
                (lambda: s.search(("docs",), query=["a"]), "query"),
            ]
            for call, word in calls:
                with pytest.raises(InvalidInputError, match=word):
                    await call()
            assert await Snapshot.take(s) == before

    # -- size ------------------------------------------------------------------------------
    async def test_large_value_round_trips_exactly(self, api: Any, store_opener: Opener) -> None:
        """A 2 MB document (non-ASCII text and a long list) is neither truncated nor altered."""
        big = {
            "text": ("ünïcødé ✓ " * 200_000)[:2_000_000],
            "numbers": list(range(50_000)),
            "nested": {"deep": [{"i": i, "f": i / 7} for i in range(2_000)]},
        }
        async with opened(store_opener) as store:
            s = api.bind(store)
            await s.put(NS, "big", big)
            item = await s.get(NS, "big")
            assert item is not None and item.value == big
            found = await s.search(NS, filter={"nested.deep": {"$exists": True}})
            assert [i.value for i in found] == [big]
        async with opened(store_opener) as store:
            item = await api.bind(store).get(NS, "big")
            assert item is not None and item.value == big
