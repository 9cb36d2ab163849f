"""The demo's long-term memories: where they live, what is seeded, how they are searched."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langgraph.store.base import BaseStore

from durastate.demo.embedder import DIMS, HashingEmbeddings

USER_ID = "ada"
"""The demo's user; memories belong to a user, so every thread of hers shares them."""

SEED_MEMORIES: Mapping[str, str] = {
    "ana-email": "Ana's email address is ana@example.com",
    "diet": "I am vegetarian.",
    "travel": "I prefer trains over planes for short trips.",
    "museum": "My favourite museum in Lisbon is the Gulbenkian.",
    "home": "I live in Porto.",
}

SENT_MEMORY_KEY = "sent-trip-plan"

REPORT_QUERY = "Which trip plan did I send to Ana?"
"""The question the report asks the store; the memory written in phase 2 should win."""


def memory_namespace(user_id: str = USER_ID) -> tuple[str, ...]:
    return ("durastate-demo", user_id, "memories")


def store_index() -> dict[str, Any]:
    """The store's ``index=``: the offline embedder over each memory's ``text`` field."""
    return {"dims": DIMS, "embed": HashingEmbeddings(DIMS), "fields": ["text"]}


def seed(store: BaseStore, user_id: str = USER_ID) -> int:
    """Put the seed memories that are missing; returns how many were added."""
    ns = memory_namespace(user_id)
    added = 0
    for key, text in SEED_MEMORIES.items():
        if store.get(ns, key) is None:
            store.put(ns, key, {"text": text})
            added += 1
    return added


def forget_all(store: BaseStore, user_id: str = USER_ID) -> int:
    """Delete every memory of the demo user; returns how many were deleted."""
    ns = memory_namespace(user_id)
    deleted = 0
    while True:
        page = store.search(ns, limit=100)
        if not page:
            return deleted
        for item in page:
            store.delete(item.namespace, item.key)
            deleted += 1
