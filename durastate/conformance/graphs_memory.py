"""Graph scenarios: node and task caches, the store read and written from nodes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_store
from langgraph.func import entrypoint, task
from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore
from langgraph.types import CachePolicy

from durastate.conformance._modes import BothModes
from durastate.conformance.graphs_support import drive, thread
from durastate.conformance.harness import Api, Opener, opened


def square_workflow(api: Api, calls: list[int], saver: Any, cache: Any) -> Any:
    """``@entrypoint`` calling a cached ``@task``; sync functions or coroutines by mode."""
    policy: CachePolicy[Callable[[int], str | bytes]] = CachePolicy(ttl=60)
    if api.mode == "sync":

        @task(cache_policy=policy)
        def square(x: int) -> int:
            calls.append(x)
            return x * x

        @entrypoint(checkpointer=saver, cache=cache)
        def workflow(x: int) -> dict[str, int]:
            return {"square": square(x).result()}

        return workflow

    @task(cache_policy=policy)  # type: ignore[arg-type]  # LangGraph's overload infers Never
    async def asquare(x: int) -> int:
        calls.append(x)
        return x * x

    @entrypoint(checkpointer=saver, cache=cache)
    async def aworkflow(x: int) -> dict[str, int]:
        return {"square": await asquare(x)}

    return aworkflow


class Priced(TypedDict, total=False):
    item: str
    price: int
    label: str


def pricing_graph(calls: Counter[str]) -> StateGraph[Any]:
    """price (cached) -> label (not cached)."""

    def price(state: Priced) -> dict[str, Any]:
        calls[f"price {state['item']}"] += 1
        return {"price": len(state["item"]) * 10}

    def label(state: Priced) -> dict[str, Any]:
        calls["label"] += 1
        return {"label": f"{state['item']}: {state['price']}"}

    builder = StateGraph(Priced)
    builder.add_node("price", price, cache_policy=CachePolicy(ttl=60))
    builder.add_node("label", label)
    builder.add_edge(START, "price")
    builder.add_edge("price", "label")
    return builder


class Visit(TypedDict, total=False):
    user: str
    note: str
    visits: int
    notes: list[str]


def memory_graph(api: Api) -> StateGraph[Any]:
    """remember (``store`` parameter) -> count (``Runtime``) -> recall (``get_store()``).

    Notes are keyed by the thread that wrote them; ``recall`` searches every note of the
    user and ``count`` keeps a visit counter in the user's profile.
    """

    def note_key(config: RunnableConfig) -> str:
        return f"note-{config['configurable']['thread_id']}"

    def remember(state: Visit, config: RunnableConfig, *, store: BaseStore) -> dict[str, Any]:
        store.put(("notes", state["user"]), note_key(config), {"text": state["note"]})
        return {}

    async def aremember(
        state: Visit, config: RunnableConfig, *, store: BaseStore
    ) -> dict[str, Any]:
        await store.aput(("notes", state["user"]), note_key(config), {"text": state["note"]})
        return {}

    def count(state: Visit, runtime: Runtime) -> dict[str, Any]:
        assert runtime.store is not None
        profile = runtime.store.get(("profiles",), state["user"])
        visits = (profile.value["visits"] if profile else 0) + 1
        runtime.store.put(("profiles",), state["user"], {"visits": visits})
        return {"visits": visits}

    async def acount(state: Visit, runtime: Runtime) -> dict[str, Any]:
        assert runtime.store is not None
        profile = await runtime.store.aget(("profiles",), state["user"])
        visits = (profile.value["visits"] if profile else 0) + 1
        await runtime.store.aput(("profiles",), state["user"], {"visits": visits})
        return {"visits": visits}

    def recall(state: Visit) -> dict[str, Any]:
        found = get_store().search(("notes",), filter={"text": {"$ne": ""}}, limit=10)
        return {"notes": sorted(i.value["text"] for i in found)}

    async def arecall(state: Visit) -> dict[str, Any]:
        found = await get_store().asearch(("notes",), filter={"text": {"$ne": ""}}, limit=10)
        return {"notes": sorted(i.value["text"] for i in found)}

    sync = api.mode == "sync"
    nodes: dict[str, Any] = {
        "remember": remember if sync else aremember,
        "count": count if sync else acount,
        "recall": recall if sync else arecall,
    }
    builder = StateGraph(Visit)
    for name, node in nodes.items():
        builder.add_node(name, node)
    builder.add_edge(START, "remember")
    builder.add_edge("remember", "count")
    builder.add_edge("count", "recall")
    return builder


def journal_workflow(api: Api, saver: Any, store: Any) -> Any:
    """``@entrypoint`` keeping a running total in ``previous`` and entries in the store."""
    if api.mode == "sync":

        @entrypoint(checkpointer=saver, store=store)
        def journal(amount: int, *, previous: Any = None, runtime: Runtime) -> int:
            total = (previous or 0) + amount
            assert runtime.store is not None
            runtime.store.put(("journal",), f"total-{total}", {"amount": amount})
            return total

        return journal

    @entrypoint(checkpointer=saver, store=store)
    async def ajournal(amount: int, *, previous: Any = None, runtime: Runtime) -> int:
        total = (previous or 0) + amount
        assert runtime.store is not None
        await runtime.store.aput(("journal",), f"total-{total}", {"amount": amount})
        return total

    return ajournal


class CacheScenarios(BothModes):
    """Cached tasks and nodes are served from the backend's cache, also after reopening."""

    async def test_cached_task_in_the_functional_api(
        self, api: Api, checkpointer_opener: Opener, cache_opener: Opener
    ) -> None:
        calls: list[int] = []
        async with opened(checkpointer_opener) as saver, opened(cache_opener) as cache:
            workflow = drive(api, square_workflow(api, calls, saver, cache))
            assert await workflow.invoke(3, thread("t1")) == {"square": 9}
            assert await workflow.invoke(3, thread("t2")) == {"square": 9}
            assert await workflow.invoke(4, thread("t3")) == {"square": 16}
            assert calls == [3, 4]
        async with opened(checkpointer_opener) as saver, opened(cache_opener) as cache:
            workflow = drive(api, square_workflow(api, calls, saver, cache))
            assert await workflow.invoke(4, thread("t4")) == {"square": 16}
            assert await workflow.invoke(3, thread("t5")) == {"square": 9}
            assert await workflow.invoke(5, thread("t6")) == {"square": 25}
        assert calls == [3, 4, 5]

    async def test_cached_node_and_clear_cache(
        self, api: Api, checkpointer_opener: Opener, cache_opener: Opener
    ) -> None:
        """A cached node's writes come back from the cache; ``clear_cache`` forgets them."""
        calls: Counter[str] = Counter()
        async with opened(checkpointer_opener) as saver, opened(cache_opener) as cache:
            graph = drive(api, pricing_graph(calls).compile(checkpointer=saver, cache=cache))
            assert await graph.invoke({"item": "tea"}, thread("t1")) == {
                "item": "tea",
                "price": 30,
                "label": "tea: 30",
            }
            await graph.invoke({"item": "tea"}, thread("t2"))
            await graph.invoke({"item": "coffee"}, thread("t3"))
            assert calls == {"price tea": 1, "price coffee": 1, "label": 3}
        async with opened(checkpointer_opener) as saver, opened(cache_opener) as cache:
            graph = drive(api, pricing_graph(calls).compile(checkpointer=saver, cache=cache))
            out = await graph.invoke({"item": "coffee"}, thread("t4"))
            assert out == {"item": "coffee", "price": 60, "label": "coffee: 60"}
            assert (await graph.get_state(thread("t4"))).values == out
            assert calls == {"price tea": 1, "price coffee": 1, "label": 4}
            await graph.clear_cache()
            await graph.invoke({"item": "coffee"}, thread("t5"))
            await graph.invoke({"item": "coffee"}, thread("t6"))
        assert calls == {"price tea": 1, "price coffee": 2, "label": 6}


class StoreScenarios(BothModes):
    """Nodes read and write the backend's store; what they wrote is there for everyone."""

    async def test_nodes_share_the_store_across_threads(
        self, api: Api, checkpointer_opener: Opener, store_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver, opened(store_opener) as store:
            graph = drive(api, memory_graph(api).compile(checkpointer=saver, store=store))
            first = await graph.invoke({"user": "ada", "note": "likes tea"}, thread("t1"))
            assert first["visits"] == 1 and first["notes"] == ["likes tea"]
            item = await api.bind(store).get(("notes", "ada"), "note-t1")
            assert item is not None and item.value == {"text": "likes tea"}
        async with opened(checkpointer_opener) as saver, opened(store_opener) as store:
            graph = drive(api, memory_graph(api).compile(checkpointer=saver, store=store))
            second = await graph.invoke({"user": "ada", "note": "no coffee"}, thread("t2"))
            assert second["visits"] == 2 and second["notes"] == ["likes tea", "no coffee"]
            other = await graph.invoke({"user": "bob", "note": "likes jazz"}, thread("t3"))
            assert other["visits"] == 1
            assert other["notes"] == ["likes jazz", "likes tea", "no coffee"]
            s = api.bind(store)
            assert sorted(await s.list_namespaces(prefix=("notes",))) == [
                ("notes", "ada"),
                ("notes", "bob"),
            ]
            found = await s.search(("notes", "ada"))
            assert sorted(i.key for i in found) == ["note-t1", "note-t2"]
            profile = await s.get(("profiles",), "ada")
            assert profile is not None and profile.value == {"visits": 2}
            assert (await graph.get_state(thread("t1"))).values["notes"] == ["likes tea"]

    async def test_entrypoint_store_and_previous(
        self, api: Api, checkpointer_opener: Opener, store_opener: Opener
    ) -> None:
        """``previous`` is the last return value on the thread, read back from the saver."""
        async with opened(checkpointer_opener) as saver, opened(store_opener) as store:
            journal = drive(api, journal_workflow(api, saver, store))
            assert await journal.invoke(5, thread("j")) == 5
            assert await journal.invoke(2, thread("j")) == 7
        async with opened(checkpointer_opener) as saver, opened(store_opener) as store:
            journal = drive(api, journal_workflow(api, saver, store))
            assert await journal.invoke(3, thread("j")) == 10
            assert await journal.invoke(1, thread("other")) == 1
            entries = await api.bind(store).search(("journal",))
            assert sorted((i.key, i.value["amount"]) for i in entries) == [
                ("total-1", 1),
                ("total-10", 3),
                ("total-5", 5),
                ("total-7", 2),
            ]
