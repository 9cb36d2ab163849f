"""Contract: GraphScenarioContract, real LangGraph graphs on a backend's saver, store, cache."""

from __future__ import annotations

from durastate.conformance.graphs_history import HistoryScenarios, MessageScenarios
from durastate.conformance.graphs_interrupts import InterruptScenarios, SubgraphScenarios
from durastate.conformance.graphs_memory import CacheScenarios, StoreScenarios


class GraphScenarioContract(
    InterruptScenarios,
    SubgraphScenarios,
    HistoryScenarios,
    MessageScenarios,
    CacheScenarios,
    StoreScenarios,
):
    """Needs fixtures: checkpointer_opener, store_opener, cache_opener.

    Each scenario runs a real graph through ``invoke`` / ``get_state`` / ... from a worker
    thread (sync mode) or ``ainvoke`` / ``aget_state`` / ... (async mode), and most close
    the backends and open them again mid-scenario, as a restarted application would.
    """
