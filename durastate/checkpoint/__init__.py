"""Checkpointers on every engine; engine classes load their driver only when first used."""

from __future__ import annotations

import importlib
from typing import Any

from durastate.checkpoint.base import CheckpointerBase, CheckpointTTLConfig
from durastate.checkpoint.memory import InMemorySaver, MemorySaver

_LAZY = {
    "SqliteSaver": "durastate.checkpoint.sqlite",
    "AsyncSqliteSaver": "durastate.checkpoint.sqlite",
    "PostgresSaver": "durastate.checkpoint.postgres",
    "AsyncPostgresSaver": "durastate.checkpoint.postgres",
    "RedisSaver": "durastate.checkpoint.redis",
    "AsyncRedisSaver": "durastate.checkpoint.redis",
}

__all__ = ["CheckpointTTLConfig", "CheckpointerBase", "InMemorySaver", "MemorySaver", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
