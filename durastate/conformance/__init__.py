"""The behaviour contract every durastate backend passes, importable by third parties.

Subclass a contract in a test module and give it *openers*: fixtures answering a callable
that opens your backend on the test's own fresh storage and returns a context manager
(sync or async). Calling the opener again must open the *same* storage again, so tests
can close a backend and reopen it::

    import pytest
    from durastate.conformance import CheckpointerContract

    class TestMySaver(CheckpointerContract):
        @pytest.fixture
        def checkpointer_opener(self, tmp_path):
            return lambda **kw: MySaver.from_conn_string(str(tmp_path / "db"), **kw)

Every test runs twice, through the sync API (called from a worker thread) and through the
async API. Openers take keyword arguments: ``checkpointer_opener(ttl=..., serde=...)``,
``store_opener(index=..., ttl=...)``, ``cache_opener(serde=...)``.

Contracts and the fixtures they need:

- ``CheckpointerContract``: ``checkpointer_opener``
- ``StoreContract``: ``store_opener``
- ``CacheContract``: ``cache_opener``
- ``BadInputContract`` and ``GraphScenarioContract``: all three

``assert_official_full(opener)`` runs LangGraph's own checkpointer conformance suite.
"""

from __future__ import annotations

from durastate.conformance.bad_input import BadInputContract
from durastate.conformance.cache import CacheContract
from durastate.conformance.checkpointer import CheckpointerContract
from durastate.conformance.graphs import GraphScenarioContract
from durastate.conformance.harness import Api, Opener, opened
from durastate.conformance.official import SyncApiSaver, assert_official_full
from durastate.conformance.store import StoreContract

__all__ = [
    "Api",
    "BadInputContract",
    "CacheContract",
    "CheckpointerContract",
    "GraphScenarioContract",
    "Opener",
    "StoreContract",
    "SyncApiSaver",
    "assert_official_full",
    "opened",
]
