"""Real LangGraph graphs keep working with our serializer, strict mode included."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Annotated, Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from pydantic import BaseModel
from serde_fixtures import Person, Point

from durastate.serde import DurastateSerializer

REPO = Path(__file__).resolve().parent.parent

STRICT_SCRIPT = textwrap.dedent(
    """
    import copy, dataclasses, os
    from typing import Annotated, Any
    from pydantic import BaseModel
    from langchain_core.messages import AnyMessage, HumanMessage
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import END, START, StateGraph
    from langgraph.graph.message import add_messages
    from durastate.serde import DurastateSerializer, UnrevivedValue, apply_allowlist

    class Note(BaseModel):
        text: str

    @dataclasses.dataclass
    class Stray:  # in no schema, so never on the allowlist
        n: int

    class State(BaseModel):
        messages: Annotated[list[AnyMessage], add_messages] = []
        note: Note | None = None
        extra: Any = None

    def step(state: State) -> dict:
        n = len(state.messages)
        return {"messages": [HumanMessage(f"pong {n}")], "note": Note(text=f"n{n}"),
                "extra": Stray(n)}

    class OwnSaver(InMemorySaver):
        # How durastate's savers narrow their serializer.
        def with_allowlist(self, extra_allowlist):
            clone = copy.copy(self)
            clone.serde = apply_allowlist(self.serde, extra_allowlist)
            return clone

    def run(saver_cls):
        serde = DurastateSerializer()
        assert serde.strict and serde.allowlist == frozenset(), "env turns strict mode on"
        saver = saver_cls(serde=serde)
        builder = StateGraph(State)
        builder.add_node("step", step)
        builder.add_edge(START, "step")
        builder.add_edge("step", END)
        app = builder.compile(checkpointer=saver)
        cfg = {"configurable": {"thread_id": "t"}}
        app.invoke({"messages": [HumanMessage("ping")]}, cfg)
        app.invoke({"messages": [HumanMessage("again")]}, cfg)
        used = app.checkpointer.serde
        assert isinstance(used, DurastateSerializer) and used is not serde
        assert ("__main__", "State") in used.allowlist
        assert ("__main__", "Note") in used.allowlist
        assert ("__main__", "Stray") not in used.allowlist
        assert serde.allowlist == frozenset(), "the original serializer is unchanged"
        values = app.get_state(cfg).values
        assert [m.content for m in values["messages"]] == ["ping", "pong 1", "again", "pong 3"]
        assert values["note"] == Note(text="n3")
        extra = values["extra"]
        assert isinstance(extra, UnrevivedValue), extra
        assert extra.payload == {"n": 3} and "allowlist" in extra.reason
        # The saver built without a graph is still strict: Note is not revived there.
        raw = saver.get_tuple(cfg).checkpoint["channel_values"]["note"]
        assert isinstance(raw, UnrevivedValue), raw

    run(InMemorySaver)
    run(OwnSaver)
    print("STRICT-OK")
    """
)


def test_strict_env_feeds_the_graph_allowlist_to_our_serializer(tmp_path: Path) -> None:
    script = tmp_path / "strict_graph.py"
    script.write_text(STRICT_SCRIPT)
    env = {**os.environ, "LANGGRAPH_STRICT_MSGPACK": "true", "PYTHONPATH": str(REPO)}
    env.pop("DURASTATE_AES_KEY", None)
    proc = subprocess.run(
        [sys.executable, str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "STRICT-OK" in proc.stdout


class ChatState(BaseModel):
    messages: Annotated[list[AnyMessage], add_messages] = []
    person: Person | None = None
    where: Any = None


def _reply(state: ChatState) -> dict[str, Any]:
    return {
        "messages": [AIMessage(f"reply {len(state.messages)}")],
        "person": Person(name="Ann", age=len(state.messages)),
        "where": Point(len(state.messages)),
    }


def test_graph_with_pydantic_state_resumes_from_our_checkpoints() -> None:
    builder = StateGraph(ChatState)
    builder.add_node("reply", _reply)
    builder.add_edge(START, "reply")
    builder.add_edge("reply", END)
    saver = InMemorySaver(serde=DurastateSerializer(allowlist=None, compress_threshold=64))
    app = builder.compile(checkpointer=saver)
    cfg: Any = {"configurable": {"thread_id": "1"}}
    app.invoke({"messages": [HumanMessage("hi")]}, cfg)
    app.invoke({"messages": [HumanMessage("more")]}, cfg)
    values = app.get_state(cfg).values
    assert [m.content for m in values["messages"]] == ["hi", "reply 1", "more", "reply 3"]
    assert values["person"] == Person(name="Ann", age=3)
    assert values["where"] == Point(3)
    history = list(app.get_state_history(cfg))
    assert len(history) >= 4
