"""Engine-independent store logic: validation, dedup, embedding, TTL, result assembly.

A store engine receives a ``PreparedBatch`` — validated, deduplicated, with every
embedding already computed outside any lock or transaction — and answers each
request. Reads in a batch see the store as it was before the batch's writes.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
)

from durastate._bridge import in_thread, iterate_in_thread, run_on_loop
from durastate._limits import check_name_size
from durastate._sweeper import TaskSweeper, ThreadSweeper
from durastate.errors import InvalidInputError
from durastate.serde.plain_json import json_has_nul
from durastate.store.filters import Condition, compile_filter, matches
from durastate.store.index import FieldPath, IndexSettings, parse_index
from durastate.store.vectors import Matrix, as_matrix, scores, top_k

if TYPE_CHECKING:
    from durastate.store.transfer import ExportedItem

Namespace = tuple[str, ...]


class StoreNamespaceError(InvalidInputError, InvalidNamespaceError):
    """A malformed store namespace: catchable as LangGraph's ``InvalidNamespaceError``.

    ``BaseStore``'s methods raise ``InvalidNamespaceError`` themselves; ops handed to
    ``batch`` directly are checked here, so both paths raise the same LangGraph type.
    """


def check_label(label: Any, namespace: Any) -> None:
    if not isinstance(label, str):
        raise StoreNamespaceError(
            f"namespace {namespace!r}: labels must be strings, got {type(label).__name__}"
        )
    if not label:
        raise StoreNamespaceError(f"namespace {namespace!r}: labels must not be empty")
    if "." in label:
        raise StoreNamespaceError(f"namespace {namespace!r}: label {label!r} contains '.'")
    if "\x00" in label:
        raise StoreNamespaceError(f"namespace {namespace!r}: label {label!r} contains NUL")


def check_namespace(
    namespace: Any, *, allow_empty: bool = False, writing: bool = False
) -> Namespace:
    """Validate a namespace the same way on every engine, for reads and writes."""
    if not isinstance(namespace, tuple):
        if isinstance(namespace, list):
            namespace = tuple(namespace)
        else:
            kind = type(namespace).__name__
            raise StoreNamespaceError(
                f"namespace {namespace!r} must be a tuple of strings, not {kind}"
            )
    if not namespace and not allow_empty:
        raise StoreNamespaceError("namespace () must not be empty")
    for label in namespace:
        check_label(label, namespace)
    check_name_size(".".join(namespace), "namespace", StoreNamespaceError)
    if writing and namespace[0] == "langgraph":
        raise StoreNamespaceError(f"namespace {namespace!r}: root label 'langgraph' is reserved")
    return cast(Namespace, namespace)


def check_key(key: Any, namespace: Namespace) -> str:
    if not isinstance(key, str):
        raise InvalidInputError(
            f"key in namespace {namespace!r} must be a string, got {type(key).__name__}"
        )
    if "\x00" in key:
        raise InvalidInputError(f"key {key!r} in namespace {namespace!r} contains NUL")
    check_name_size(key, f"key in namespace {namespace!r}:")
    return key


def value_to_json(value: Any, namespace: Namespace, key: str) -> str:
    """The JSON text of a store value, or a clear error naming the item."""
    where = f"value of {namespace!r}/{key!r}"
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"{where} must be a dict, got {type(value).__name__}")
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{where} is not JSON-serializable: {exc}") from None
    if json_has_nul(text):
        raise InvalidInputError(f"{where} contains a NUL character, which no engine stores")
    return text


def check_ttl(ttl: Any, namespace: Namespace, key: str) -> float | None:
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not math.isfinite(ttl):
        raise InvalidInputError(f"ttl of {namespace!r}/{key!r} must be minutes, got {ttl!r}")
    if ttl <= 0:
        raise InvalidInputError(f"ttl of {namespace!r}/{key!r} must be positive, got {ttl!r}")
    return float(ttl)


def plain_field(fp: FieldPath) -> str | None:
    """The key of a one-token path naming a plain field (no index, wildcard or braces)."""
    if len(fp.tokens) != 1:
        return None
    name = fp.tokens[0]
    if name == "*" or (name[:1], name[-1:]) in (("[", "]"), ("{", "}")):
        return None
    return name


def field_texts(fp: FieldPath, value: dict[str, Any]) -> list[str]:
    """``fp.texts(value)``, without the general path walk when the field is plain text."""
    name = plain_field(fp)
    if name is not None:
        text = value.get(name)
        if type(text) is str:
            return [text] if text else []
    return fp.texts(value)


BEYOND_ANY_STORE = 2**62
"""Counts above this mean "all" alike on every engine (SQL integers end at 2**63 - 1, and
offset + limit must fit too); no store holds that many items, so no answer changes."""


def _check_count(value: Any, what: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInputError(f"{what} must be an int >= {minimum}, got {value!r}")
    return min(value, BEYOND_ANY_STORE)


@dataclass(frozen=True, slots=True)
class EmbeddedText:
    """One indexed piece of an item: the field path, its text and its vector."""

    path: str
    text: str
    vector: Matrix


@dataclass(slots=True)
class PutRequest:
    """Write or delete one item (``value is None`` deletes)."""

    namespace: Namespace
    key: str
    value: dict[str, Any] | None
    value_json: str | None
    ttl_minutes: float | None
    embeddings: tuple[EmbeddedText, ...] = ()
    """The item's vectors after this put (replacing any it had); empty if not indexed."""
    texts: tuple[tuple[str, str], ...] = ()
    """(path, text) pairs still to embed; filled into ``embeddings`` by ``bind``."""

    def expires_at(self, now: float) -> float | None:
        return None if self.ttl_minutes is None else now + self.ttl_minutes * 60.0


@dataclass(frozen=True, slots=True)
class GetRequest:
    slot: int
    namespace: Namespace
    key: str
    refresh_ttl: bool


@dataclass(slots=True)
class SearchRequest:
    slot: int
    namespace_prefix: Namespace
    conditions: tuple[Condition, ...]
    limit: int
    offset: int
    query: str | None
    refresh_ttl: bool
    query_vector: Matrix | None = None
    """The embedded query (1-D float32), set when the store has an index and a query was given."""


@dataclass(frozen=True, slots=True)
class ListNamespacesRequest:
    slot: int
    prefix: Namespace | None
    suffix: Namespace | None
    max_depth: int | None
    limit: int
    offset: int


@dataclass(slots=True)
class PreparedBatch:
    """A validated batch: reads with result slots, then deduplicated writes."""

    size: int
    gets: list[GetRequest] = field(default_factory=list)
    searches: list[SearchRequest] = field(default_factory=list)
    lists: list[ListNamespacesRequest] = field(default_factory=list)
    puts: list[PutRequest] = field(default_factory=list)
    now: float = 0.0

    def texts_to_embed(self) -> list[str]:
        seen: dict[str, None] = {}
        for put in self.puts:
            for _, text in put.texts:
                seen.setdefault(text, None)
        return list(seen)

    def queries_to_embed(self) -> list[str]:
        return list(dict.fromkeys(s.query for s in self.searches if s.query is not None))


def ts_to_datetime(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def make_item(
    namespace: Namespace, key: str, value: dict[str, Any], created: float, updated: float
) -> Item:
    return Item(
        value=value,
        key=key,
        namespace=namespace,
        created_at=ts_to_datetime(created),
        updated_at=ts_to_datetime(updated),
    )


def make_search_item(
    namespace: Namespace,
    key: str,
    value: dict[str, Any],
    created: float,
    updated: float,
    score: float | None,
) -> SearchItem:
    return SearchItem(
        namespace=namespace,
        key=key,
        value=value,
        created_at=ts_to_datetime(created),
        updated_at=ts_to_datetime(updated),
        score=None if score is None else float(score),
    )


@dataclass(slots=True)
class StoredItem:
    """An item as an engine holds it, for the shared ranking code."""

    namespace: Namespace
    key: str
    value: dict[str, Any]
    created_at: float
    updated_at: float
    expires_at: float | None = None
    ttl_minutes: float | None = None
    vectors: Matrix | None = None
    """One row per indexed text (None or zero rows: not indexed)."""

    def is_live(self, now: float) -> bool:
        return self.expires_at is None or self.expires_at > now


def recency_key(item: StoredItem) -> tuple[float, Namespace, str]:
    """Search order without a query: newest first, then namespace, then key."""
    return (-item.updated_at, item.namespace, item.key)


def rank_items(
    candidates: Iterable[StoredItem], req: SearchRequest, index: IndexSettings | None
) -> list[tuple[StoredItem, float | None]]:
    """The reference search: filter, then order by score (with a query) or recency.

    Items without vectors follow the scored ones (score None), newest first.
    ``candidates`` must already be live and inside the namespace prefix.
    """
    hits = [c for c in candidates if matches(c.value, req.conditions)]
    end = req.offset + req.limit
    if req.query_vector is None or index is None:
        hits.sort(key=recency_key)
        return [(h, None) for h in hits[req.offset : end]]
    # Recency order first, so equal scores (top_k keeps the lower index) come newest first.
    scored = sorted(
        (h for h in hits if h.vectors is not None and h.vectors.shape[0]), key=recency_key
    )
    unscored = sorted(
        (h for h in hits if h.vectors is None or not h.vectors.shape[0]), key=recency_key
    )
    ranked: list[tuple[StoredItem, float | None]] = []
    if scored:
        blocks = [h.vectors for h in scored if h.vectors is not None]
        owners = np.repeat(np.arange(len(scored)), [b.shape[0] for b in blocks])
        matrix = np.concatenate(blocks)
        flat = scores(matrix, req.query_vector, index.distance_type)
        best = np.full(len(scored), -np.inf, dtype=np.float32)
        np.maximum.at(best, owners, flat)
        order = top_k(best, min(end, len(scored)))
        ranked = [(scored[i], float(best[i])) for i in order]
    ranked.extend((u, None) for u in unscored[: max(0, end - len(ranked))])
    return ranked[req.offset : end]


def namespace_matches(namespace: Namespace, pattern: Namespace, *, suffix: bool) -> bool:
    """Whether a namespace starts (or ends) with ``pattern``, where ``*`` matches any label."""
    if len(pattern) > len(namespace):
        return False
    part = namespace[len(namespace) - len(pattern) :] if suffix else namespace[: len(pattern)]
    return all(p == "*" or p == n for p, n in zip(pattern, part, strict=True))


def select_namespaces(
    namespaces: Iterable[Namespace], req: ListNamespacesRequest
) -> list[Namespace]:
    """The reference ``list_namespaces``: match, truncate to depth, dedupe, sort, page."""
    out: set[Namespace] = set()
    for ns in namespaces:
        if req.prefix is not None and not namespace_matches(ns, req.prefix, suffix=False):
            continue
        if req.suffix is not None and not namespace_matches(ns, req.suffix, suffix=True):
            continue
        out.add(ns[: req.max_depth] if req.max_depth is not None else ns)
    return sorted(out)[req.offset : req.offset + req.limit]


def literal_prefix(pattern: Namespace | None) -> Namespace:
    """The labels of a prefix pattern before its first wildcard (usable as an index range)."""
    if not pattern:
        return ()
    out: list[str] = []
    for label in pattern:
        if label == "*":
            break
        out.append(label)
    return tuple(out)


class StoreBase(BaseStore):
    """What every durastate store shares: one ``batch`` contract on every engine."""

    supports_ttl: bool = True

    def __init__(
        self, *, index: Mapping[str, Any] | None = None, ttl: TTLConfig | None = None
    ) -> None:
        self.index_settings = parse_index(index)
        self.index_config = dict(index) if index else None
        self.ttl_config = self._check_ttl_config(ttl)

    @staticmethod
    def _check_ttl_config(ttl: TTLConfig | None) -> TTLConfig | None:
        if ttl is None:
            return None
        default = ttl.get("default_ttl")
        if default is not None:
            check_ttl(default, ("<default>",), "<ttl config>")
        interval = ttl.get("sweep_interval_minutes")
        if interval is not None and (
            isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval <= 0
        ):
            raise InvalidInputError(
                f"ttl['sweep_interval_minutes'] must be positive, got {interval!r}"
            )
        return ttl

    @property
    def sweep_interval_seconds(self) -> float:
        minutes = (self.ttl_config or {}).get("sweep_interval_minutes") or 5
        return float(minutes) * 60.0

    def prepare(self, ops: Iterable[Op]) -> PreparedBatch:
        """Validate every op and plan the batch; embeddings are still to be bound."""
        batch = PreparedBatch(size=0, now=time.time())
        latest_put: dict[tuple[Namespace, str], PutRequest] = {}
        slot = -1
        for slot, op in enumerate(ops):
            if isinstance(op, GetOp):
                ns = self._namespace(op.namespace)
                batch.gets.append(GetRequest(slot, ns, check_key(op.key, ns), bool(op.refresh_ttl)))
            elif isinstance(op, SearchOp):
                ns = self._namespace(op.namespace_prefix, allow_empty=True)
                if op.query is not None and not isinstance(op.query, str):
                    raise InvalidInputError(f"search query must be a string, got {op.query!r}")
                batch.searches.append(
                    SearchRequest(
                        slot,
                        ns,
                        compile_filter(op.filter),
                        _check_count(op.limit, "search limit"),
                        _check_count(op.offset, "search offset"),
                        op.query if op.query else None,
                        bool(op.refresh_ttl),
                    )
                )
            elif isinstance(op, ListNamespacesOp):
                batch.lists.append(self._prepare_list(slot, op))
            elif isinstance(op, PutOp):
                put = self._prepare_put(op)
                latest_put.pop((put.namespace, put.key), None)
                latest_put[(put.namespace, put.key)] = put
            else:
                raise InvalidInputError(f"unknown store operation {type(op).__name__}")
        batch.size = slot + 1
        batch.puts = list(latest_put.values())
        return batch

    def _namespace(
        self, namespace: Any, *, allow_empty: bool = False, writing: bool = False
    ) -> Namespace:
        """``check_namespace``; an engine may remember the namespaces it has accepted."""
        return check_namespace(namespace, allow_empty=allow_empty, writing=writing)

    def _put_value(
        self, value: Any, namespace: Namespace, key: str
    ) -> tuple[dict[str, Any], str | None]:
        """The checked value to store (a fresh copy) and its JSON text.

        An engine that never needs the text may answer ``None`` for it, as long as it
        accepts and refuses exactly the values ``value_to_json`` does.
        """
        text = value_to_json(value, namespace, key)
        loaded: dict[str, Any] = json.loads(text)
        return loaded, text

    def _prepare_list(self, slot: int, op: ListNamespacesOp) -> ListNamespacesRequest:
        prefix = suffix = None
        for cond in op.match_conditions or ():
            if not isinstance(cond.path, (tuple, list)):
                # A bare string would silently become a path of one-character labels.
                raise StoreNamespaceError(
                    f"namespace {cond.match_type} {cond.path!r} must be a tuple of strings"
                )
            path = tuple(cond.path)
            for label in path:
                check_label(label, path)
            if cond.match_type == "prefix":
                prefix = path
            elif cond.match_type == "suffix":
                suffix = path
            else:
                raise InvalidInputError(f"unknown namespace match type {cond.match_type!r}")
        depth = op.max_depth
        if depth is not None:
            _check_count(depth, "max_depth", minimum=1)
        return ListNamespacesRequest(
            slot,
            prefix,
            suffix,
            depth,
            _check_count(op.limit, "list_namespaces limit"),
            _check_count(op.offset, "list_namespaces offset"),
        )

    def _prepare_put(self, op: PutOp) -> PutRequest:
        ns = self._namespace(op.namespace, writing=op.value is not None)
        key = check_key(op.key, ns)
        if op.value is None:
            return PutRequest(ns, key, None, None, None)
        value, text = self._put_value(op.value, ns, key)
        texts = self._index_texts(op.index, ns, key, value)
        return PutRequest(ns, key, value, text, check_ttl(op.ttl, ns, key), texts=texts)

    def _index_texts(
        self, index: Any, ns: Namespace, key: str, value: dict[str, Any]
    ) -> tuple[tuple[str, str], ...]:
        """(path, text) pairs of a put to embed, per its ``index=`` and the store's index."""
        if self.index_settings is None or index is False:
            return ()
        if index is not None and (isinstance(index, str) or not isinstance(index, Sequence)):
            raise InvalidInputError(
                f"index for {ns!r}/{key!r} must be False, None or a list of paths"
            )
        paths = self.index_settings.field_paths(index)
        if len(paths) == 1:
            fp = paths[0]
            return tuple([(fp.path, t) for t in field_texts(fp, value)])
        return tuple((fp.path, t) for fp in paths for t in field_texts(fp, value))

    def _vector_matrices(
        self,
        docs: Sequence[Sequence[float]],
        doc_texts: Sequence[str],
        queries: Sequence[Sequence[float]],
        query_texts: Sequence[str],
    ) -> tuple[Matrix | None, Matrix | None]:
        """The embedder's answers as checked matrices (None where nothing was embedded)."""
        assert self.index_settings is not None
        dims = self.index_settings.dims
        if len(docs) != len(doc_texts) or len(queries) != len(query_texts):
            raise ValueError(
                f"embedder returned {len(docs)} vectors for {len(doc_texts)} texts "
                f"and {len(queries)} for {len(query_texts)} queries"
            )
        try:
            doc_m = as_matrix(docs, dims) if doc_texts else None
            query_m = as_matrix(queries, dims) if query_texts else None
        except ValueError as exc:
            raise InvalidInputError(f"embedding function returned bad vectors: {exc}") from None
        return doc_m, query_m

    def bind(
        self,
        batch: PreparedBatch,
        docs: Sequence[Sequence[float]],
        queries: Sequence[Sequence[float]],
    ) -> PreparedBatch:
        """Attach computed vectors (documents in ``texts_to_embed`` order, queries likewise)."""
        settings = self.index_settings
        if settings is None:
            return batch
        doc_texts = batch.texts_to_embed()
        query_texts = batch.queries_to_embed()
        doc_m, query_m = self._vector_matrices(docs, doc_texts, queries, query_texts)
        by_text = dict(zip(doc_texts, doc_m, strict=True)) if doc_m is not None else {}
        by_query = dict(zip(query_texts, query_m, strict=True)) if query_m is not None else {}
        for put in batch.puts:
            texts = put.texts
            if len(texts) == 1:
                path, text = texts[0]
                put.embeddings = (EmbeddedText(path, text, by_text[text]),)
            elif texts:
                put.embeddings = tuple(EmbeddedText(p, t, by_text[t]) for p, t in texts)
        for search in batch.searches:
            if search.query is not None:
                search.query_vector = by_query[search.query]
        return batch

    def export_items(
        self, namespace_prefix: Namespace = (), *, batch_size: int = 500
    ) -> Iterator[ExportedItem]:
        """Every live item at or under ``namespace_prefix``, exactly as stored.

        Items come ordered by namespace (label by label, by code point), then key, with
        their ``created_at`` / ``updated_at``, expiry, TTL and vectors; the engine reads
        ``batch_size`` items at a time, so memory stays flat. For moving data between
        backends (``durastate copy``); ``import_items`` writes them back.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot export items")
        yield  # pragma: no cover

    def import_items(self, items: Iterable[ExportedItem], *, reembed: bool = False) -> int:
        """Write exported items exactly: timestamps, expiry and TTL kept, not refreshed.

        An item with the same namespace and key is replaced. Vectors are re-used when
        the item has some and this store has no index or one of the same dimensions
        (unless ``reembed``); otherwise this store's index embeds the item's fields.
        Answers how many items were written.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot import items")

    def embed_sync(self, batch: PreparedBatch) -> PreparedBatch:
        settings = self.index_settings
        if settings is None:
            return batch
        docs, queries = batch.texts_to_embed(), batch.queries_to_embed()
        doc_vectors = settings.embeddings.embed_documents(docs) if docs else []
        query_vectors = [settings.embeddings.embed_query(q) for q in queries]
        return self.bind(batch, doc_vectors, query_vectors)

    async def embed_async(self, batch: PreparedBatch) -> PreparedBatch:
        settings = self.index_settings
        if settings is None:
            return batch
        docs, queries = batch.texts_to_embed(), batch.queries_to_embed()
        emb = settings.embeddings
        doc_vectors = await emb.aembed_documents(docs) if docs else []
        query_vectors = await asyncio.gather(*(emb.aembed_query(q) for q in queries))
        return self.bind(batch, doc_vectors, list(query_vectors))


class SyncStore(StoreBase):
    """A store whose engine is blocking; the async API runs it in worker threads."""

    def run_batch(self, batch: PreparedBatch) -> list[Result]:
        """Execute a prepared batch on the engine (implemented by each engine)."""
        raise NotImplementedError

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        return self.run_batch(self.embed_sync(self.prepare(ops)))

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        batch = await self.embed_async(self.prepare(ops))
        return await in_thread(self.run_batch, batch)

    def sweep_ttl(self) -> int:
        """Delete expired items now; returns how many were removed."""
        raise NotImplementedError

    async def asweep_ttl(self) -> int:
        return await in_thread(self.sweep_ttl)

    async def aexport_items(
        self, namespace_prefix: Namespace = (), *, batch_size: int = 500
    ) -> AsyncIterator[ExportedItem]:
        """``export_items`` from worker threads, a page at a time."""
        pages = iterate_in_thread(
            lambda: _pages(self.export_items(namespace_prefix, batch_size=batch_size), batch_size)
        )
        async for page in pages:
            for item in page:
                yield item

    async def aimport_items(self, items: Iterable[ExportedItem], *, reembed: bool = False) -> int:
        """``import_items`` in a worker thread."""
        return await in_thread(self.import_items, list(items), reembed=reembed)

    def start_ttl_sweeper(self, sweep_interval_minutes: float | None = None) -> Any:
        """Start a background thread sweeping every interval; returns a future."""
        interval = (
            float(sweep_interval_minutes) * 60.0
            if sweep_interval_minutes is not None
            else self.sweep_interval_seconds
        )
        sweeper = getattr(self, "_sweeper", None)
        if sweeper is None or not sweeper.running:
            sweeper = ThreadSweeper(self.sweep_ttl, interval, f"{type(self).__name__}-ttl-sweeper")
            self._sweeper = sweeper
        return sweeper.start()

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        sweeper = getattr(self, "_sweeper", None)
        return True if sweeper is None else bool(sweeper.stop(timeout))


class AsyncStore(StoreBase):
    """A store whose engine is async; the sync API runs on its loop from other threads."""

    loop: asyncio.AbstractEventLoop

    async def arun_batch(self, batch: PreparedBatch) -> list[Result]:
        """Execute a prepared batch on the engine (implemented by each engine)."""
        raise NotImplementedError

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        batch = await self.embed_async(self.prepare(ops))
        return await self.arun_batch(batch)

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        return run_on_loop(self.loop, self.abatch(list(ops)), type(self).__name__)

    async def sweep_ttl(self) -> int:
        """Delete expired items now; returns how many were removed."""
        raise NotImplementedError

    async def asweep_ttl(self) -> int:
        return await self.sweep_ttl()

    async def start_ttl_sweeper(
        self, sweep_interval_minutes: float | None = None
    ) -> asyncio.Task[None]:
        interval = (
            float(sweep_interval_minutes) * 60.0
            if sweep_interval_minutes is not None
            else self.sweep_interval_seconds
        )
        sweeper = getattr(self, "_sweeper", None)
        if sweeper is None or not sweeper.running:
            sweeper = TaskSweeper(self.sweep_ttl, interval, f"{type(self).__name__}-ttl-sweeper")
            self._sweeper = sweeper
        return sweeper.start()

    async def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        sweeper = getattr(self, "_sweeper", None)
        return True if sweeper is None else await sweeper.stop(timeout)


def _pages(items: Iterator[ExportedItem], size: int) -> Iterator[list[ExportedItem]]:
    page: list[ExportedItem] = []
    for item in items:
        page.append(item)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page


def assemble(batch: PreparedBatch, answers: Mapping[int, Result]) -> list[Result]:
    """Results in op order: answers by slot, ``None`` for puts."""
    return [answers.get(i) for i in range(batch.size)]
