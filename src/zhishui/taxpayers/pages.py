"""Pages of taxpayers: find one (results as you type), read a profile."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from zhishui.center.timeline import PRIVATE_KINDS, timeline_for
from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.validators import RowIdPath
from zhishui.taxpayers import service
from zhishui.web.deps import SessionDep, TemplatesDep

router = APIRouter(tags=["pages"])

Reader = Annotated[StaffPrincipal, Depends(require(Permission.TAXPAYER_READ))]
PAGE_SIZE = 20


def _is_htmx_fragment(request: Request) -> bool:
    # Results only when HTMX asks for the results box; a full page on a plain visit or a history restore.
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Target") == "results"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


@router.get("/taxpayers", response_class=HTMLResponse, include_in_schema=False)
def taxpayer_list(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    staff: Reader,
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    q = q.strip()
    result = service.search_taxpayers(session, staff, q, page=page, size=PAGE_SIZE)
    context = {"staff": staff, "q": q, "result": result, "full": staff.can(Permission.TAXPAYER_READ_FULL)}
    template = "taxpayers/_results.html" if _is_htmx_fragment(request) else "taxpayers/list.html"
    return templates.TemplateResponse(request, template, context)


@router.get("/taxpayers/{taxpayer_id}", response_class=HTMLResponse, include_in_schema=False)
def taxpayer_profile(
    taxpayer_id: RowIdPath, request: Request, session: SessionDep, templates: TemplatesDep, staff: Reader
) -> Response:
    taxpayer = service.get_taxpayer(session, staff, taxpayer_id)
    # What taxpayers write (request subjects, rating comments) can hold anything: full readers only.
    entries = timeline_for(session, taxpayer_id=taxpayer_id)
    context = {
        "staff": staff,
        "taxpayer": taxpayer,
        "timeline": entries,
        "timeline_full": staff.can(Permission.TAXPAYER_READ_FULL),
        "private_kinds": PRIVATE_KINDS,
        "can_open_requests": staff.can(Permission.CENTER_AGENT),
    }
    return templates.TemplateResponse(request, "taxpayers/detail.html", context)
