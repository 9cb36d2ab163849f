"""UnrevivedValue: the marked stand-in for stored objects that were not rebuilt."""

from __future__ import annotations

from typing import Any

_REPR_LIMIT = 200


class UnrevivedValue:
    """A stored object that durastate deliberately did not rebuild.

    Loading returns one of these, instead of importing a module or calling a
    function, whenever stored bytes name something that is not a known data
    type (or, in strict mode, not on the allowlist), or when rebuilding a
    data type failed. It keeps everything that was stored:

    - ``module``, ``name``: the type (or callable) the bytes named;
    - ``kind``: how it was stored: ``"constructor"``, ``"method"``,
      ``"pydantic"``, ``"pydantic_v1"``, ``"extension"`` (an unknown msgpack
      extension; ``payload`` then holds its raw bytes) or ``"langchain_json"``
      (a LangChain ``lc`` envelope read from the ``"json"`` format);
    - ``payload``: the stored arguments, already decoded;
    - ``reason``: why it was not rebuilt, with the fix where there is one.

    Serializing an ``UnrevivedValue`` again writes back the original encoding,
    so a state that passes through a process which cannot revive a type loses
    nothing.
    """

    __slots__ = ("code", "kind", "method", "module", "name", "payload", "reason")

    def __init__(
        self,
        module: str,
        name: str,
        kind: str,
        payload: Any,
        reason: str = "",
        *,
        code: int | None = None,
        method: str | None = None,
    ) -> None:
        self.module = module
        self.name = name
        self.kind = kind
        self.payload = payload
        self.reason = reason
        self.code = code
        self.method = method

    @property
    def qualified_name(self) -> str:
        """``module.name`` as stored (``name`` alone when no module was stored)."""
        return f"{self.module}.{self.name}" if self.module else self.name

    def __repr__(self) -> str:
        payload = repr(self.payload)
        if len(payload) > _REPR_LIMIT:
            payload = payload[: _REPR_LIMIT - 3] + "..."
        return (
            f"UnrevivedValue({self.qualified_name!r}, kind={self.kind!r}, "
            f"reason={self.reason!r}, payload={payload})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UnrevivedValue):
            return NotImplemented
        return (
            self.module == other.module
            and self.name == other.name
            and self.kind == other.kind
            and self.code == other.code
            and self.method == other.method
            and self.payload == other.payload
        )

    def __hash__(self) -> int:
        return hash((self.module, self.name, self.kind, self.code))
