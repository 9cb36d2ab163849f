"""Store filters as SQL over the JSON ``value`` column, narrowing what Python then decides.

The SQL never drops an item the reference evaluator (``durastate.store.filters.matches``)
accepts: ``json_type`` checks keep numbers, strings, booleans and null apart, numbers
compare numerically and strings by code point (SQLite compares UTF-8 bytes, the same
order). For values within 64-bit integers and doubles the SQL is exact; integers
beyond 64 bits (which SQLite reads as doubles), deep equality of lists and objects and
operands SQL cannot express pass the SQL and are decided by ``matches`` on the row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from durastate.store.filters import Condition, is_number

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_COMPARE = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


def json_path(path: tuple[str, ...]) -> str:
    """A SQLite JSON path for validated segments (no quotes or backslashes can occur)."""
    return "$" + "".join(f'."{part}"' for part in path)


def _sql_number(value: Any) -> bool:
    """Whether SQLite can bind and compare this number exactly."""
    if isinstance(value, int):
        return _INT64_MIN <= value <= _INT64_MAX
    return isinstance(value, float) and math.isfinite(value)


@dataclass(slots=True)
class SqlFilter:
    """A WHERE fragment and its parameters (positional, in order)."""

    sql: str = "1"
    params: list[Any] = field(default_factory=list)


class _Builder:
    def __init__(self, path: tuple[str, ...]) -> None:
        self.path = json_path(path)
        self.params: list[Any] = []

    def type_(self) -> str:
        self.params.append(self.path)
        return "json_type(value, ?)"

    def extract(self) -> str:
        self.params.append(self.path)
        return "json_extract(value, ?)"

    def bind(self, value: Any) -> str:
        self.params.append(value)
        return "?"

    def overflow(self) -> str:
        """Integers too wide for 64 bits, which SQLite reads as inexact doubles."""
        return f"({self.type_()} = 'integer' AND typeof({self.extract()}) = 'real')"

    def number_type(self) -> str:
        return f"COALESCE({self.type_()} IN ('integer', 'real'), 0)"

    def equals(self, value: Any) -> str | None:
        """A strict 0/1 test for equality with a scalar, or None (decided in Python)."""
        if value is None:
            return f"COALESCE({self.type_()} = 'null', 0)"
        if isinstance(value, bool):
            return f"COALESCE({self.type_()} = '{'true' if value else 'false'}', 0)"
        if isinstance(value, str):
            return f"COALESCE({self.type_()} = 'text' AND {self.extract()} = {self.bind(value)}, 0)"
        if is_number(value) and _sql_number(value):
            test = (
                f"{self.type_()} IN ('integer', 'real') AND {self.extract()} = {self.bind(value)}"
            )
            return f"(COALESCE({test}, 0) OR {self.overflow()})"
        return None

    def may_equal(self, value: Any) -> str:
        """A test every value equal to ``value`` passes (exact where ``equals`` is)."""
        exact = self.equals(value)
        if exact is not None:
            return exact
        if isinstance(value, (list, tuple)):
            return f"COALESCE({self.type_()} = 'array', 0)"
        if isinstance(value, dict):
            return f"COALESCE({self.type_()} = 'object', 0)"
        return self.number_type()

    def differs(self, value: Any) -> str:
        """A test every value unequal to ``value`` (or missing) passes."""
        if value is None or isinstance(value, (bool, str)):
            exact = self.equals(value)
            return f"NOT {exact}"
        if is_number(value) and _sql_number(value):
            test = (
                f"{self.type_()} IN ('integer', 'real') AND {self.extract()} = {self.bind(value)}"
            )
            return f"(NOT COALESCE({test}, 0) OR {self.overflow()})"
        return "1"

    def orders(self, op: str, value: Any) -> str:
        sign = _COMPARE[op]
        if isinstance(value, str):
            test = f"{self.type_()} = 'text' AND {self.extract()} {sign} {self.bind(value)}"
            return f"COALESCE({test}, 0)"
        if _sql_number(value):
            test = (
                f"{self.type_()} IN ('integer', 'real') AND {self.extract()} {sign} "
                f"{self.bind(value)}"
            )
            return f"(COALESCE({test}, 0) OR {self.overflow()})"
        return self.number_type()


def condition_sql(cond: Condition) -> tuple[str, list[Any]]:
    """SQL that every item satisfying ``cond`` passes."""
    b = _Builder(cond.path)
    op = cond.op
    if op == "$exists":
        sql = f"{b.type_()} IS {'NOT NULL' if cond.value else 'NULL'}"
    elif op == "$eq":
        sql = b.may_equal(cond.value)
    elif op == "$ne":
        sql = b.differs(cond.value)
    elif op == "$in":
        sql = "(" + " OR ".join(b.may_equal(v) for v in cond.value) + ")" if cond.value else "0"
    elif op == "$nin":
        if all(v is None or isinstance(v, (bool, str)) or _sql_number(v) for v in cond.value):
            sql = " AND ".join(f"({b.differs(v)})" for v in cond.value) or "1"
        else:
            sql = "1"
    else:
        sql = b.orders(op, cond.value)
    return sql, b.params


def compile_sql(conditions: tuple[Condition, ...]) -> SqlFilter:
    """All conditions as one AND-ed WHERE fragment over ``value``."""
    if not conditions:
        return SqlFilter()
    parts: list[str] = []
    params: list[Any] = []
    for cond in conditions:
        sql, more = condition_sql(cond)
        parts.append(f"({sql})")
        params.extend(more)
    return SqlFilter(" AND ".join(parts), params)
