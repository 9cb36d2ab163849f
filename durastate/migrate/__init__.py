"""Moving data between backends through their public APIs: threads, store items, archives.

``copy_data(source, destination, options)`` copies every checkpoint (all namespaces, ids,
parents, metadata and pending writes) of the selected threads and the store items under
the selected namespace prefixes, idempotently; ``verify`` compares what was copied.
"""

from durastate.migrate.options import ConflictPolicy, CopyOptions, Selection
from durastate.migrate.report import CopyReport, VerifyReport
from durastate.migrate.run import copy_data, verify
from durastate.migrate.sides import BackendSide

__all__ = [
    "BackendSide",
    "ConflictPolicy",
    "CopyOptions",
    "CopyReport",
    "Selection",
    "VerifyReport",
    "copy_data",
    "verify",
]
