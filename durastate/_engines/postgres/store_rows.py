"""Postgres store rows: the engine's view of a store, namespace ranges, values and vectors as sent.

Namespaces use the order-preserving text of ``durastate._engines.sqlite.store_rows`` (the
same encoding on both engines); a prefix is one range of it in the "C" collation.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from durastate._engines.postgres.migrations import qualify
from durastate._engines.postgres.requests import Component
from durastate._engines.postgres.store_schema import PGVECTOR, STORE, VectorLayout
from durastate._engines.sqlite.store_rows import check_text, decode_namespace, encode_namespace
from durastate.store.base import PreparedBatch, PutRequest, StoredItem
from durastate.store.index import IndexSettings
from durastate.store.vectors import Matrix

Deserializer = Callable[[str], dict[str, Any]]

SEP = "\x01\x01"
PREFIX_END = "\x01\x02"
COLUMNS = "i.ns, i.key, i.value::text, i.created_at, i.updated_at, i.ttl_minutes"
LIVE = "(i.expires_at IS NULL OR i.expires_at > %(now)s)"

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class StoreContext:
    """What a store's operations need: its schema, index and vector layout."""

    schema: str | None
    index: IndexSettings | None
    layout: VectorLayout | None
    deserializer: Deserializer | None = None

    @property
    def needs(self) -> tuple[Component, ...]:
        return (STORE, PGVECTOR) if self.layout is not None else (STORE,)

    def load(self, text: str) -> dict[str, Any]:
        if self.deserializer is not None:
            return self.deserializer(text)
        value: dict[str, Any] = json.loads(text)
        return value

    def sql(self, template: str) -> str:
        return qualify(template, self.schema)


def prefix_sql(prefix: tuple[str, ...], column: str = "i.ns") -> tuple[str, dict[str, Any]]:
    """A WHERE fragment for namespaces at or under ``prefix`` (labels, no ``*``): one range."""
    if not prefix:
        return "TRUE", {}
    enc = encode_namespace(prefix)
    return (
        f"({column} = %(ns_eq)s OR ({column} >= %(ns_lo)s AND {column} < %(ns_hi)s))",
        {"ns_eq": enc, "ns_lo": enc + SEP, "ns_hi": enc + PREFIX_END},
    )


def vector_text(vector: Matrix, brackets: str = "{}") -> str:
    """A float32 vector as array text (``{}``) or pgvector text (``[]``), read back exactly."""
    return brackets[0] + ",".join(map(repr, vector.astype(np.float64).tolist())) + brackets[1]


def value_text(put: PutRequest) -> str:
    """A value's JSON for JSONB: floats of 1e16 and beyond written positionally.

    JSONB keeps a number's decimal text, so ``1e+16`` would come back as the int
    ``10000000000000000``; ``10000000000000000.0`` comes back as the float it was.
    """
    text = put.value_json
    assert text is not None
    if "e+" not in text and "E+" not in text:
        return text
    marker = f"durastate-{uuid.uuid4().hex}-"
    numbers: list[str] = []

    def swap(value: Any) -> Any:
        if isinstance(value, float) and "e+" in repr(value):
            numbers.append(format(Decimal(repr(value)), "f") + ".0")
            return f"{marker}{len(numbers) - 1}"
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    out = json.dumps(swap(put.value), ensure_ascii=False, separators=(",", ":"))
    for i, number in enumerate(numbers):
        out = out.replace(f'"{marker}{i}"', number, 1)
    return out


def check_batch(batch: PreparedBatch) -> None:
    """Reject text Postgres cannot store (lone surrogates) before anything runs."""
    for get in batch.gets:
        check_text(get.key, f"key {get.key!r} in {get.namespace!r}")
    for put in batch.puts:
        where = f"{put.namespace!r}/{put.key!r}"
        for label in put.namespace:
            check_text(label, f"namespace {put.namespace!r}")
        check_text(put.key, f"key of {where}")
        if put.value_json is not None:
            check_text(put.value_json, f"value of {where}")


def stored(ctx: StoreContext, row: Row) -> StoredItem:
    return StoredItem(
        namespace=decode_namespace(row[0]),
        key=row[1],
        value=ctx.load(row[2]),
        created_at=row[3],
        updated_at=row[4],
        ttl_minutes=row[5],
    )
