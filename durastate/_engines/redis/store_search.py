"""Semantic search on the Redis query engine: index setup, KNN with namespace pre-filter.

The index (``FT.CREATE ... ON HASH``) covers the store's vector documents only: an HNSW
``VECTOR`` field and a ``TAG`` field holding every namespace prefix of the item, so a
search's namespace prefix is a pre-filter of the KNN query. Distances become durastate's
scores exactly as ``durastate.store.vectors`` computes them: cosine similarity is
``1 - distance``, L2 is ``-sqrt(distance)`` (the engine reports the squared distance),
inner product is ``1 - distance`` (the engine reports ``1 - u.v``). A store filter is
evaluated on the fetched items with the reference evaluator; the KNN depth grows until the
page is complete or every vector under the prefix was seen, so filters never truncate
(HNSW is approximate: on large indexes a true neighbour can rank lower than exact search
would put it, as with every HNSW index).
A server without the query engine (plain Redis, Valkey, most managed services) makes
configuring an index fail at setup with ``QueryEngineMissingError``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ResponseError

from durastate._engines.redis.requests import Body, Cmd
from durastate._engines.redis.store_keys import Namespace, StoreKeys, prefix_tag
from durastate._engines.redis.store_ops import Row, get_body, recency_body
from durastate.errors import DurastateError, InvalidInputError
from durastate.store.base import SearchRequest
from durastate.store.filters import matches
from durastate.store.index import IndexSettings
from durastate.store.vectors import to_blob

logger = logging.getLogger(__name__)

METRICS = {"cosine": "COSINE", "l2": "L2", "inner_product": "IP"}
FIRST_DEPTH = 16
INDEX_WAIT_SECONDS = 300.0
"""How long setup waits for an index built over existing vectors before going on."""
INDEX_POLL_SECONDS = 0.02
MAX_DEPTH = 1_000_000
"""The query engine's default ``MAXSEARCHRESULTS``: the deepest KNN one query can ask for."""


class QueryEngineMissingError(DurastateError, RuntimeError):
    """The Redis server has no query engine (``FT.*`` commands), needed for ``index=``."""


CLUSTER_SEARCH = (
    "semantic search (index=...) needs a standalone server with the Redis query engine "
    "(Redis Stack, Redis 8); a Redis Cluster serves FT.CREATE/FT.SEARCH only through a "
    "search coordinator, which open-source clusters lack. Open the store without index= on "
    "the cluster (get, put, delete, filtered search, list_namespaces and TTL work there)"
)


def check_cluster_index(cluster: bool, settings: IndexSettings | None) -> None:
    if cluster and settings is not None:
        raise QueryEngineMissingError(CLUSTER_SEARCH)


def warn_still_indexing(keys: StoreKeys) -> None:
    logger.warning(
        "the Redis query engine is still indexing existing vectors of %s after %.0f s; "
        "semantic searches may miss items until it is done",
        keys.index,
        INDEX_WAIT_SECONDS,
    )


def score_of(distance: float, metric: str) -> float:
    """durastate's score (higher is closer) for a distance the query engine reports."""
    if metric == "l2":
        return -math.sqrt(max(distance, 0.0))
    return 1.0 - distance


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _pairs(reply: Any) -> dict[str, Any]:
    """A RESP2 flat list or a RESP3 map as a dict with text keys."""
    if isinstance(reply, Mapping):
        return {_text(k): v for k, v in reply.items()}
    items = list(reply)
    return {_text(items[i]): items[i + 1] for i in range(0, len(items) - 1, 2)}


def _server_name(info: Any) -> str:
    data = _pairs(info) if not isinstance(info, Mapping) else {_text(k): v for k, v in info.items()}
    if "valkey_version" in data:
        return f"Valkey {_text(data['valkey_version'])}"
    version = data.get("redis_version")
    return f"Redis {_text(version)}" if version is not None else "this server"


def _vector_attribute(info: Mapping[str, Any]) -> dict[str, str]:
    """The ``vec`` attribute of an ``FT.INFO`` reply: its dims and metric, lower-cased."""
    for attr in info.get("attributes") or []:
        fields = _pairs(attr)
        if (
            _text(fields.get("identifier", "")) == "vec"
            or _text(fields.get("attribute", "")) == "vec"
        ):
            return {
                k.lower(): _text(v).lower()
                for k, v in fields.items()
                if k.lower() in {"dim", "distance_metric", "type", "algorithm"}
            }
    return {}


def setup_body(keys: StoreKeys, settings: IndexSettings) -> Body[bool]:
    """Create the index if missing; fail clearly without a query engine or on a mismatch.

    Answers whether the engine is still indexing documents that existed before the index
    (``indexing_body`` tells when it is done).
    """
    try:
        info = yield Cmd(("FT.INFO", keys.index))
    except ResponseError as exc:
        message = str(exc).lower()
        if "unknown command" in message:
            server = yield Cmd(("INFO", "server"))
            raise QueryEngineMissingError(
                f"semantic search (index=...) needs the Redis query engine: FT.CREATE and "
                f"FT.SEARCH with an HNSW VECTOR field (Redis Stack, Redis 8 or Redis with "
                f"RediSearch >= 2.4); {_server_name(server)} lacks it (FT.INFO: unknown "
                f"command). Use such a server, or open the store without index= (get, put, "
                f"delete, filtered search, list_namespaces and TTL need no modules)"
            ) from None
        if "unknown index" not in message and "no such index" not in message:
            raise
        info = None
    if info is None:
        try:
            yield Cmd(_create_args(keys, settings))
        except ResponseError as exc:
            if "already exists" not in str(exc).lower():
                raise InvalidInputError(
                    f"the Redis query engine refused the store's vector index {keys.index!r}: {exc}"
                ) from None
        info = yield Cmd(("FT.INFO", keys.index))
    data = _pairs(info)
    _check_existing(keys, settings, data)
    return _indexing(data)


def _indexing(info: Mapping[str, Any]) -> bool:
    return bool(int(float(_text(info.get("indexing", 0) or 0))))


def indexing_body(keys: StoreKeys) -> Body[bool]:
    """Whether the engine is still indexing existing vector documents."""
    info = yield Cmd(("FT.INFO", keys.index))
    return _indexing(_pairs(info))


@dataclass(frozen=True, slots=True)
class VectorLayout:
    """The query-engine vector field an index configuration asks for (``ann_index_config``
    with the keys pgvector stores take: ``kind`` "hnsw" or "flat", ``m``,
    ``ef_construction``, ``ef_search``)."""

    kind: str = "hnsw"
    m: int = 16
    ef_construction: int = 200
    ef_search: int | None = None

    def ef_runtime(self, depth: int) -> int:
        """HNSW candidates kept while searching for ``depth`` neighbours: the server's
        default (10) found 0.76 of the true top 10 among 100,000 random 64-dim vectors,
        400 finds 0.97."""
        return self.ef_search or min(1000, max(400, 4 * depth))


def _positive(raw: Mapping[str, Any], name: str, default: int) -> int:
    value = raw.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"ann_index_config[{name!r}] must be a positive int, got {value!r}")
    return value


def vector_layout(settings: IndexSettings) -> VectorLayout:
    raw = settings.extra.get("ann_index_config") or {}
    if not isinstance(raw, Mapping):
        raise InvalidInputError(f"ann_index_config must be a mapping, got {type(raw).__name__}")
    kind = raw.get("kind", "hnsw")
    if kind not in ("hnsw", "flat"):
        raise InvalidInputError(
            f"ann_index_config['kind'] must be 'hnsw' or 'flat' on Redis, got {kind!r}"
        )
    ef = raw.get("ef_search")
    return VectorLayout(
        kind=kind,
        m=_positive(raw, "m", 16),
        ef_construction=_positive(raw, "ef_construction", 200),
        ef_search=None if ef is None else _positive(raw, "ef_search", 400),
    )


def _create_args(keys: StoreKeys, settings: IndexSettings) -> tuple[Any, ...]:
    layout = vector_layout(settings)
    field: list[str] = [
        "TYPE",
        "FLOAT32",
        "DIM",
        str(settings.dims),
        "DISTANCE_METRIC",
        METRICS[settings.distance_type],
    ]
    if layout.kind == "hnsw":
        field += ["M", str(layout.m), "EF_CONSTRUCTION", str(layout.ef_construction)]
    return (
        "FT.CREATE",
        keys.index,
        "ON",
        "HASH",
        "PREFIX",
        "1",
        keys.vector_prefix,
        "SCHEMA",
        "nsp",
        "TAG",
        "SEPARATOR",
        ",",
        "vec",
        "VECTOR",
        layout.kind.upper(),
        str(len(field)),
        *field,
    )


def _check_existing(keys: StoreKeys, settings: IndexSettings, info: Mapping[str, Any]) -> None:
    attr = _vector_attribute(info)
    want_dims, want_metric = str(settings.dims), METRICS[settings.distance_type].lower()
    want_kind = vector_layout(settings).kind
    dims, metric = attr.get("dim"), attr.get("distance_metric")
    kind = attr.get("algorithm", want_kind)
    if dims == want_dims and metric == want_metric and kind == want_kind:
        return
    raise InvalidInputError(
        f"the Redis vector index {keys.index!r} exists as {kind} with {dims} dims and "
        f"{metric} distance, but this store is configured as {want_kind} with {want_dims} "
        f"dims and {settings.distance_type}; drop it (FT.DROPINDEX {keys.index}) and "
        f"re-embed, or use the index settings it was built with"
    )


def _knn_args(
    keys: StoreKeys, layout: VectorLayout, prefix: Namespace, vector: bytes, depth: int
) -> tuple[Any, ...]:
    scope = f"(@nsp:{{{prefix_tag(prefix)}}})" if prefix else "*"
    params: list[Any] = ["K", str(depth), "B", vector]
    knn = "KNN $K @vec $B"
    if layout.kind == "hnsw":
        knn += " EF_RUNTIME $EF"
        params += ["EF", str(layout.ef_runtime(depth))]
    return (
        "FT.SEARCH",
        keys.index,
        f"{scope}=>[{knn} AS dist]",
        "PARAMS",
        str(len(params)),
        *params,
        "SORTBY",
        "dist",
        "RETURN",
        "1",
        "dist",
        "LIMIT",
        "0",
        str(depth),
        "DIALECT",
        "2",
    )


def parse_knn(reply: Any) -> list[tuple[bytes, float]]:
    """(document id, distance) pairs from an ``FT.SEARCH`` reply, RESP2 or RESP3."""
    out: list[tuple[bytes, float]] = []
    if isinstance(reply, Mapping):
        data = _pairs(reply)
        for result in data.get("results") or []:
            r = _pairs(result)
            extra = _pairs(r.get("extra_attributes") or {})
            out.append((bytes(r["id"]), float(_text(extra["dist"]))))
        return out
    items = list(reply)
    for i in range(1, len(items) - 1, 2):
        fields = _pairs(items[i + 1])
        out.append((bytes(items[i]), float(_text(fields["dist"]))))
    return out


def vector_search_body(
    keys: StoreKeys, settings: IndexSettings, req: SearchRequest
) -> Body[list[tuple[Row, float | None]]]:
    """A page of items by score, then items without vectors newest first."""
    assert req.query_vector is not None
    want = req.offset + req.limit
    metric = settings.distance_type
    layout = vector_layout(settings)
    blob = to_blob(req.query_vector)
    depth = max(FIRST_DEPTH, 2 * want if req.conditions else want + 4)
    best: dict[tuple[Namespace, str], float] = {}
    rows: dict[tuple[Namespace, str], Row | None] = {}
    prefix = req.namespace_prefix
    while True:
        reply = yield Cmd(_knn_args(keys, layout, prefix, blob, depth))
        results = parse_knn(reply)
        exhausted = len(results) < depth
        worst = -math.inf
        for doc_id, distance in results:
            item = keys.item_of_vector(doc_id)
            score = score_of(distance, metric)
            worst = score
            if item not in best:
                best[item] = score
        missing = [item for item in best if item not in rows]
        fetched = yield from get_body(keys, [(ns, key, False) for ns, key in missing])
        rows.update(zip(missing, fetched, strict=True))
        hits = [
            (row, best[item])
            for item, row in rows.items()
            if row is not None
            and row.vector_count
            and row.namespace[: len(prefix)] == prefix
            and (not req.conditions or matches(row.value, req.conditions))
        ]
        hits.sort(key=lambda h: (-h[1], -h[0].updated_at, h[0].namespace, h[0].key))
        if exhausted or (len(hits) >= want and worst < hits[want - 1][1]):
            break
        if depth >= MAX_DEPTH:
            raise InvalidInputError(
                f"search under {prefix!r} needs more than the {MAX_DEPTH} nearest vectors "
                f"one query-engine search can return (MAXSEARCHRESULTS) to fill offset+limit "
                f"{want} through its filter; narrow the namespace prefix or the filter"
            )
        depth = min(depth * 4, MAX_DEPTH)
    ranked: list[tuple[Row, float | None]] = list(hits[:want])
    if len(ranked) < want:
        rest = yield from recency_body(keys, req, want - len(ranked), unscored=True)
        ranked.extend((row, None) for row in rest)
    return ranked[req.offset : want]


def drop_body(keys: StoreKeys) -> Body[bool]:
    """Drop the store's vector index (documents are kept); answers whether it existed."""
    try:
        yield Cmd(("FT.DROPINDEX", keys.index))
    except ResponseError as exc:
        text = str(exc).lower()
        if "unknown index" in text or "no such index" in text or "unknown command" in text:
            return False
        raise
    return True


__all__ = [
    "QueryEngineMissingError",
    "check_cluster_index",
    "drop_body",
    "indexing_body",
    "parse_knn",
    "score_of",
    "setup_body",
    "vector_search_body",
    "warn_still_indexing",
]
