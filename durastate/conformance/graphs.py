"""Contract: GraphScenarioContract (placeholder, being written)."""

from __future__ import annotations

from durastate.conformance._modes import BothModes


class GraphScenarioContract(BothModes):
    """Needs fixtures: checkpointer_opener, store_opener, cache_opener."""
