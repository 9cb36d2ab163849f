"""Contract: CacheContract (placeholder, being written)."""

from __future__ import annotations

from durastate.conformance._modes import BothModes


class CacheContract(BothModes):
    """Needs fixtures: cache_opener."""
