"""Store filter semantics: parsing into conditions and the reference evaluator.

A filter maps dotted paths to a bare value (``$eq``) or to operators. Numbers
compare as numbers, strings by code point; a number never equals or orders
against a string; a boolean equals only a boolean and never orders; a range
operator on a missing field or a value of another type does not match;
``$ne``/``$nin`` match items where the field is missing. Every engine compiles
these same conditions, so every engine gives the same answer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from durastate.errors import InvalidInputError

Operator = Literal["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists"]
OPERATORS: frozenset[str] = frozenset(
    ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists")
)
RANGE_OPERATORS: frozenset[str] = frozenset(("$gt", "$gte", "$lt", "$lte"))
_FORBIDDEN_IN_PATH = ('"', "\\", "\x00", "[", "]", "*", "$", "'", "`")


@dataclass(frozen=True, slots=True)
class Condition:
    """One test on one field: ``path`` (split on dots), an operator and its operand."""

    path: tuple[str, ...]
    op: Operator
    value: Any
    """Operand: a JSON value; a tuple of them for ``$in``/``$nin``; a bool for ``$exists``."""

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


def _check_path(key: Any) -> tuple[str, ...]:
    if not isinstance(key, str) or not key:
        raise InvalidInputError(f"filter key {key!r} must be a non-empty string")
    parts = tuple(key.split("."))
    for part in parts:
        if not part:
            raise InvalidInputError(f"filter key {key!r} has an empty path segment")
        if any(ch in part for ch in _FORBIDDEN_IN_PATH) or any(ord(c) < 32 for c in part):
            raise InvalidInputError(
                f"filter key {key!r}: path segments may not contain quotes, backslashes, "
                "brackets, '*', '$' or control characters"
            )
    return parts


def _check_json(key: str, value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInputError(f"filter value for {key!r} must be finite, got {value!r}")
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"filter value for {key!r} must be JSON (str, number, bool, None, list, dict), "
            f"got {type(value).__name__}"
        ) from None
    if isinstance(value, str) and "\x00" in value:
        raise InvalidInputError(f"filter value for {key!r} must not contain NUL")
    return value


def _condition(path: tuple[str, ...], key: str, op_name: str, operand: Any) -> Condition:
    if op_name not in OPERATORS:
        raise InvalidInputError(
            f"unknown filter operator {op_name!r} for {key!r}; use one of {sorted(OPERATORS)}"
        )
    op = cast(Operator, op_name)
    if op in RANGE_OPERATORS:
        if isinstance(operand, bool) or not isinstance(operand, (int, float, str)):
            raise InvalidInputError(
                f"{op} on {key!r} needs a number or a string, got {type(operand).__name__}"
            )
        return Condition(path, op, _check_json(key, operand))
    if op in ("$in", "$nin"):
        if not isinstance(operand, (list, tuple)):
            raise InvalidInputError(f"{op} on {key!r} needs a list, got {type(operand).__name__}")
        return Condition(path, op, tuple(_check_json(key, v) for v in operand))
    if op == "$exists":
        if not isinstance(operand, bool):
            raise InvalidInputError(f"$exists on {key!r} needs true or false, got {operand!r}")
        return Condition(path, op, operand)
    return Condition(path, op, _check_json(key, operand))


def _is_operator_dict(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and bool(value)
        and all(isinstance(k, str) and k.startswith("$") for k in value)
    )


def compile_filter(filter: Mapping[str, Any] | None) -> tuple[Condition, ...]:
    """Validate a filter and turn it into conditions that all must hold.

    A nested mapping without operators descends: ``{"a": {"b": 1}}`` is ``{"a.b": 1}``.
    """
    if filter is None:
        return ()
    if not isinstance(filter, Mapping):
        raise InvalidInputError(f"filter must be a mapping, got {type(filter).__name__}")
    out: list[Condition] = []

    def walk(prefix: tuple[str, ...], mapping: Mapping[str, Any]) -> None:
        for key, value in mapping.items():
            path = prefix + _check_path(key)
            dotted = ".".join(path)
            if _is_operator_dict(value):
                for op, operand in value.items():
                    out.append(_condition(path, dotted, op, operand))
            elif isinstance(value, Mapping) and value:
                if any(isinstance(k, str) and k.startswith("$") for k in value):
                    raise InvalidInputError(
                        f"filter for {dotted!r} mixes operators and field names"
                    )
                walk(path, value)
            else:
                out.append(_condition(path, dotted, "$eq", value))

    walk((), filter)
    return tuple(out)


_MISSING = object()


def lookup(value: Any, path: tuple[str, ...]) -> Any:
    """The field at ``path`` inside nested dicts, or ``_MISSING``."""
    current = value
    for part in path:
        if not isinstance(current, Mapping) or part not in current:
            return _MISSING
        current = current[part]
    return current


def is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value, booleans only equal booleans, deep for containers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if is_number(a) and is_number(b):
        return bool(a == b)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if a is None or b is None:
        return a is None and b is None
    return type(a) is type(b) and bool(a == b)


def _orders(field: Any, operand: Any, op: str) -> bool:
    if is_number(operand):
        if not is_number(field):
            return False
    elif isinstance(operand, str):
        if not isinstance(field, str):
            return False
    else:
        return False
    if op == "$gt":
        return bool(field > operand)
    if op == "$gte":
        return bool(field >= operand)
    if op == "$lt":
        return bool(field < operand)
    return bool(field <= operand)


def condition_holds(field: Any, cond: Condition) -> bool:
    """Whether one condition holds for a field value (``_MISSING`` when absent)."""
    op = cond.op
    if op == "$exists":
        return (field is not _MISSING) is cond.value
    if field is _MISSING:
        return op in ("$ne", "$nin")
    if op == "$eq":
        return json_equal(field, cond.value)
    if op == "$ne":
        return not json_equal(field, cond.value)
    if op == "$in":
        return any(json_equal(field, v) for v in cond.value)
    if op == "$nin":
        return not any(json_equal(field, v) for v in cond.value)
    return _orders(field, cond.value, op)


def matches(value: Mapping[str, Any], conditions: tuple[Condition, ...]) -> bool:
    """The reference evaluator every engine must agree with."""
    return all(condition_holds(lookup(value, c.path), c) for c in conditions)
