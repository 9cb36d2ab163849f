"""Progress bars on stderr (tqdm), shown only when asked and stderr is a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Bar:
    """A counter that may or may not be drawn; ``update(n)`` either way."""

    def __init__(self, impl: Any) -> None:
        self._impl = impl
        self.count = 0

    def update(self, n: int = 1) -> None:
        self.count += n
        if self._impl is not None:
            self._impl.update(n)

    def note(self, text: str) -> None:
        if self._impl is not None:
            self._impl.set_postfix_str(text, refresh=False)


@contextmanager
def progress_bar(enabled: bool, desc: str, unit: str, total: int | None = None) -> Iterator[Bar]:
    """A tqdm bar when ``enabled`` and stderr is a TTY, else a silent counter."""
    impl = None
    if enabled and sys.stderr.isatty():
        from tqdm import tqdm

        impl = tqdm(total=total, desc=desc, unit=f" {unit}", file=sys.stderr, leave=False)
    try:
        yield Bar(impl)
    finally:
        if impl is not None:
            impl.close()
