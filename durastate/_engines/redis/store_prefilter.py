"""A store filter's conditions that the Redis search script can test, as JSON for Lua.

The script drops an item only when it is certain the reference evaluator
(``durastate.store.filters.matches``) rejects it, and every row it returns is still
checked with ``matches``; so a condition the script could get wrong is simply not sent.
Sent: ``$eq``/``$ne``/``$in``/``$exists`` and ranges with strings (valid UTF-8), booleans,
``None`` and numbers of magnitude below 2**53 (exact as Lua doubles); ``$nin`` keeps its
operands of those kinds (testing fewer of them only rejects fewer items). Operands that are
lists or objects, or larger numbers, leave their condition to Python. Conditions go as
``[[path labels], operator, operand], ...]``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from durastate.store.filters import RANGE_OPERATORS, Condition

EXACT = 2**53
"""Numbers below this magnitude are exact doubles, so Lua compares them as Python does."""


def _text_ok(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _scalar_ok(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -EXACT < value < EXACT
    if isinstance(value, float):
        return math.isfinite(value) and -EXACT < value < EXACT
    if isinstance(value, str):
        return _text_ok(value)
    return False


def _operand(cond: Condition) -> tuple[bool, Any]:
    """Whether the script can test ``cond``, and the operand it is sent with."""
    op, value = cond.op, cond.value
    if op == "$exists":
        return isinstance(value, bool), value
    if op in RANGE_OPERATORS:
        ok = not isinstance(value, bool) and isinstance(value, (int, float, str))
        return ok and _scalar_ok(value), value
    if op == "$in":
        return all(_scalar_ok(v) for v in value), list(value)
    if op == "$nin":
        kept = [v for v in value if _scalar_ok(v)]
        return bool(kept), kept
    return _scalar_ok(value), value


def prefilter_json(conditions: Sequence[Condition]) -> str:
    """The script's pre-filter for ``conditions`` ('' when it can test none of them)."""
    sent: list[list[Any]] = []
    for cond in conditions:
        if not all(_text_ok(part) for part in cond.path):
            continue
        ok, operand = _operand(cond)
        if ok:
            sent.append([list(cond.path), cond.op, operand])
    if not sent:
        return ""
    return json.dumps(sent, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


__all__ = ["EXACT", "prefilter_json"]
