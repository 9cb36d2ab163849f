"""Contract: BadInputContract, bad arguments get a clear error and change nothing stored."""

from __future__ import annotations

from durastate.conformance.bad_input_saver import CacheBadInput, CheckpointerBadInput
from durastate.conformance.bad_input_store import StoreBadInput


class BadInputContract(StoreBadInput, CheckpointerBadInput, CacheBadInput):
    """Needs fixtures: checkpointer_opener, store_opener, cache_opener.

    Every rejected call raises ``durastate.errors.InvalidInputError`` (a ``ValueError``;
    for store namespaces also LangGraph's ``InvalidNamespaceError``) or, for values no
    serializer can store, ``durastate.errors.SerializationError``; the message names the
    namespace, key, channel or field at fault, and reading back afterwards shows the
    stored data exactly as it was.
    """
