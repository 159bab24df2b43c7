"""The /org page: the caller's part of the bureau tree, its halls and service points."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.org import service
from zhishui.org.models import POINT_KIND_LABELS, UNIT_KIND_LABELS
from zhishui.web.deps import ClockDep, SessionDep, TemplatesDep

router = APIRouter(tags=["pages"])


@router.get("/org", response_class=HTMLResponse, include_in_schema=False)
def org_page(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: Annotated[StaffPrincipal, Depends(require(Permission.ORG_READ))],
) -> Response:
    now = clock.now()
    tree = service.org_tree(session, staff, now=now)
    return templates.TemplateResponse(
        request,
        "org/tree.html",
        {
            "staff": staff,
            "tree": tree,
            "now": now,
            "unit_kind_labels": UNIT_KIND_LABELS,
            "point_kind_labels": POINT_KIND_LABELS,
        },
    )
