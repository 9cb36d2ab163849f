"""What the CLI's ``status`` asks Redis: memory used by the keys under one prefix."""

from __future__ import annotations

from durastate._engines.redis.keys import Layout
from durastate._engines.redis.requests import Body, Cmd, Pipe, Scan

_BATCH = 500


def memory_body(layout: Layout) -> Body[tuple[int, int]]:
    """(keys, bytes) of every key under the layout's prefix: SCAN, then pipelined
    ``MEMORY USAGE ... SAMPLES 0`` (exact for collections, not an estimate)."""
    keys: list[bytes] = []
    for pattern in layout.patterns():
        found: list[bytes] = yield Scan(pattern)
        keys += [k for k in found if layout.owns(k)]
    total = 0
    for start in range(0, len(keys), _BATCH):
        batch = keys[start : start + _BATCH]
        sizes = yield Pipe(tuple(Cmd(("MEMORY", "USAGE", key, "SAMPLES", 0)) for key in batch))
        total += sum(int(size) for size in sizes if isinstance(size, int))
    return len(keys), total
