"""Contract: CheckpointerContract (placeholder, being written)."""

from __future__ import annotations

from durastate.conformance._modes import BothModes


class CheckpointerContract(BothModes):
    """Needs fixtures: checkpointer_opener."""
