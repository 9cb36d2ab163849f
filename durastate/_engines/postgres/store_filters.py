"""Store filters as SQL over the JSONB ``value`` column, with the reference semantics.

``jsonb_typeof`` keeps numbers, strings, booleans and null apart; numbers compare as
``numeric`` (so ``10 > 9``, and ``1 == 1.0``), strings by code point (``COLLATE "C"``),
containers by JSONB equality (numbers inside by value, as ``json_equal``). A path step
only descends into objects (``#>`` would also index arrays by a numeric label). The SQL is
exact except where Python's comparison of an int with a float differs from a decimal one,
which can only happen for numbers of magnitude 2**53 and beyond: conditions on such
operands compile to a looser test (``exact`` is False) and ``matches`` decides on the rows.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from durastate.store.filters import Condition, is_number

_COMPARE = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_EXACT_LIMIT = 2**53
_INDEX_LIKE = re.compile(r"\d")


@dataclass(slots=True)
class SqlFilter:
    """An AND-ed WHERE fragment (``%s`` placeholders), its parameters, and its exactness."""

    sql: str = "TRUE"
    params: dict[str, Any] = field(default_factory=dict)
    """Named parameters (``%(f0)s`` ...), to merge into the statement's own."""
    exact: bool = True


def _number_text(value: int | float) -> str:
    """A number as ``numeric`` text: ints exactly, floats by their shortest repr."""
    if isinstance(value, int):
        return str(value)
    return format(Decimal(repr(value)), "f")


def _safe_number(value: Any) -> bool:
    return is_number(value) and abs(value) < _EXACT_LIMIT


def _safe_json(value: Any) -> bool:
    """Whether JSONB equality with ``value`` is exactly ``json_equal`` (no huge numbers)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return True
    if is_number(value):
        return _safe_number(value)
    if isinstance(value, dict):
        return all(_safe_json(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(_safe_json(v) for v in value)
    return False


class _Builder:
    def __init__(self, column: str, path: tuple[str, ...], params: dict[str, Any]) -> None:
        self.column = column
        self.path = list(path)
        self.params = params
        self.exact = True

    def bind(self, value: Any, cast: str = "") -> str:
        name = f"f{len(self.params)}"
        self.params[name] = value
        return f"%({name})s{cast}"

    def field(self) -> str:
        return f"({self.column} #> {self.bind(self.path, '::text[]')})"

    def type_(self) -> str:
        return f"jsonb_typeof{self.field()}"

    def reachable(self) -> str:
        """Parents must be objects where a label could index an array (``#>`` would)."""
        checks = [
            f"jsonb_typeof({self.column} #> {self.bind(self.path[:i], '::text[]')}) = 'object'"
            for i in range(1, len(self.path))
            if _INDEX_LIKE.search(self.path[i])
        ]
        return " AND ".join(checks) if checks else "TRUE"

    def when(self, kind: str, test: str | None = None) -> str:
        """True when the field exists, is a JSON ``kind`` and (then) passes ``test``."""
        guard = self.reachable()
        typed = f"{guard} AND {self.type_()} = '{kind}'"
        if test is None:
            return f"COALESCE({typed}, FALSE)"
        return f"COALESCE(CASE WHEN {typed} THEN {test} ELSE FALSE END, FALSE)"

    def equals(self, value: Any) -> str:
        """A test every field equal to ``value`` passes (exact unless huge numbers)."""
        if value is None:
            return self.when("null")
        if isinstance(value, bool):
            return self.when(
                "boolean", f"{self.field()} = {self.bind(json.dumps(value), '::jsonb')}"
            )
        if isinstance(value, str):
            text = json.dumps(value, ensure_ascii=False)
            return self.when("string", f"{self.field()} = {self.bind(text, '::jsonb')}")
        if is_number(value):
            if not _safe_number(value):
                self.exact = False
                return self.when("number")
            number = self.bind(_number_text(value), "::numeric")
            return self.when("number", f"{self.field()}::numeric = {number}")
        kind = "object" if isinstance(value, dict) else "array"
        if not _safe_json(value):
            self.exact = False
            return self.when(kind)
        text = json.dumps(value, ensure_ascii=False)
        return self.when(kind, f"{self.field()} = {self.bind(text, '::jsonb')}")

    def differs(self, value: Any) -> str:
        """A test every field unequal to ``value`` (or missing) passes."""
        if not _safe_json(value):
            self.exact = False
            return "TRUE"
        return f"NOT {self.equals(value)}"

    def orders(self, op: str, value: Any) -> str:
        sign = _COMPARE[op]
        if isinstance(value, str):
            text = f"({self.field()} #>> '{{}}') COLLATE \"C\""
            return self.when("string", f"{text} {sign} {self.bind(value, '::text')}")
        if not _safe_number(value):
            self.exact = False
            return self.when("number")
        number = self.bind(_number_text(value), "::numeric")
        return self.when("number", f"{self.field()}::numeric {sign} {number}")


def condition_sql(
    cond: Condition, params: dict[str, Any], column: str = "value"
) -> tuple[str, bool]:
    """SQL every item satisfying ``cond`` passes (binding into ``params``), and its exactness."""
    b = _Builder(column, cond.path, params)
    op = cond.op
    if op == "$exists":
        test = f"COALESCE({b.reachable()} AND {b.field()} IS NOT NULL, FALSE)"
        sql = test if cond.value else f"NOT {test}"
    elif op == "$eq":
        sql = b.equals(cond.value)
    elif op == "$ne":
        sql = b.differs(cond.value)
    elif op == "$in":
        sql = "(" + " OR ".join(b.equals(v) for v in cond.value) + ")" if cond.value else "FALSE"
    elif op == "$nin":
        parts = [b.differs(v) for v in cond.value]
        sql = "(" + " AND ".join(parts) + ")" if parts else "TRUE"
    else:
        sql = b.orders(op, cond.value)
    return sql, b.exact


def compile_sql(conditions: tuple[Condition, ...], column: str = "value") -> SqlFilter:
    """All conditions as one AND-ed WHERE fragment over ``column``."""
    if not conditions:
        return SqlFilter()
    parts: list[str] = []
    params: dict[str, Any] = {}
    exact = True
    for cond in conditions:
        sql, ok = condition_sql(cond, params, column)
        parts.append(f"({sql})")
        exact = exact and ok
    return SqlFilter(" AND ".join(parts), params, exact)
