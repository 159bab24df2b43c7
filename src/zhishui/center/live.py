"""Server-sent events of the agent console and the expert queue.

The console's stream merges the inbox channels of every center the agent sees (new requests and
messages, assignments, resolutions, ratings) with the agent's own channel (a ringing call at their
extension pops the caller's record). The expert page follows its centers' expert channels. The
stream machinery (hello once subscribed, heartbeats, a time limit so the client comes back through
these checks) is the hall's.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from zhishui.center import service
from zhishui.center.api import Agent, Expert
from zhishui.center.console_scope import center_scope
from zhishui.hall import live as streams
from zhishui.web.deps import SessionDep

router = APIRouter(prefix="/center", include_in_schema=False)


def expert_channel(center_id: int) -> str:
    return f"center-experts:{center_id}"


def console_channels(center_ids: list[int], staff_id: int) -> list[str]:
    return [*(service.inbox_channel(c) for c in center_ids), service.agent_channel(staff_id)]


@router.get("/events")
def console_events(request: Request, session: SessionDep, staff: Agent) -> Response:
    channels = console_channels(center_scope(session, staff).ids, staff.id)
    return streams.respond(streams.merged(request.app.state.broker, channels))


@router.get("/experts/events")
def expert_events(request: Request, session: SessionDep, staff: Expert) -> Response:
    scope = center_scope(session, staff)
    # The inbox channels too: an answer given by another expert changes the queue as well.
    channels = [*(expert_channel(c) for c in scope.ids), *(service.inbox_channel(c) for c in scope.ids)]
    return streams.respond(streams.merged(request.app.state.broker, channels))
