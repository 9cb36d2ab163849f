"""A scripted, deterministic stand-in for an LLM: it reads the conversation, emits tool calls."""

from __future__ import annotations

import re
from collections.abc import Sequence

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage

REQUEST = "Plan a day trip from Porto to Lisbon on Saturday and email the plan to Ana."
"""What the demo's user asks."""

_TRIP = re.compile(r"trip (?:from (?P<origin>\w+) )?to (?P<city>\w+)(?: on (?P<day>\w+))?", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _since_request(messages: Sequence[AnyMessage]) -> tuple[str, list[AnyMessage]]:
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            return messages[i].text, list(messages[i + 1 :])
    return "", list(messages)


def _tool_result(turn: Sequence[AnyMessage], name: str) -> ToolMessage | None:
    for message in turn:
        if isinstance(message, ToolMessage) and message.name == name:
            return message
    return None


def _call(turn: Sequence[AnyMessage], content: str, name: str, args: dict[str, str]) -> AIMessage:
    number = sum(isinstance(m, AIMessage) for m in turn) + 1
    return AIMessage(
        content=content,
        tool_calls=[{"name": name, "args": args, "id": f"call_{number}", "type": "tool_call"}],
    )


def _plan(city: str, memories: Sequence[str]) -> str:
    lines = [f"Day trip to {city}."]
    known = " ".join(memories).lower()
    if "train" in known:
        lines.append("Travel by train (you prefer trains).")
    museum = re.search(r"museum in \w+ is the (\w+)", " ".join(memories))
    if museum:
        lines.append(f"Morning at the {museum.group(1)} museum.")
    lines.append("Lunch at a vegetarian place." if "vegetarian" in known else "Lunch downtown.")
    return " ".join(lines)


def scripted_reply(messages: Sequence[AnyMessage], memories: Sequence[str]) -> AIMessage:
    """The next assistant message: check the forecast, then email the plan, then report."""
    request, turn = _since_request(messages)
    trip = _TRIP.search(request)
    if trip is None:
        return AIMessage(content="In this demo I can only plan day trips.")
    city, day = trip.group("city"), trip.group("day") or "Saturday"
    forecast = _tool_result(turn, "get_forecast")
    if forecast is None:
        return _call(
            turn, f"Let me check the weather in {city}.", "get_forecast", {"city": city, "day": day}
        )
    sent = _tool_result(turn, "email_plan")
    if sent is None:
        address = next((m.group(0) for t in memories if (m := _EMAIL.search(t))), None)
        if address is None:
            return AIMessage(content="I could not find Ana's email address in my memories.")
        args = {"to": address, "city": city, "day": day, "plan": _plan(city, memories)}
        return _call(turn, f"It will be {forecast.text}; emailing the plan.", "email_plan", args)
    if sent.status == "error":
        return AIMessage(content=f"I did not send the plan: {sent.text}")
    return AIMessage(content=f"Done: I emailed Ana the plan for {city} on {day}.")
