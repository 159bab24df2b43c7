"""What the hall tells people: SMS texts and live-event payloads. Pure functions."""

from __future__ import annotations

import datetime as dt
from typing import Any


def hall_channel(hall_id: int) -> str:
    return f"hall:{hall_id}"


def ticket_channel(token: str) -> str:
    return f"ticket:{token}"


def called_sms(code: str, station: str) -> str:
    return f"【智税】请 {code} 号到 {station} 办理业务（本厅无广播叫号，请留意短信与大屏）。"


def almost_sms(code: str, ahead: int) -> str:
    return f"【智税】您的 {code} 号前面还有 {ahead} 位，请回到等候区留意大屏，以免过号。"


def ticket_sms(code: str, ahead: int, link: str) -> str:
    return f"【智税】您已取号 {code}，前面 {ahead} 位。叫号会发短信提醒，进度请看：{link}"


def guide_sms(matter: str, menu_path: str) -> str:
    where = f"电子税务局“{menu_path}”" if menu_path else "电子税务局"
    return f"【智税】“{matter}”可在{where}办理，足不出户。遇到问题可拨打 12366。"


def call_event(code: str, station: str, queue: str, at: dt.datetime) -> dict[str, Any]:
    return {"type": "called", "code": code, "station": station, "queue": queue, "at": at.isoformat()}


def ticket_event(
    status: str, *, code: str, station: str | None = None, ahead: int | None = None
) -> dict[str, Any]:
    return {"type": "ticket", "status": status, "code": code, "station": station, "ahead": ahead}


def counts_event(waiting_by_queue: dict[str, int]) -> dict[str, Any]:
    return {"type": "waiting", "queues": waiting_by_queue}
