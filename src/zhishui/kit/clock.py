"""One injectable clock. Business time is Asia/Shanghai; storage is UTC."""

from __future__ import annotations

import datetime as dt
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, aware, in Asia/Shanghai."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(SHANGHAI)


class FrozenClock:
    """A clock for tests and simulations: it moves only when told."""

    def __init__(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._at = at.astimezone(SHANGHAI)

    def now(self) -> dt.datetime:
        return self._at

    def advance(self, delta: dt.timedelta) -> None:
        self._at = self._at + delta

    def set(self, at: dt.datetime) -> None:
        self._at = at.astimezone(SHANGHAI)


def local(value: dt.datetime) -> dt.datetime:
    """A stored (UTC) time as the bureau reads it."""
    return value.astimezone(SHANGHAI)
