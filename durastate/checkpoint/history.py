"""Delta-channel history as engines read it, and its decoding for ``get_delta_channel_history``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from langgraph.checkpoint.base import DeltaChannelHistory
from langgraph.checkpoint.serde.base import SerializerProtocol

from durastate.checkpoint.base import Blob, StoredWrite, loads_named


@dataclass(slots=True)
class ChannelHistory:
    """One channel's writes (oldest first) after its nearest stored value, still encoded."""

    writes: list[StoredWrite] = field(default_factory=list)
    seed: Blob | None = None


def decode_history(
    serde: SerializerProtocol, raw: Mapping[str, ChannelHistory]
) -> dict[str, DeltaChannelHistory]:
    """Decode writes and seeds, naming the channel when a stored value cannot be read."""
    out: dict[str, DeltaChannelHistory] = {}
    for channel, history in raw.items():
        entry: DeltaChannelHistory = {
            "writes": [
                (
                    w.task_id,
                    w.channel,
                    loads_named(serde, (w.type, w.data), f"write to {w.channel!r}"),
                )
                for w in history.writes
            ]
        }
        if history.seed is not None:
            entry["seed"] = loads_named(serde, history.seed, f"channel {channel!r}")
        out[channel] = entry
    return out
