"""Server-sent event streams: the display board, the ticket page, the relay underneath them.

Streams are read from a real server (Starlette's TestClient waits for a response to end, and these
never do); every read is bounded by the client's timeout, so a missing event fails in seconds.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests import asyncrun
from tests.e2e.hall.screens.conftest import Hall, Served
from tests.e2e.hall.screens.test_screens import _call
from zhishui.hall import live, tickets
from zhishui.hall.models import Workstation
from zhishui.kit.events import InProcessBroker

TIMEOUT = httpx.Timeout(5.0)


def _events(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    name, data = "message", []
    for line in response.iter_lines():
        if line.startswith(":"):
            continue
        if not line:
            if data:
                yield name, json.loads("\n".join(data))
            name, data = "message", []
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)


def _until(stream: Iterator[tuple[str, dict[str, Any]]], wanted: str) -> dict[str, Any]:
    for name, data in stream:
        if name == wanted:
            return data
    raise AssertionError(f"the stream ended before a {wanted!r} event")


def _eventually(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the server kept the subscription after the client left"
        time.sleep(0.02)


def test_the_display_stream_carries_a_call_as_it_happens(served_hall: Served) -> None:
    hall = served_hall.hall
    url = f"{served_hall.url}/hall/{hall.hall_id}/display/events"
    hall.issue()
    with httpx.stream("GET", url, params={"key": hall.key}, timeout=TIMEOUT) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = _events(response)
        _until(stream, "hello")  # subscribed: whatever is published from now on arrives
        assert hall.app.state.engine.pool.checkedout() == 0, "an open stream holds no database connection"
        _call(hall)
        called = _until(stream, "called")
        assert called["code"] == "A001" and called["station"] == "1号工位" and called["queue"] == "申报缴税"
        counts = _until(stream, "waiting")
        assert counts["queues"]["A"] == 0
    _eventually(lambda: hall.app.state.broker.subscriber_count(f"hall:{hall.hall_id}") == 0)


def test_the_display_stream_refuses_a_wrong_key(served_hall: Served) -> None:
    hall = served_hall.hall
    r = httpx.get(
        f"{served_hall.url}/hall/{hall.hall_id}/display/events", params={"key": "wrong"}, timeout=TIMEOUT
    )
    assert r.status_code == 403 and "大屏密钥无效" in r.text


def test_the_phone_follows_its_place_then_hears_its_call(served_hall: Served) -> None:
    hall = served_hall.hall
    first = hall.issue()
    mine = hall.issue()
    with httpx.stream("GET", f"{served_hall.url}/t/{mine.token}/events", timeout=TIMEOUT) as response:
        assert response.status_code == 200
        stream = _events(response)
        state = _until(stream, "state")
        assert state["code"] == "A002" and state["ahead"] == 1 and state["headline"] == "前面还有 1 位"
        _call(hall)  # A001 is called: one fewer ahead
        moved = _until(stream, "state")
        assert moved["status"] == "waiting" and moved["ahead"] == 0 and moved["headline"] == "下一位就是您"
        _call(hall)
        called = _until(stream, "state")
        assert called["status"] == "called" and called["station"] == "1号工位"
        assert called["headline"] == "请到 1号工位 办理" and called["recalls"] == 0
        assert hall.app.state.engine.pool.checkedout() == 0
        _act(hall, mine.id, "recall")
        assert _until(stream, "state")["recalls"] == 1, "a recall reaches the phone again"
        _act(hall, mine.id, "start")
        assert _until(stream, "state")["headline"] == "正在 1号工位 办理"
        _act(hall, mine.id, "finish")
        done = _until(stream, "state")
        assert done["status"] == "finished" and done["final"] is True
        assert list(stream) == [], "after a final state the stream ends"
    _eventually(lambda: hall.app.state.broker.subscriber_count(f"ticket:{mine.token}") == 0)
    assert first.code == "A001"


def test_an_unknown_ticket_has_no_stream(served_hall: Served) -> None:
    r = httpx.get(f"{served_hall.url}/t/unknown-token/events", timeout=TIMEOUT)
    assert r.status_code == 404 and "号票不存在或已过期" in r.text


def _act(hall: Hall, ticket_id: int, action: str) -> None:
    with hall.session() as s:
        station = s.get(Workstation, hall.stations[0])
        assert station is not None and station.staff_id is not None
        tickets.act(s, ticket_id, action, station, staff_id=station.staff_id, now=hall.clock.now())
        s.commit()


# --- the relay itself -----------------------------------------------------------------------------


def test_a_stream_says_hello_relays_in_order_and_unsubscribes_when_closed() -> None:
    async def scenario() -> list[dict[str, Any]]:
        broker = InProcessBroker()
        stream = live.merged(broker, ["hall:1", "ticket:abc"], max_seconds=5)
        got = [await anext(stream)]
        assert broker.subscriber_count("hall:1") == 1 and broker.subscriber_count("ticket:abc") == 1
        broker.publish("hall:1", {"type": "called", "code": "A001"})
        broker.publish("ticket:abc", {"type": "ticket", "status": "called"})
        broker.publish("hall:2", {"type": "called", "code": "B001"})  # another hall: not ours
        got.append(await anext(stream))
        got.append(await anext(stream))
        await stream.aclose()
        await asyncio.sleep(0.01)
        assert broker.subscriber_count("hall:1") == 0 and broker.subscriber_count("ticket:abc") == 0
        return got

    got = asyncrun.run(scenario())
    assert [m["type"] for m in got] == ["hello", "called", "ticket"]


def test_a_stream_ends_after_its_lifetime_so_the_client_comes_back_through_the_checks() -> None:
    async def scenario() -> list[dict[str, Any]]:
        broker = InProcessBroker()
        return [m async for m in live.merged(broker, ["hall:1"], max_seconds=0.05)]

    assert asyncrun.run(asyncio.wait_for(scenario(), 2)) == [{"type": "hello"}]


def test_a_failed_subscription_ends_the_stream() -> None:
    class Broken:
        def publish(self, channel: str, message: dict[str, Any]) -> None:
            pass

        async def subscribe(self, channel: str) -> Any:
            raise ConnectionError("redis went away")
            yield {}  # pragma: no cover

    async def scenario() -> list[dict[str, Any]]:
        return [m async for m in live.merged(Broken(), ["hall:1"], max_seconds=5)]

    assert asyncrun.run(asyncio.wait_for(scenario(), 2)) == [{"type": "hello"}]


@pytest.mark.parametrize(
    ("status", "ahead", "headline"),
    [
        ("waiting", 3, "前面还有 3 位"),
        ("waiting", 0, "下一位就是您"),
        ("called", 0, "请到 2号工位 办理"),
        ("serving", 0, "正在 2号工位 办理"),
        ("no_show", 0, "已过号"),
        ("finished", 0, "业务已办结"),
    ],
)
def test_the_ticket_page_says_one_plain_sentence_per_state(status: str, ahead: int, headline: str) -> None:
    from zhishui.hall.policy import TicketStatus
    from zhishui.hall.tickets import TicketView

    view = TicketView("A003", TicketStatus(status), "申报缴税", ahead, ahead * 8, "2号工位")
    assert live.ticket_texts(view)[0] == headline
