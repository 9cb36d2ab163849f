"""Graph scenarios: interrupts resumed after reopening the saver, subgraph namespaces."""

from __future__ import annotations

import operator
from collections import Counter
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, StateSnapshot, interrupt

from durastate.conformance._modes import BothModes
from durastate.conformance.graphs_support import drive, thread
from durastate.conformance.harness import Api, Opener, opened


class Approval(TypedDict):
    items: Annotated[list[str], operator.add]
    approved: bool


def approval_graph(calls: Counter[str]) -> StateGraph[Any]:
    """draft -> review (interrupts for an answer) -> publish when the answer is yes."""

    def draft(state: Approval) -> dict[str, Any]:
        calls["draft"] += 1
        return {"items": ["draft"]}

    def review(state: Approval) -> dict[str, Any]:
        calls["review"] += 1
        answer = interrupt({"question": "approve?", "items": state["items"]})
        calls["review answered"] += 1
        return {"items": [f"review:{answer}"], "approved": answer == "yes"}

    def publish(state: Approval) -> dict[str, Any]:
        calls["publish"] += 1
        return {"items": ["published"]}

    builder = StateGraph(Approval)
    builder.add_node("draft", draft)
    builder.add_node("review", review)
    builder.add_node("publish", publish)
    builder.add_edge(START, "draft")
    builder.add_edge("draft", "review")
    builder.add_conditional_edges("review", lambda s: "publish" if s["approved"] else END)
    builder.add_edge("publish", END)
    return builder


class Items(TypedDict):
    items: Annotated[list[str], operator.add]


def questions_graph(calls: Counter[str]) -> StateGraph[Any]:
    """One node asking two questions in turn, next to a node asking one of its own."""

    def form(state: Items) -> dict[str, Any]:
        calls["form"] += 1
        name = interrupt("name?")
        age = interrupt("age?")
        return {"items": [f"{name}:{age}"]}

    def consent(state: Items) -> dict[str, Any]:
        calls["consent"] += 1
        return {"items": [f"consent:{interrupt('consent?')}"]}

    builder = StateGraph(Items)
    builder.add_node("form", form)
    builder.add_node("consent", consent)
    builder.add_edge(START, "form")
    builder.add_edge(START, "consent")
    return builder


class Parent(TypedDict, total=False):
    topic: str
    answer: str
    log: Annotated[list[str], operator.add]


class Child(TypedDict, total=False):
    topic: str
    draft: str
    answer: str


def nested_graph(calls: Counter[str]) -> StateGraph[Any]:
    """prep -> child (write -> ask, which interrupts) -> after; ``draft`` is the child's own."""

    def write(state: Child) -> dict[str, Any]:
        calls["write"] += 1
        return {"draft": f"draft about {state['topic']}"}

    def ask(state: Child) -> dict[str, Any]:
        calls["ask"] += 1
        return {"answer": interrupt({"draft": state["draft"]})}

    child = StateGraph(Child)
    child.add_node("write", write)
    child.add_node("ask", ask)
    child.add_edge(START, "write")
    child.add_edge("write", "ask")

    parent = StateGraph(Parent)
    parent.add_node("prep", lambda s: {"topic": "tea", "log": ["prep"]})
    parent.add_node("child", child.compile())
    parent.add_node("after", lambda s: {"log": [f"after:{s['answer']}"]})
    parent.add_edge(START, "prep")
    parent.add_edge("prep", "child")
    parent.add_edge("child", "after")
    return parent


def waiting(state: StateSnapshot) -> list[Any]:
    """The values of the interrupts a snapshot still waits on, in task order."""
    return [i.value for i in state.interrupts]


class InterruptScenarios(BothModes):
    """Interrupts survive closing the saver: a new process compiles again and resumes."""

    async def test_interrupt_resumes_after_reopening(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """Nodes before the interrupted one run once; the interrupted node runs again."""
        calls: Counter[str] = Counter()
        cfg = thread("approve")
        async with opened(checkpointer_opener) as saver:
            graph = drive(api, approval_graph(calls).compile(checkpointer=saver))
            first = await graph.invoke({"items": [], "approved": False}, cfg)
            assert [i.value for i in first["__interrupt__"]] == [
                {"question": "approve?", "items": ["draft"]}
            ]
            paused = await graph.get_state(cfg)
        async with opened(checkpointer_opener) as saver:
            graph = drive(api, approval_graph(calls).compile(checkpointer=saver))
            state = await graph.get_state(cfg)
            assert state.next == ("review",)
            assert state.config == paused.config
            assert [(i.id, i.value) for i in state.interrupts] == [
                (i.id, i.value) for i in paused.interrupts
            ]
            assert state.values == {"items": ["draft"], "approved": False}
            done = await graph.invoke(Command(resume="yes"), cfg)
            assert done == {"items": ["draft", "review:yes", "published"], "approved": True}
            final = await graph.get_state(cfg)
            assert final.next == () and final.interrupts == () and final.tasks == ()
            assert final.values == done
        assert calls == {"draft": 1, "review": 2, "review answered": 1, "publish": 1}

    async def test_each_durability_mode_resumes_after_reopening(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """``durability="exit"`` saves one checkpoint per run (with the interrupt's pending
        writes), ``"sync"`` every step before the next one starts; both resume alike."""
        expected_steps = {"exit": ([1], [2, 1]), "sync": ([1, 0, -1], [2, 1, 0, -1])}
        for durability, (paused_steps, done_steps) in expected_steps.items():
            calls: Counter[str] = Counter()
            cfg = thread(durability)
            async with opened(checkpointer_opener) as saver:
                graph = drive(api, approval_graph(calls).compile(checkpointer=saver))
                start = {"items": [], "approved": False}
                await graph.invoke(start, cfg, durability=durability)
            async with opened(checkpointer_opener) as saver:
                graph = drive(api, approval_graph(calls).compile(checkpointer=saver))
                history = await graph.history(cfg)
                assert [s.metadata["step"] for s in history if s.metadata] == paused_steps
                state = await graph.get_state(cfg)
                assert state.next == ("review",)
                assert waiting(state) == [{"question": "approve?", "items": ["draft"]}]
                done = await graph.invoke(Command(resume="no"), cfg, durability=durability)
                assert done == {"items": ["draft", "review:no"], "approved": False}
                history = await graph.history(cfg)
                assert [s.metadata["step"] for s in history if s.metadata] == done_steps
                assert history[0].values == done
            assert calls == {"draft": 1, "review": 2, "review answered": 1}

    async def test_answers_given_so_far_survive_reopening(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """Resuming by interrupt id answers one task; its earlier answers are kept too.

        ``form`` asks two questions in turn and ``consent`` one, in the same step. Each
        resume happens on a freshly opened saver, so the answers given so far must come
        back from storage (they are pending writes of the step's checkpoint).
        """
        calls: Counter[str] = Counter()
        cfg = thread("questions")
        async with opened(checkpointer_opener) as saver:
            graph = drive(api, questions_graph(calls).compile(checkpointer=saver))
            await graph.invoke({"items": []}, cfg)
            assert sorted(waiting(await graph.get_state(cfg))) == ["consent?", "name?"]
        async with opened(checkpointer_opener) as saver:
            graph = drive(api, questions_graph(calls).compile(checkpointer=saver))
            state = await graph.get_state(cfg)
            name_id = next(i.id for i in state.interrupts if i.value == "name?")
            await graph.invoke(Command(resume={name_id: "ada"}), cfg)
            assert sorted(waiting(await graph.get_state(cfg))) == ["age?", "consent?"]
        async with opened(checkpointer_opener) as saver:
            graph = drive(api, questions_graph(calls).compile(checkpointer=saver))
            state = await graph.get_state(cfg)
            assert state.values == {"items": []}
            answers = {i.id: 36 if i.value == "age?" else "yes" for i in state.interrupts}
            done = await graph.invoke(Command(resume=answers), cfg)
            assert sorted(done["items"]) == ["ada:36", "consent:yes"]
            assert (await graph.get_state(cfg)).interrupts == ()
        # form: asked, answered once, answered twice; consent: asked, asked again, done
        assert calls == {"form": 3, "consent": 3}


class SubgraphScenarios(BothModes):
    """A subgraph node keeps its own checkpoints in its namespace and resumes there."""

    async def test_subgraph_state_and_resume(self, api: Api, checkpointer_opener: Opener) -> None:
        calls: Counter[str] = Counter()
        cfg = thread("nested")
        async with opened(checkpointer_opener) as saver:
            graph = drive(api, nested_graph(calls).compile(checkpointer=saver))
            first = await graph.invoke({"log": []}, cfg)
            assert [i.value for i in first["__interrupt__"]] == [{"draft": "draft about tea"}]
        async with opened(checkpointer_opener) as saver:
            graph = drive(api, nested_graph(calls).compile(checkpointer=saver))
            shallow = await graph.get_state(cfg)
            assert shallow.next == ("child",) and shallow.values == {
                "topic": "tea",
                "log": ["prep"],
            }
            (task,) = shallow.tasks
            assert task.name == "child" and isinstance(task.state, dict)
            namespace = task.state["configurable"]["checkpoint_ns"]
            assert namespace.startswith("child:")

            deep = await graph.get_state(cfg, subgraphs=True)
            (task,) = deep.tasks
            sub = task.state
            assert isinstance(sub, StateSnapshot)
            assert sub.values == {"topic": "tea", "draft": "draft about tea"}
            assert sub.next == ("ask",)
            assert sub.config["configurable"]["checkpoint_ns"] == namespace
            assert [i.value for i in sub.interrupts] == [{"draft": "draft about tea"}]
            assert [i.value for i in deep.interrupts] == [{"draft": "draft about tea"}]

            direct = await graph.get_state(sub.config)
            assert direct.values == sub.values and direct.next == ("ask",)
            history = await graph.history(sub.config)
            assert history and all(
                s.config["configurable"]["checkpoint_ns"] == namespace for s in history
            )
            assert history[0].values == sub.values
            # the parent's history holds root checkpoints only
            assert all(
                s.config["configurable"]["checkpoint_ns"] == "" for s in await graph.history(cfg)
            )

            done = await graph.invoke(Command(resume="fine"), cfg)
            assert done == {"topic": "tea", "answer": "fine", "log": ["prep", "after:fine"]}
            final = await graph.get_state(cfg, subgraphs=True)
            assert final.next == () and final.tasks == () and final.interrupts == ()
        assert calls == {"write": 1, "ask": 2}
