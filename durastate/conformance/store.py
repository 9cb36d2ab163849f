"""Contract: StoreContract, the behaviour every durastate BaseStore backend shares."""

from __future__ import annotations

from durastate.conformance.store_basics import StoreBasicsContract
from durastate.conformance.store_namespaces import StoreNamespacesContract
from durastate.conformance.store_search import StoreSearchContract
from durastate.conformance.store_transfer import StoreTransferContract
from durastate.conformance.store_ttl import StoreTTLContract
from durastate.conformance.store_vectors import StoreVectorsContract


class StoreContract(
    StoreBasicsContract,
    StoreSearchContract,
    StoreNamespacesContract,
    StoreVectorsContract,
    StoreTTLContract,
    StoreTransferContract,
):
    """Needs fixtures: store_opener (``store_opener(index=..., ttl=...)``)."""
