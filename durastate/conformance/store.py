"""Contract: StoreContract (placeholder, being written)."""

from __future__ import annotations

from durastate.conformance._modes import BothModes


class StoreContract(BothModes):
    """Needs fixtures: store_opener."""
