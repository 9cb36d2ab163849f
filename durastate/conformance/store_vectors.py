"""Store contract, semantic search: scores per distance, indexed fields, per-item index=."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from langgraph.store.base import PutOp, SearchOp

from durastate.conformance._modes import BothModes
from durastate.conformance.harness import Api, Bound, Opener, opened
from durastate.conformance.store_support import (
    NS,
    TOLERANCE,
    WordEmbeddings,
    best_score,
    embed_texts,
    expected_score,
    index_config,
    keys,
    scored,
)

DOCS: dict[str, str] = {
    "a": "apple",
    "aab": "apple apple banana",
    "cc": "car car",
    "ddd": "dog dog dog",
    "bd": "banana dog",
}


def assert_ranked(
    found: list[Any], expected: dict[str, float], *, unscored: list[str] | None = None
) -> None:
    """``found`` holds the ``expected`` keys by score, highest first, with those scores
    (within 1e-5), then ``unscored`` keys with score None."""
    ranked = sorted(expected, key=lambda k: -expected[k])
    assert keys(found) == ranked + (unscored or []), scored(found)
    for item in found[: len(ranked)]:
        assert isinstance(item.score, float)
        assert math.isclose(item.score, expected[item.key], abs_tol=TOLERANCE), (
            item.key,
            item.score,
            expected[item.key],
        )
    assert all(item.score is None for item in found[len(ranked) :])


async def _put_docs(s: Bound) -> None:
    await s.batch([PutOp(NS, key, {"text": text, "kind": key[0]}) for key, text in DOCS.items()])


class StoreVectorsContract(BothModes):
    """Search with a query ranks by the configured distance over the indexed fields."""

    @pytest.mark.parametrize("distance", ["cosine", "l2", "inner_product"])
    async def test_scores_follow_the_distance_type(
        self, api: Api, store_opener: Opener, distance: str
    ) -> None:
        """Cosine similarity, negative L2 distance or inner product, exactly (1e-5);
        the three rank these documents differently."""
        index = index_config(fields=["text"], distance_type=distance)
        async with opened(store_opener, index=index) as backend:
            s = api.bind(backend)
            await _put_docs(s)
            for query in ("apple", "banana car", "pet"):
                found = await s.search(NS, query=query)
                assert_ranked(
                    found, {k: expected_score(t, query, distance) for k, t in DOCS.items()}
                )

    async def test_queries_are_embedded_with_embed_query(
        self, api: Api, store_opener: Opener
    ) -> None:
        """Asymmetric embedders (query vs passage models) need the query side for queries."""
        embeddings = WordEmbeddings()
        async with opened(store_opener, index=index_config(embeddings, fields=["text"])) as b:
            s = api.bind(b)
            await s.put(NS, "dog", {"text": "dog"})
            await s.put(NS, "apple", {"text": "apple"})
            found = await s.search(NS, query="pet")
            assert keys(found) == ["dog", "apple"]
            assert "pet" in embeddings.queries
            assert "pet" not in embeddings.documents
            assert set(embeddings.documents) == {"dog", "apple"}

    async def test_plain_function_as_embedder(self, api: Api, store_opener: Opener) -> None:
        index = {"dims": 5, "embed": embed_texts, "fields": ["text"]}
        async with opened(store_opener, index=index) as backend:
            s = api.bind(backend)
            await _put_docs(s)
            found = await s.search(NS, query="car")
            assert_ranked(found, {k: expected_score(t, "car", "cosine") for k, t in DOCS.items()})

    async def test_whole_value_is_embedded_by_default(self, api: Api, store_opener: Opener) -> None:
        """Without ``fields`` the whole value (its JSON) is the indexed text."""
        async with opened(store_opener, index=index_config()) as backend:
            s = api.bind(backend)
            await s.put(NS, "x", {"note": "dog dog", "n": 1, "inner": {"more": "banana"}})
            await s.put(NS, "y", {"note": "apple"})
            found = await s.search(NS, query="banana")
            assert_ranked(
                found,
                {
                    "x": expected_score("dog dog banana", "banana", "cosine"),
                    "y": expected_score("apple", "banana", "cosine"),
                },
            )

    async def test_only_configured_fields_are_embedded(
        self, api: Api, store_opener: Opener
    ) -> None:
        """``index["fields"]`` decides what is embedded; other fields do not affect scores,
        and an item without any indexed field is still found, with score None."""
        embeddings = WordEmbeddings()
        index = index_config(embeddings, fields=["title"])
        async with opened(store_opener, index=index) as backend:
            s = api.bind(backend)
            await s.put(NS, "t_apple", {"title": "apple", "body": "car car car"})
            await s.put(NS, "t_car", {"title": "car", "body": "apple apple"})
            await s.put(NS, "untitled", {"body": "car"})
            found = await s.search(NS, query="car")
            assert_ranked(
                found,
                {
                    "t_car": expected_score("car", "car", "cosine"),
                    "t_apple": expected_score("apple", "car", "cosine"),
                },
                unscored=["untitled"],
            )
            assert not any("car car car" in text for text in embeddings.documents)

    async def test_json_path_and_list_fields(self, api: Api, store_opener: Opener) -> None:
        """Paths reach nested fields ("meta.title") and list items ("tags[*]"); an item
        indexed on several texts scores as its closest one."""
        index = index_config(fields=["meta.title", "tags[*]"])
        async with opened(store_opener, index=index) as backend:
            s = api.bind(backend)
            await s.put(NS, "both", {"meta": {"title": "car"}, "tags": ["apple", "dog dog"]})
            await s.put(NS, "title", {"meta": {"title": "banana"}, "tags": []})
            await s.put(NS, "tags", {"tags": ["banana dog", "car car"]})
            await s.put(NS, "none", {"meta": {"other": "dog"}, "title": "dog"})
            for query in ("dog", "apple", "banana"):
                found = await s.search(NS, query=query)
                assert_ranked(
                    found,
                    {
                        "both": best_score(["car", "apple", "dog dog"], query, "cosine"),
                        "title": best_score(["banana"], query, "cosine"),
                        "tags": best_score(["banana dog", "car car"], query, "cosine"),
                    },
                    unscored=["none"],
                )

    async def test_index_false_items_come_after_scored_ones(
        self, api: Api, store_opener: Opener
    ) -> None:
        """``put(..., index=False)`` stores the item without a vector: a query still returns
        it (it passes the filter), after every scored item, with score None, newest first."""
        embeddings = WordEmbeddings()
        async with opened(store_opener, index=index_config(embeddings, fields=["text"])) as b:
            s = api.bind(b)
            await s.put(NS, "plain_old", {"text": "dog"}, index=False)
            await asyncio.sleep(0.002)
            await s.put(NS, "indexed", {"text": "apple"})
            await asyncio.sleep(0.002)
            await s.put(NS, "plain_new", {"text": "dog dog"}, index=False)
            assert embeddings.documents == ["apple"]
            found = await s.search(NS, query="dog")
            assert_ranked(
                found,
                {"indexed": expected_score("apple", "dog", "cosine")},
                unscored=["plain_new", "plain_old"],
            )
            assert keys(await s.search(NS, query="dog", limit=2)) == ["indexed", "plain_new"]
            assert keys(await s.search(NS, query="dog", offset=1)) == ["plain_new", "plain_old"]
            assert (await s.get(NS, "plain_old")).value == {"text": "dog"}

    async def test_per_item_fields_override_the_config(
        self, api: Api, store_opener: Opener
    ) -> None:
        index = index_config(fields=["title"])
        async with opened(store_opener, index=index) as backend:
            s = api.bind(backend)
            await s.put(NS, "by_body", {"title": "apple", "body": "car"}, index=["body"])
            await s.put(NS, "by_title", {"title": "apple", "body": "car"})
            await s.put(NS, "by_both", {"title": "dog", "body": "banana"}, index=["title", "body"])
            found = await s.search(NS, query="car")
            assert_ranked(
                found,
                {
                    "by_body": expected_score("car", "car", "cosine"),
                    "by_title": expected_score("apple", "car", "cosine"),
                    "by_both": best_score(["dog", "banana"], "car", "cosine"),
                },
            )

    async def test_update_replaces_the_vectors(self, api: Api, store_opener: Opener) -> None:
        """After an update only the new text matches; index=False on update drops the vector,
        and a later indexed put brings one back."""
        async with opened(store_opener, index=index_config(fields=["text"])) as backend:
            s = api.bind(backend)
            await s.put(NS, "k", {"text": "apple"})
            await s.put(NS, "other", {"text": "banana"})
            await s.put(NS, "k", {"text": "car"})
            found = await s.search(NS, query="apple")
            assert_ranked(
                found,
                {
                    "k": expected_score("car", "apple", "cosine"),
                    "other": expected_score("banana", "apple", "cosine"),
                },
            )
            await s.put(NS, "k", {"text": "apple"}, index=False)
            found = await s.search(NS, query="apple")
            assert_ranked(
                found, {"other": expected_score("banana", "apple", "cosine")}, unscored=["k"]
            )
            await s.put(NS, "k", {"text": "dog", "title": "apple"}, index=["title"])
            found = await s.search(NS, query="apple")
            assert_ranked(
                found,
                {
                    "k": expected_score("apple", "apple", "cosine"),
                    "other": expected_score("banana", "apple", "cosine"),
                },
            )

    async def test_delete_removes_the_vectors(self, api: Api, store_opener: Opener) -> None:
        async with opened(store_opener, index=index_config(fields=["text"])) as backend:
            s = api.bind(backend)
            await _put_docs(s)
            await s.delete(NS, "a")
            await s.batch([PutOp(NS, "aab", None)])
            found = await s.search(NS, query="apple")
            remaining = {k: t for k, t in DOCS.items() if k not in ("a", "aab")}
            assert_ranked(
                found, {k: expected_score(t, "apple", "cosine") for k, t in remaining.items()}
            )
            await s.put(NS, "a", {"text": "dog"})
            found = await s.search(NS, query="apple")
            remaining["a"] = "dog"
            assert_ranked(
                found, {k: expected_score(t, "apple", "cosine") for k, t in remaining.items()}
            )

    async def test_query_with_filter_namespace_and_paging(
        self, api: Api, store_opener: Opener
    ) -> None:
        """The filter and namespace prefix select, the score ranks, then offset and limit."""
        index = index_config(fields=["text"], distance_type="l2")
        async with opened(store_opener, index=index) as backend:
            s = api.bind(backend)
            await _put_docs(s)
            await s.put(("elsewhere",), "apple", {"text": "apple", "kind": "a"})
            await s.put(NS, "plain", {"text": "apple", "kind": "a"}, index=False)
            chosen = {k: t for k, t in DOCS.items() if k != "cc"}
            exp = {k: expected_score(t, "apple", "l2") for k, t in chosen.items()}
            found = await s.search(NS, query="apple", filter={"kind": {"$ne": "c"}}, limit=20)
            assert_ranked(found, exp, unscored=["plain"])
            ranked = keys(found)
            page = await s.search(
                NS, query="apple", filter={"kind": {"$ne": "c"}}, limit=2, offset=1
            )
            assert keys(page) == ranked[1:3]
            tail = await s.search(
                NS, query="apple", filter={"kind": {"$ne": "c"}}, limit=5, offset=3
            )
            assert keys(tail) == ranked[3:]
            only_a = await s.search(NS, query="banana", filter={"kind": "a"})
            assert_ranked(
                only_a,
                {
                    "a": expected_score("apple", "banana", "l2"),
                    "aab": expected_score("apple apple banana", "banana", "l2"),
                },
                unscored=["plain"],
            )
            assert keys(await s.search(NS[:1], query="apple")) == keys(
                await s.search(NS, query="apple")
            )

    async def test_selective_filter_over_many_vectors(self, api: Api, store_opener: Opener) -> None:
        """A filter matching only low-ranked items still finds all of them, ranked, however
        many better-scoring items it rejects (no post-filtering of a truncated top-k)."""
        async with opened(store_opener, index=index_config(fields=["text"])) as backend:
            s = api.bind(backend)
            texts = ["apple", "apple apple banana", "apple car", "apple dog"]
            await s.batch(
                [
                    PutOp(NS, f"k{i:03}", {"text": texts[i % 4], "rare": i % 50 == 49})
                    for i in range(200)
                ]
            )
            await s.put(NS, "worst", {"text": "dog dog dog", "rare": True})
            found = await s.search(NS, query="apple", filter={"rare": True})
            exp = {
                f"k{i:03}": expected_score(texts[i % 4], "apple", "cosine")
                for i in (49, 99, 149, 199)
            }
            exp["worst"] = expected_score("dog dog dog", "apple", "cosine")
            assert sorted(keys(found)) == sorted(exp)
            assert found[-1].key == "worst"
            for item in found:
                assert math.isclose(item.score, exp[item.key], abs_tol=TOLERANCE)
            page = await s.search(NS, query="apple", filter={"rare": True}, limit=2, offset=3)
            assert keys(page) == keys(found)[3:5]
            everything = await s.search(NS, query="apple", limit=500)
            assert len(everything) == 201
            scores = [item.score for item in everything]
            assert scores == sorted(scores, reverse=True)

    async def test_query_respects_whole_label_prefixes(
        self, api: Api, store_opener: Opener
    ) -> None:
        async with opened(store_opener, index=index_config(fields=["text"])) as backend:
            s = api.bind(backend)
            await s.put(("docs",), "root", {"text": "apple"})
            await s.put(("docs", "a"), "child", {"text": "car"})
            await s.put(("docsx",), "lookalike", {"text": "apple"})
            await s.put(("docs_",), "underscore", {"text": "apple"})
            await s.put(("other", "docs"), "elsewhere", {"text": "apple"})
            assert keys(await s.search(("docs",), query="apple")) == ["root", "child"]
            assert keys(await s.search(("docs", "a"), query="apple")) == ["child"]
            assert keys(await s.search(("docs_",), query="apple")) == ["underscore"]
            assert len(await s.search((), query="apple")) == 5

    async def test_equal_scores_come_newest_first_then_by_namespace_and_key(
        self, api: Api, store_opener: Opener
    ) -> None:
        """Ties in score go newest first, then by namespace labels, then key.

        Identical texts may differ in the last float32 bit depending on where an engine's
        vector sits in its matrix, so the second half checks the order against the scores
        the store reported rather than assuming they are bit-for-bit equal.
        """
        async with opened(store_opener, index=index_config(fields=["text"])) as backend:
            s = api.bind(backend)
            for key in ("first", "second", "third"):
                await s.put(NS, key, {"text": "dog"})
                await asyncio.sleep(0.002)
            await s.put(NS, "first", {"text": "dog", "touched": True})
            assert keys(await s.search(NS, query="dog")) == ["first", "third", "second"]
            await s.batch(
                [
                    PutOp(("t", "b"), "k", {"text": "car"}),
                    PutOp(("t", "a"), "z", {"text": "car"}),
                    PutOp(("t", "a"), "y", {"text": "car"}),
                    PutOp(("t", "a", "a"), "x", {"text": "car"}),
                ]
            )
            found = await s.search(("t",), query="car")
            expected = sorted(
                found,
                key=lambda it: (-it.score, -it.updated_at.timestamp(), it.namespace, it.key),
            )
            assert [(it.namespace, it.key) for it in found] == [
                (it.namespace, it.key) for it in expected
            ]

    async def test_queries_in_a_batch(self, api: Api, store_opener: Opener) -> None:
        async with opened(store_opener, index=index_config(fields=["text"])) as backend:
            s = api.bind(backend)
            await _put_docs(s)
            by_car, by_dog, recent = await s.batch(
                [SearchOp(NS, query="car"), SearchOp(NS, query="dog", limit=2), SearchOp(NS)]
            )
            assert_ranked(by_car, {k: expected_score(t, "car", "cosine") for k, t in DOCS.items()})
            assert keys(by_dog) == keys(await s.search(NS, query="dog"))[:2]
            assert all(item.score is None for item in recent)

    async def test_query_without_index_is_ignored(self, api: Api, store_opener: Opener) -> None:
        """A store opened without ``index`` ignores the query: recency order, score None."""
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            await s.put(NS, "old", {"text": "apple"})
            await asyncio.sleep(0.002)
            await s.put(NS, "new", {"text": "car"})
            found = await s.search(NS, query="apple")
            assert scored(found) == [("new", None), ("old", None)]

    async def test_vectors_survive_reopening(self, api: Api, store_opener: Opener) -> None:
        index = index_config(fields=["text"], distance_type="inner_product")
        async with opened(store_opener, index=index) as backend:
            s = api.bind(backend)
            await _put_docs(s)
        async with opened(store_opener, index=index) as backend:
            s = api.bind(backend)
            found = await s.search(NS, query="pet")
            assert_ranked(
                found, {k: expected_score(t, "pet", "inner_product") for k, t in DOCS.items()}
            )
