"""Server-sent events for the hall's live screens.

    return live.respond(live.merged(broker, [notices.hall_channel(hall_id)]))

A stream subscribes to broker channels (hall.notices), says `hello` once it is subscribed (clients
refresh their snapshot then, which also covers whatever they missed while disconnected), relays every
message as an event named by its `type`, pings to keep proxies from closing an idle line, and ends
after `MAX_STREAM_SECONDS` so that a client comes back through the route's checks (a staff session
that expired, a ticket of yesterday) instead of streaming forever on an old decision.

A stream never holds a database session. Routes load what they need with the request's session,
which closes before the response starts; anything recomputed while streaming (a phone's place in the
line) opens a short session in a worker thread and closes it at once. The places of all the waiting
tickets of a hall are computed once per change and shared by every phone watching that hall.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
from sqlalchemy.orm import Session, sessionmaker
from sse_starlette import EventSourceResponse, ServerSentEvent

from zhishui.hall import notices
from zhishui.hall.models import Ticket
from zhishui.hall.policy import (
    PRIORITY_GROUPS,
    TICKET_STATUS_LABELS,
    TicketStatus,
    call_order,
    estimated_wait_minutes,
)
from zhishui.hall.repository import (
    HallScreensRepository,
    HallSettingsRepository,
    TicketRepository,
    WorkstationRepository,
)
from zhishui.hall.tickets import TicketView, service_date, view
from zhishui.kit.clock import Clock
from zhishui.kit.events import Broker

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15
RETRY_MILLISECONDS = 3000  # how long a browser waits before reconnecting a dropped stream
MAX_STREAM_SECONDS = 3600
SEND_TIMEOUT_SECONDS = 30  # a client that takes no data for this long is dropped
QUEUE_SIZE = 100

HELLO: dict[str, Any] = {"type": "hello"}
FINAL_STATES = frozenset({TicketStatus.FINISHED, TicketStatus.NO_SHOW, TicketStatus.CANCELLED})

# Cancelled subscription tasks, kept referenced until they have cleaned up after themselves.
_closing: set[asyncio.Task[None]] = set()


def _put_latest(queue: asyncio.Queue[dict[str, Any] | None], message: dict[str, Any] | None) -> None:
    # A slow reader loses its oldest update rather than growing without bound; the snapshot it takes
    # on the next `hello` (or its periodic refresh) puts it right.
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(message)


async def merged(
    broker: Broker, channels: Sequence[str], *, max_seconds: float | None = MAX_STREAM_SECONDS
) -> AsyncIterator[dict[str, Any]]:
    """`hello` once subscribed to every channel, then their messages as they come, in arrival order.

    Ends (so the client reconnects) after `max_seconds` or when a channel's subscription fails (Redis
    went away); a client disconnecting cancels it, which unsubscribes.
    """
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_SIZE)

    async def pump(channel: str) -> None:
        try:
            async for message in broker.subscribe(channel):
                _put_latest(queue, message)
        except Exception:
            log.warning(
                "live channel %s failed; ending the stream so the client reconnects", channel, exc_info=True
            )
        _put_latest(queue, None)

    tasks = [asyncio.create_task(pump(channel)) for channel in channels]
    loop = asyncio.get_running_loop()
    deadline = None if max_seconds is None else loop.time() + max_seconds
    try:
        # One turn of the loop lets every pump reach its subscription (the in-process broker registers
        # on the first read), so nothing published after `hello` is missed.
        await asyncio.sleep(0)
        yield dict(HELLO)
        while True:
            timeout = None if deadline is None else max(0.0, deadline - loop.time())
            try:
                message = await asyncio.wait_for(queue.get(), timeout)
            except TimeoutError:
                return
            if message is None:
                return
            yield message
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
                _closing.add(task)
                task.add_done_callback(_closing.discard)


def encode(message: dict[str, Any]) -> ServerSentEvent:
    """One message as an SSE event named by its type, the JSON as its data."""
    return ServerSentEvent(
        data=json.dumps(message, ensure_ascii=False, default=str), event=str(message.get("type", "message"))
    )


async def _events(messages: AsyncIterator[dict[str, Any]]) -> AsyncIterator[ServerSentEvent]:
    yield ServerSentEvent(comment="zhishui live", retry=RETRY_MILLISECONDS)
    async for message in messages:
        yield encode(message)


def respond(messages: AsyncIterator[dict[str, Any]]) -> EventSourceResponse:
    """The HTTP response streaming `messages`, with heartbeats and a send timeout."""
    return EventSourceResponse(
        _events(messages),
        ping=HEARTBEAT_SECONDS,
        send_timeout=SEND_TIMEOUT_SECONDS,
        headers={"Cache-Control": "no-store"},
    )


# --- the taxpayer's ticket page -------------------------------------------------------------------


@dataclass(frozen=True)
class TicketState:
    """What a phone shows for one ticket, and what the stream needs to keep it current."""

    ticket_id: int
    hall_id: int
    prefix: str
    view: TicketView
    recalls: int = 0  # a recall changes nothing else, and the phone must still be told again

    @property
    def waiting(self) -> bool:
        return self.view.status == TicketStatus.WAITING

    @property
    def final(self) -> bool:
        """Nothing happens to the ticket any more: its page stops following."""
        return self.view.status in FINAL_STATES

    def with_place(self, ahead: int, wait_minutes: int) -> TicketState:
        v = self.view
        return TicketState(
            self.ticket_id,
            self.hall_id,
            self.prefix,
            TicketView(v.code, v.status, v.queue, ahead, wait_minutes, v.station),
            self.recalls,
        )

    def message(self) -> dict[str, Any]:
        v = self.view
        headline, detail = ticket_texts(v)
        return {
            "type": "state",
            "code": v.code,
            "status": v.status.value,
            "status_label": TICKET_STATUS_LABELS[v.status],
            "queue": v.queue,
            "ahead": v.ahead,
            "wait_minutes": v.wait_minutes,
            "station": v.station,
            "recalls": self.recalls,
            "final": self.final,
            "headline": headline,
            "detail": detail,
        }


def ticket_texts(v: TicketView) -> tuple[str, str]:
    """The big line and the small line of the ticket page, for every state of the ticket."""
    station = v.station or "工位"
    if v.status == TicketStatus.WAITING:
        if v.ahead == 0:
            return "下一位就是您", "请留意大屏和短信，准备前往工位"
        return f"前面还有 {v.ahead} 位", f"预计等候约 {v.wait_minutes} 分钟，叫号时会短信通知您"
    if v.status == TicketStatus.CALLED:
        return f"请到 {station} 办理", "工作人员正在等您，请尽快前往"
    if v.status == TicketStatus.SERVING:
        return f"正在 {station} 办理", "请配合工作人员办理业务"
    if v.status == TicketStatus.PARKED:
        return "业务暂挂中", "请在等候区稍候，留意工作人员通知"
    if v.status == TicketStatus.FINISHED:
        return "业务已办结", "感谢您的耐心等候"
    if v.status == TicketStatus.NO_SHOW:
        return "已过号", "如仍需办理，请到导税台重新取号"
    return "号票已取消", "如仍需办理，请到导税台重新取号"


def load_ticket_state(session: Session, token: str, now: dt.datetime) -> TicketState | None:
    """The ticket behind `token` as its page shows it; None when there is none, or it is not today's."""
    ticket = TicketRepository(session).by_token(token)
    if ticket is None or not is_current(ticket, now):
        return None
    return TicketState(ticket.id, ticket.hall_id, ticket.prefix, view(session, ticket, now), ticket.recalls)


def is_current(ticket: Ticket, now: dt.datetime) -> bool:
    """A ticket counts for its own service day only; yesterday's link leads nowhere."""
    return ticket.service_date == service_date(now)


@dataclass(frozen=True)
class HallPlaces:
    """Every waiting ticket's place in its line, for one hall at one moment."""

    taken_at: float  # the event loop's clock when the computation started
    ahead: dict[int, int]  # ticket id → tickets of its queue called before it
    front_stations: int
    minutes_per_ticket: int


def compute_places(session: Session, hall_id: int, now: dt.datetime, taken_at: float) -> HallPlaces:
    """Places as `tickets.position` counts them (the ordering rule without the fairness cap), for all
    queues of the hall in three statements."""
    settings = HallSettingsRepository(session).get(hall_id)
    groups = frozenset((settings.priority_groups if settings else None) or PRIORITY_GROUPS)
    by_queue: dict[int, list[Any]] = {}
    for queue_id, candidate in HallScreensRepository(session).waiting_candidates(hall_id, service_date(now)):
        by_queue.setdefault(queue_id, []).append(candidate)
    ahead: dict[int, int] = {}
    for candidates in by_queue.values():
        order = call_order(candidates, now=now, priority_groups=groups, recent_jumps=[], cap=0)
        ahead.update((c.id, n) for n, c in enumerate(order))
    return HallPlaces(
        taken_at=taken_at,
        ahead=ahead,
        front_stations=WorkstationRepository(session).front_count(hall_id),
        minutes_per_ticket=settings.minutes_per_ticket if settings else 8,
    )


@dataclass
class PlacesCache:
    """One computation of a hall's places per change, shared by all the phones of that hall.

    A phone that heard of a change at loop time t asks for places taken at or after t; whoever asks
    first computes them (in a worker thread, with its own short session) while the others wait on
    the hall's lock and then reuse the result.
    """

    session_factory: sessionmaker[Session]
    clock: Clock
    _places: dict[int, HallPlaces] = field(default_factory=dict)
    _locks: dict[int, asyncio.Lock] = field(default_factory=dict)

    async def get(self, hall_id: int, not_before: float) -> HallPlaces:
        lock = self._locks.setdefault(hall_id, asyncio.Lock())
        async with lock:
            places = self._places.get(hall_id)
            if places is None or places.taken_at < not_before:
                started = asyncio.get_running_loop().time()
                places = await anyio.to_thread.run_sync(self._compute, hall_id, started)
                self._places[hall_id] = places
            return places

    def _compute(self, hall_id: int, started: float) -> HallPlaces:
        with self.session_factory() as session:
            return compute_places(session, hall_id, self.clock.now(), started)


async def ticket_updates(
    broker: Broker,
    token: str,
    hall_id: int,
    *,
    load: Callable[[], TicketState | None],
    places: PlacesCache,
    max_seconds: float | None = MAX_STREAM_SECONDS,
) -> AsyncIterator[dict[str, Any]]:
    """The ticket page's stream: `state` on connect and whenever the ticket or its place changes
    (a recall too); it ends after a final state (finished, no-show, cancelled), and with `gone` once
    the ticket no longer exists for today.

    The ticket's own channel says when its status changes (reloaded in full: rare). The hall's
    `waiting` counts say when a line moved; only a change in the count of this ticket's own queue
    costs anything, and then only the shared places of the hall.
    """
    state: TicketState | None = None
    sent: dict[str, Any] | None = None
    last_count: int | None = None
    loop = asyncio.get_running_loop()
    channels = [notices.ticket_channel(token), notices.hall_channel(hall_id)]
    async for message in merged(broker, channels, max_seconds=max_seconds):
        heard = loop.time()
        kind = message.get("type")
        if kind in ("hello", "ticket"):
            state = await anyio.to_thread.run_sync(load)
            last_count = None  # a transfer may have moved it to another queue
        elif kind == "waiting" and state is not None and state.waiting:
            count = message.get("queues", {}).get(state.prefix)
            if count == last_count:
                continue
            last_count = count
            hall = await places.get(hall_id, heard)
            ahead = hall.ahead.get(state.ticket_id)
            if ahead is None:  # it left the line without an event of its own: read it again
                state = await anyio.to_thread.run_sync(load)
                last_count = None
            else:
                wait = estimated_wait_minutes(ahead, hall.front_stations, hall.minutes_per_ticket)
                if (ahead, wait) == (state.view.ahead, state.view.wait_minutes):
                    continue
                state = state.with_place(ahead, wait)
        else:
            continue
        if state is None:
            yield {"type": "gone", "message": "号票不存在或已过期"}
            return
        out = state.message()
        if out != sent:  # a call arrives twice (the line moved, the ticket changed): say it once
            sent = out
            yield out
        if state.final:
            return
