"""GET /api/v1/center/timeline: one taxpayer's (or one unlinked contact's) history across the hall,
bookings and every channel, for agents of the center that serves the taxpayer's bureau."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from zhishui.center.console_scope import bureau_scope, center_scope
from zhishui.center.repository import IdentityRepository
from zhishui.center.timeline import DEFAULT_LIMIT, PRIVATE_KINDS, timeline_for
from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.errors import InvalidInput, NotFound
from zhishui.kit.validators import MAX_ROW_ID
from zhishui.taxpayers.repository import TaxpayerRepository
from zhishui.web.deps import SessionDep

router = APIRouter(prefix="/api/v1/center", tags=["center"])

Agent = Annotated[StaffPrincipal, Depends(require(Permission.CENTER_AGENT))]
RowId = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]


class TimelineEntryOut(BaseModel):
    at: dt.datetime
    kind: str
    kind_label: str
    title: str
    detail: str
    link: str | None


class TimelineOut(BaseModel):
    taxpayer_id: int | None
    identity_id: int | None
    entries: list[TimelineEntryOut]


@router.get("/timeline", summary="一户式服务记录：到厅、号票、预约、各渠道咨询、来电、评价与工单")
def timeline(
    session: SessionDep,
    staff: Agent,
    taxpayer_id: RowId = None,
    identity_id: RowId = None,
    limit: Annotated[int, Query(ge=1, le=200)] = DEFAULT_LIMIT,
) -> TimelineOut:
    if taxpayer_id is None and identity_id is None:
        raise InvalidInput("taxpayer_id", "请指定纳税人或联系人")
    scope = center_scope(session, staff)
    if identity_id is not None:
        identity = IdentityRepository(session).get(identity_id)
        if identity is None or identity.org_unit_id not in scope.ids:
            raise NotFound("联系人不存在")
    if taxpayer_id is not None:
        taxpayers = TaxpayerRepository(session)
        bureaus = {bureau_scope(session, center_id)[1] for center_id in scope.ids}
        if all(taxpayers.get_in_scope(taxpayer_id, bureau) is None for bureau in bureaus):
            raise NotFound("纳税人不存在或不属于本中心服务的税务局")
    entries = timeline_for(session, taxpayer_id=taxpayer_id, identity_id=identity_id, limit=limit)
    full = staff.can(Permission.TAXPAYER_READ_FULL)
    return TimelineOut(
        taxpayer_id=taxpayer_id,
        identity_id=identity_id,
        entries=[
            TimelineEntryOut(
                at=e.at,
                kind=e.kind,
                kind_label=e.kind_label,
                title=e.title if full or e.kind not in PRIVATE_KINDS else "（按权限不显示）",
                detail=e.detail if full or e.kind not in PRIVATE_KINDS else "",
                link=e.link,
            )
            for e in entries
        ],
    )
