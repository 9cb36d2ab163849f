"""Contract: StoreContract, the behaviour every durastate BaseStore backend shares."""

from __future__ import annotations

from durastate.conformance.store_basics import StoreBasicsContract


class StoreContract(StoreBasicsContract):
    """Needs fixtures: store_opener (``store_opener(index=..., ttl=...)``)."""
