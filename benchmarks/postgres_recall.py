"""Recall@10 of PostgresStore's HNSW search against exact search, on 20,000 64-dim vectors.

Run: ``python -m benchmarks.postgres_recall [--url URL] [--items 20000] [--queries 200]``
(URL defaults to ``DURASTATE_BENCH_POSTGRES_URL``, then ``DURASTATE_TEST_POSTGRES_URL``).
The vectors are clustered (a mixture of Gaussians, like real embeddings) and seeded, so
runs are comparable. Items are loaded through a ``flat`` store (no index), then a store
with the default HNSW configuration builds its index over them. Each query is run through
``store.search`` three ways: the whole store, one namespace prefix holding 3/4 of the
items, and that prefix plus a JSON filter keeping about a third of those; exact answers
are computed with numpy over the same items. Prints recall@10 and median latencies, and
drops its schema at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import psycopg
from langgraph.store.base import PutOp

from durastate.store.postgres import PostgresStore
from durastate.store.vectors import Matrix, scores

SCHEMA = "bench_recall"
DIMS = 64


def clustered(count: int, dims: int, seed: int) -> Matrix:
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((max(1, count // 100), dims)).astype(np.float32)
    picks = rng.integers(0, centers.shape[0], count)
    noise = rng.standard_normal((count, dims)).astype(np.float32) * 0.35
    out: Matrix = (centers[picks] + noise).astype(np.float32)
    return out


def _index(vectors: Matrix, queries: Matrix, kind: str) -> dict[str, Any]:
    def embed(texts: list[str]) -> list[list[float]]:
        out = []
        for text in texts:
            source, number = text.split()
            table = vectors if source == "d" else queries
            out.append(table[int(number)].tolist())
        return out

    return {"dims": DIMS, "embed": embed, "fields": ["t"], "ann_index_config": {"kind": kind}}


def _namespace(i: int) -> tuple[str, ...]:
    return ("docs", f"u{i % 7}") if i % 4 else ("archive",)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url",
        default=os.environ.get("DURASTATE_BENCH_POSTGRES_URL")
        or os.environ.get("DURASTATE_TEST_POSTGRES_URL"),
    )
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not args.url:
        parser.error("give --url or set DURASTATE_BENCH_POSTGRES_URL / DURASTATE_TEST_POSTGRES_URL")
    vectors = clustered(args.items, DIMS, args.seed)
    queries = clustered(args.queries, DIMS, args.seed + 1)
    # Queries near the data: a stored vector plus fresh noise.
    rng = np.random.default_rng(args.seed + 2)
    near = rng.integers(0, args.items, args.queries)
    queries = vectors[near] + rng.standard_normal(queries.shape).astype(np.float32) * 0.3

    with psycopg.connect(args.url, autocommit=True) as admin:
        admin.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
    try:
        flat_index = _index(vectors, queries, "flat")
        with PostgresStore.from_conn_string(args.url, schema=SCHEMA, index=flat_index) as flat:
            _, load_s = _timed(
                lambda: [
                    flat.batch(
                        [
                            PutOp(_namespace(i), f"k{i}", {"t": f"d {i}", "group": i % 3})
                            for i in range(start, min(start + 1000, args.items))
                        ]
                    )
                    for start in range(0, args.items, 1000)
                ]
            )
            hnsw_index = _index(vectors, queries, "hnsw")
            with PostgresStore.from_conn_string(args.url, schema=SCHEMA, index=hnsw_index) as ann:
                _, build_s = _timed(ann.setup)
                with psycopg.connect(args.url, autocommit=True) as admin:
                    admin.execute(f'ANALYZE "{SCHEMA}".durastate_store')
                    admin.execute(f'ANALYZE "{SCHEMA}".durastate_store_vectors')
                print(
                    f"{args.items} vectors of {DIMS} dims: loaded in {load_s:.1f} s, "
                    f"HNSW index (m=16, ef_construction=64) built in {build_s:.1f} s"
                )
                scenarios: list[tuple[str, tuple[str, ...], dict[str, Any] | None, list[int]]] = [
                    ("whole store", (), None, list(range(args.items))),
                    (
                        'namespace ("docs",)',
                        ("docs",),
                        None,
                        [i for i in range(args.items) if i % 4],
                    ),
                    (
                        'namespace ("docs",) + filter group == 1',
                        ("docs",),
                        {"group": 1},
                        [i for i in range(args.items) if i % 4 and i % 3 == 1],
                    ),
                ]
                for name, prefix, flt, allowed in scenarios:
                    recall, ann_times, exact_times = [], [], []
                    for q in range(args.queries):
                        exact = scores(vectors[allowed], queries[q], "cosine")
                        truth = {f"k{allowed[j]}" for j in np.argsort(-exact)[:10]}
                        found, took = _timed(
                            lambda p=prefix, q=q, f=flt: ann.search(  # type: ignore[misc]
                                p, query=f"q {q}", filter=f, limit=10
                            )
                        )
                        ann_times.append(took)
                        recall.append(len(truth & {it.key for it in found}) / 10)
                        _, took = _timed(
                            lambda p=prefix, q=q, f=flt: flat.search(  # type: ignore[misc]
                                p, query=f"q {q}", filter=f, limit=10
                            )
                        )
                        exact_times.append(took)
                    print(
                        f"{name:42} recall@10 {statistics.fmean(recall):.4f}   "
                        f"median HNSW {statistics.median(ann_times) * 1000:6.2f} ms   "
                        f"exact {statistics.median(exact_times) * 1000:6.2f} ms"
                    )
    finally:
        with psycopg.connect(args.url, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')


if __name__ == "__main__":
    main()
