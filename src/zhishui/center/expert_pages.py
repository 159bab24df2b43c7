"""The expert team's page (专家团队) `/center/experts`: the consultations agents sent, oldest first,
live; claim one, answer it. The answer goes back into the request as a note the agent sees at once.

Actions go to the JSON API (center/api.py) from static/center_console.js, like the console's.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from zhishui.center import console_views as views
from zhishui.center.api import Expert
from zhishui.center.console_scope import center_scope
from zhishui.kit.csrf import verify_csrf
from zhishui.web.deps import SessionDep, TemplatesDep

router = APIRouter(prefix="/center/experts", dependencies=[Depends(verify_csrf)], include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def expert_page(request: Request, session: SessionDep, templates: TemplatesDep, staff: Expert) -> Response:
    scope = center_scope(session, staff)
    context = {"queue": views.expert_queue(session, scope.ids), "centers": scope.centers, "me": staff.id}
    return templates.TemplateResponse(request, "center/experts.html", context)


@router.get("/queue", response_class=HTMLResponse)
def expert_queue_part(
    request: Request, session: SessionDep, templates: TemplatesDep, staff: Expert
) -> Response:
    scope = center_scope(session, staff)
    context = {"queue": views.expert_queue(session, scope.ids), "me": staff.id}
    return templates.TemplateResponse(request, "center/_expert_queue.html", context)
