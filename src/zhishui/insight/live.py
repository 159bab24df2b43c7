"""The big screen's live stream: the hall events of every hall under the unit, as one stream.

The screen does not rebuild figures from events; an event only says "something changed in hall N",
and the browser fetches the snapshot again (debounced), the same snapshot it takes on `hello` and
every half minute. So a missed event costs at most one refresh period, and the figures on the screen
always come from `metrics.live_snapshot`, never from arithmetic in the browser.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from zhishui.hall import live as hall_live
from zhishui.hall import notices
from zhishui.kit.events import Broker

# The hall's event types that change what the screen shows (calls, queue counts, modes, zones).
RELAYED = frozenset({"called", "waiting", "mode", "zone", "ticket"})


def channels(hall_ids: Sequence[int]) -> list[str]:
    return [notices.hall_channel(hall_id) for hall_id in hall_ids]


async def changes(
    broker: Broker, hall_ids: Sequence[int], *, max_seconds: float | None = None
) -> AsyncIterator[dict[str, Any]]:
    """`hello` once subscribed to every hall, then `changed` naming the hall's channel per event."""
    limit = hall_live.MAX_STREAM_SECONDS if max_seconds is None else max_seconds
    async for message in hall_live.merged(broker, channels(hall_ids), max_seconds=limit):
        kind = message.get("type")
        if kind == "hello":
            yield message
        elif kind in RELAYED:
            yield {"type": "changed", "what": kind}
