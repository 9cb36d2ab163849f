"""Size limits on names (store keys and namespaces, thread ids, cache keys) every engine shares."""

from __future__ import annotations

from durastate.errors import InvalidInputError

MAX_NAME_BYTES = 1024
"""The most UTF-8 bytes in one name. Postgres keeps names in B-tree primary keys, whose
entries must fit in a third of a page (about 2.7 kB for a whole key); a longer name would
fail there alone, so every engine refuses it alike."""
ALWAYS_SHORT = MAX_NAME_BYTES // 4
"""Names of at most this many characters fit the byte limit whatever they hold (a code
point is at most 4 UTF-8 bytes), so hot paths need not encode them to know."""


def check_name_size(
    text: str, what: str, error: type[InvalidInputError] = InvalidInputError
) -> None:
    """Raise ``error`` naming ``what`` when ``text`` is longer than ``MAX_NAME_BYTES``."""
    if len(text) <= ALWAYS_SHORT:
        return
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_NAME_BYTES:
        shown = text[:40] + "..."
        raise error(f"{what} {shown!r} is {size} bytes long (UTF-8); at most {MAX_NAME_BYTES}")
