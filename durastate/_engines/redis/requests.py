"""What an operation asks a Redis driver to do; operations are generators of these.

An operation body yields ``Cmd`` (one command), ``Call`` (one Lua script), ``Pipe``
(several of those in one round trip) or ``Scan`` (every key matching a pattern, on every
node of a cluster) and receives the replies, so one body runs on the blocking and on the
asyncio client. ``gather`` runs several bodies in lockstep, one pipeline per step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LuaScript:
    """A script run with ``EVALSHA`` (loaded again when the server answers NOSCRIPT)."""

    name: str
    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "sha", hashlib.sha1(self.source.encode(), usedforsecurity=False).hexdigest()
        )


@dataclass(frozen=True, slots=True)
class Cmd:
    """One command; answers its reply (after redis-py's reply callbacks)."""

    args: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Call:
    """One script call; ``keys[0]`` decides the cluster slot, the script stays in it."""

    script: LuaScript
    keys: tuple[str, ...]
    args: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Pipe:
    """Several commands or script calls sent together; answers their replies in order.

    The items must be safe to send again (a script call met by NOSCRIPT is re-sent alone).
    """

    items: tuple[Cmd | Call, ...]


@dataclass(frozen=True, slots=True)
class Scan:
    """Every key matching ``pattern`` (a SCAN cursor walk, on every primary of a cluster)."""

    pattern: str


Request = Cmd | Call | Pipe | Scan
Body = Generator[Request, Any, T]


def gather(bodies: Sequence[Body[Any]]) -> Body[list[Any]]:
    """Run bodies side by side: each step sends every body's next request in one pipeline.

    The bodies may only yield ``Cmd`` and ``Call``; answers their results in order.
    """
    results: list[Any] = [None] * len(bodies)
    pending: dict[int, Cmd | Call] = {}
    for i, body in enumerate(bodies):
        _advance(body, i, None, pending, results)
    while pending:
        order = list(pending)
        replies = yield Pipe(tuple(pending[i] for i in order))
        pending = {}
        for i, reply in zip(order, replies, strict=True):
            _advance(bodies[i], i, reply, pending, results)
    return results


def _advance(
    body: Body[Any], i: int, reply: Any, pending: dict[int, Cmd | Call], results: list[Any]
) -> None:
    try:
        req = body.send(reply)
    except StopIteration as stop:
        results[i] = stop.value
        return
    if not isinstance(req, (Cmd, Call)):
        raise TypeError(f"gather() bodies may only send commands and scripts, got {req!r}")
    pending[i] = req
