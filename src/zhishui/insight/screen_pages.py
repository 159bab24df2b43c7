"""The big screen (智慧税务大屏) of a bureau, hall or service point: live hall status across the unit
and twelve months of trends, with drill-down to any hall or point under it (`?unit=ID`).

The page is a dark full-screen shell; its script reads two JSON endpoints (the live snapshot and
the trends) and follows the unit's live stream, which says when a hall changed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from zhishui.hall import live as hall_live
from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.insight import live, metrics
from zhishui.org.models import UNIT_KIND_LABELS, UnitKind
from zhishui.web.deps import ClockDep, SessionDep, TemplatesDep

router = APIRouter(tags=["pages"], include_in_schema=False)

InsightViewer = Annotated[StaffPrincipal, Depends(require(Permission.INSIGHT_VIEW))]
UnitQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="机构（办税服务厅、服务点或税务局）")]

REFRESH_SECONDS = 30  # the snapshot is fetched again this often even without events


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/insight/screen", response_class=HTMLResponse)
def screen(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    staff: InsightViewer,
    unit: UnitQuery = None,
) -> Response:
    chosen = metrics.resolve_unit(session, staff, unit)
    scope = metrics.scope_of(session, chosen)
    depth = chosen.path.count("/")
    drill = [
        {"id": u.id, "name": u.name, "kind": UNIT_KIND_LABELS.get(UnitKind(u.kind), "")}
        for u in scope.units
        if u.id != chosen.id
        and u.kind
        in (
            UnitKind.HALL.value,
            UnitKind.SERVICE_POINT.value,
            UnitKind.COUNTY_BUREAU.value,
            UnitKind.CITY_BUREAU.value,
        )
        and u.path.count("/") <= depth + 2
    ]
    # Up one level when the viewer may see the parent.
    parent_id = chosen.parent_id if chosen.parent_id and chosen.id != staff.org_unit_id else None
    return _no_store(
        templates.TemplateResponse(
            request,
            "insight/screen.html",
            {
                "unit": chosen,
                "kind_label": scope.kind_label,
                "drill": drill,
                "parent_id": parent_id,
                "has_halls": bool(scope.hall_ids),
                "refresh_seconds": REFRESH_SECONDS,
            },
        )
    )


@router.get("/insight/screen/snapshot")
def screen_snapshot(
    session: SessionDep, clock: ClockDep, staff: InsightViewer, unit: UnitQuery = None
) -> dict[str, Any]:
    """The live part: people per zone, waiting per queue, stations, today's figures, per hall."""
    chosen = metrics.resolve_unit(session, staff, unit)
    return metrics.live_snapshot(session, chosen, now=clock.now())


@router.get("/insight/screen/trends")
def screen_trends(
    session: SessionDep, clock: ClockDep, staff: InsightViewer, unit: UnitQuery = None
) -> dict[str, Any]:
    """The last twelve months of every metric (the JSON API's shape)."""
    chosen = metrics.resolve_unit(session, staff, unit)
    return metrics.series_json(metrics.trend(session, chosen, now=clock.now()))


@router.get("/insight/screen/events")
def screen_events(
    request: Request, session: SessionDep, staff: InsightViewer, unit: UnitQuery = None
) -> Response:
    chosen = metrics.resolve_unit(session, staff, unit)
    hall_ids = metrics.scope_of(session, chosen).hall_ids
    return hall_live.respond(live.changes(request.app.state.broker, hall_ids))
