"""The demo's tools: a cached expensive forecast task and an email tool that needs approval."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol

from langchain_core.messages import AIMessage, ToolMessage
from langgraph._internal._constants import CACHE_NS_WRITES
from langgraph.func import task
from langgraph.types import CachePolicy, interrupt

FORECAST_TTL_SECONDS = 600
"""How long a computed forecast is served from the cache."""

WORK_SECONDS = 0.3
"""The pretend cost of computing one forecast."""

APPROVE = "approve"
"""The resume value that approves a sensitive tool call; anything else rejects it."""

_SKIES = ("sunny", "partly cloudy", "light rain", "clear and breezy")


class ForecastTask(Protocol):
    """``fetch_forecast``'s call signature (LangGraph's ``@task`` typing loses it)."""

    def __call__(self, city: str, day: str) -> Future[dict[str, str]]: ...


def _forecast_key(city: str, day: str) -> str:
    return f"{city}|{day}"


def compute_forecast(city: str, day: str) -> dict[str, str]:
    """The expensive call: slow, and its answer depends only on (city, day)."""
    time.sleep(WORK_SECONDS)
    digest = hashlib.blake2b(f"{city}|{day}".lower().encode(), digest_size=4).digest()
    sky = _SKIES[digest[0] % len(_SKIES)]
    return {"city": city, "day": day, "forecast": f"{sky}, {16 + digest[1] % 12} C"}


_POLICY: CachePolicy[Any] = CachePolicy(key_func=_forecast_key, ttl=FORECAST_TTL_SECONDS)
_as_task: Any = task(name="fetch_forecast", cache_policy=_POLICY)
fetch_forecast: ForecastTask = _as_task(compute_forecast)
"""``compute_forecast`` as a LangGraph task, cached by (city, day) for ten minutes."""

FORECAST_CACHE_NAMESPACE = (CACHE_NS_WRITES, f"{__name__}.{compute_forecast.__qualname__}")
"""The cache namespace LangGraph files the task's results under (cleared by --fresh)."""


def get_forecast(city: str, day: str) -> str:
    return fetch_forecast(city, day).result()["forecast"]


def email_plan(to: str, city: str, day: str, plan: str) -> str:
    """Sensitive: asks the human first; once approved, adds the forecast and sends."""
    decision = interrupt(
        {"question": "Send this email?", "tool": "email_plan", "to": to, "city": city}
    )
    if decision != APPROVE:
        raise PermissionError(f"the user did not approve (answered {decision!r})")
    forecast: str = fetch_forecast(city, day).result()["forecast"]
    return f"Sent to {to}: {plan} Forecast for {day}: {forecast}."


TOOLS: dict[str, Callable[..., str]] = {"get_forecast": get_forecast, "email_plan": email_plan}


def run_tools(state: dict[str, Any]) -> dict[str, Any]:
    """Execute the tool calls of the last assistant message, like LangGraph's ToolNode."""
    last = state["messages"][-1]
    if not isinstance(last, AIMessage) or not last.tool_calls:
        raise ValueError("run_tools expects the last message to be an AIMessage with tool_calls")
    results = []
    for call in last.tool_calls:
        tool = TOOLS.get(call["name"])
        call_id = call["id"] or ""
        if tool is None:
            results.append(_error(call_id, call["name"], f"unknown tool {call['name']!r}"))
            continue
        try:
            content = tool(**call["args"])
        except PermissionError as exc:
            results.append(_error(call_id, call["name"], str(exc)))
            continue
        results.append(ToolMessage(content=content, tool_call_id=call_id, name=call["name"]))
    return {"messages": results}


def _error(call_id: str, name: str, text: str) -> ToolMessage:
    return ToolMessage(content=text, tool_call_id=call_id, name=name, status="error")
