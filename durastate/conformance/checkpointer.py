"""Contract: CheckpointerContract, the behaviour every durastate checkpointer shares."""

from __future__ import annotations

from durastate.conformance.checkpointer_basics import CheckpointerBasics
from durastate.conformance.checkpointer_listing import CheckpointerListing
from durastate.conformance.checkpointer_retention import CheckpointerRetention
from durastate.conformance.checkpointer_ttl import CheckpointerTTL
from durastate.conformance.checkpointer_writes import CheckpointerWrites


class CheckpointerContract(
    CheckpointerBasics,
    CheckpointerWrites,
    CheckpointerListing,
    CheckpointerRetention,
    CheckpointerTTL,
):
    """Needs fixtures: checkpointer_opener.

    Through LangGraph's ``BaseCheckpointSaver`` API (``put``, ``put_writes``,
    ``get_tuple``, ``list``, ``delete_thread``) and durastate's retention extensions
    (``delete_for_runs``, ``copy_thread``, ``prune``, thread TTL with ``sweep_ttl`` and
    a background sweeper), in sync and async mode.
    """
