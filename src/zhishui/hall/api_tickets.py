"""JSON API of workstations and tickets: /api/v1/hall/...

Staff act at the station they are signed in to; a station or ticket of a hall outside the caller's
subtree answers 404 like a missing one. The ticket lookup by token is public: the token printed on
the ticket (its QR code) is the credential, for that ticket's service day only.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from zhishui.hall import live, stations, tickets
from zhishui.hall.context import resolve_hall
from zhishui.hall.models import Ticket, Workstation
from zhishui.hall.policy import Mode, TicketStatus
from zhishui.hall.repository import QueueRepository, TicketRepository, WorkstationRepository
from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.errors import Conflict, NotFound
from zhishui.kit.ratelimit import per_address
from zhishui.kit.validators import RowId, RowIdPath
from zhishui.web.deps import ClockDep, SessionDep

router = APIRouter(prefix="/api/v1/hall", tags=["hall"], dependencies=[Depends(verify_csrf)])

Worker = Annotated[StaffPrincipal, Depends(require(Permission.HALL_STATION))]
MANUAL_SWITCH = "人工切换"
STATION_NOT_FOUND = "工位不存在"
TICKET_GONE = "号票不存在或已过期"


class StationOut(BaseModel):
    id: int
    hall_id: int
    name: str
    mode: Mode
    mode_since: dt.datetime
    signed_in: bool = Field(description="是否有人员登录")
    mine: bool = Field(description="是否由当前人员登录")

    @classmethod
    def of(cls, station: Workstation, staff_id: int) -> StationOut:
        return cls(
            id=station.id,
            hall_id=station.hall_id,
            name=station.name,
            mode=Mode(station.mode),
            mode_since=station.mode_since,
            signed_in=station.staff_id is not None,
            mine=station.staff_id == staff_id,
        )


class ModeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Mode = Field(description="front：前台叫号；back：后台办理")


class TicketOut(BaseModel):
    id: int
    code: str
    status: TicketStatus
    queue_id: int
    workstation_id: int | None
    queued_at: dt.datetime
    called_at: dt.datetime | None
    serving_at: dt.datetime | None
    finished_at: dt.datetime | None
    recalls: int

    @classmethod
    def of(cls, t: Ticket) -> TicketOut:
        return cls(
            id=t.id,
            code=t.code,
            status=TicketStatus(t.status),
            queue_id=t.queue_id,
            workstation_id=t.workstation_id,
            queued_at=t.queued_at,
            called_at=t.called_at,
            serving_at=t.serving_at,
            finished_at=t.finished_at,
            recalls=t.recalls,
        )


class CallNextOut(BaseModel):
    ticket: TicketOut | None = Field(description="叫到的号；无人等候时为空")
    message: str


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target_queue_id: RowId | None = Field(default=None, description="转窗时要转去的队列")


class QueueCountOut(BaseModel):
    id: int
    prefix: str
    name: str
    waiting: int


class TicketViewOut(BaseModel):
    code: str
    status: TicketStatus
    status_label: str
    queue: str
    ahead: int = Field(description="前面还有几位")
    wait_minutes: int = Field(description="预计等候分钟数")
    station: str | None = Field(description="叫号后前往的工位")
    recalls: int = Field(description="已重呼次数")
    final: bool = Field(description="是否已结束（办结、过号或取消），之后不再变化")
    headline: str
    detail: str


def _station(session: Session, staff: StaffPrincipal, station_id: int) -> Workstation:
    found = WorkstationRepository(session).get(station_id)
    if found is None:
        raise NotFound(STATION_NOT_FOUND)
    try:
        hall = resolve_hall(session, staff, found.hall_id)
    except NotFound:
        raise NotFound(STATION_NOT_FOUND) from None
    return stations.station_in_hall(session, hall.id, station_id)


def _my_station(session: Session, staff: StaffPrincipal) -> Workstation:
    station = WorkstationRepository(session).of_staff(staff.id)
    if station is None:
        raise Conflict("您尚未登录工位，请先登录工位")
    resolve_hall(session, staff, station.hall_id)
    return station


@router.post("/stations/{station_id}/sign-in", summary="登录工位")
def sign_in(station_id: RowIdPath, session: SessionDep, clock: ClockDep, staff: Worker) -> StationOut:
    station = stations.sign_in(session, _station(session, staff, station_id), staff.id, now=clock.now())
    return StationOut.of(station, staff.id)


@router.post("/stations/{station_id}/sign-out", summary="退出工位")
def sign_out(station_id: RowIdPath, session: SessionDep, staff: Worker) -> StationOut:
    station = _station(session, staff, station_id)
    stations.sign_out(session, station, staff.id)
    return StationOut.of(station, staff.id)


@router.post("/stations/{station_id}/mode", summary="切换工位模式（前台叫号 / 后台办理）")
def switch_mode(
    station_id: RowIdPath, body: ModeIn, session: SessionDep, clock: ClockDep, staff: Worker
) -> StationOut:
    station = _station(session, staff, station_id)
    if station.staff_id != staff.id:
        raise Conflict("您尚未登录该工位")
    stations.switch_mode(
        session, station, body.mode, now=clock.now(), reason=MANUAL_SWITCH, staff_id=staff.id
    )
    return StationOut.of(station, staff.id)


@router.post("/stations/{station_id}/call-next", summary="叫下一位（无声叫号）")
def call_next(station_id: RowIdPath, session: SessionDep, clock: ClockDep, staff: Worker) -> CallNextOut:
    station = _station(session, staff, station_id)
    ticket = tickets.call_next(session, station, staff_id=staff.id, now=clock.now())
    if ticket is None:
        return CallNextOut(ticket=None, message="当前没有等候的号")
    return CallNextOut(ticket=TicketOut.of(ticket), message=f"已叫 {ticket.code} 号到{station.name}")


@router.post("/tickets/{ticket_id}/{action}", summary="号票操作：重呼、开始、办结、过号、转窗、暂挂、恢复")
def ticket_action(
    ticket_id: RowIdPath,
    action: Annotated[
        Literal["recall", "start", "finish", "no_show", "transfer", "park", "resume"],
        Path(
            description="recall 重呼 · start 开始办理 · finish 办结 · no_show 过号 · transfer 转窗 · park 暂挂 · resume 恢复"
        ),
    ],
    session: SessionDep,
    clock: ClockDep,
    staff: Worker,
    body: Annotated[ActionIn | None, Body()] = None,
) -> TicketOut:
    station = _my_station(session, staff)
    ticket = tickets.act(
        session,
        ticket_id,
        action,
        station,
        staff_id=staff.id,
        now=clock.now(),
        target_queue_id=body.target_queue_id if body else None,
    )
    return TicketOut.of(ticket)


@router.get("/halls/{hall_id}/queues", summary="各队列等候人数")
def queue_counts(
    hall_id: RowIdPath, session: SessionDep, clock: ClockDep, staff: Worker
) -> list[QueueCountOut]:
    hall = resolve_hall(session, staff, hall_id)
    counts = TicketRepository(session).counts_by_queue(hall.id, tickets.service_date(clock.now()))
    return [
        QueueCountOut(id=q.id, prefix=q.prefix, name=q.name, waiting=counts.get(q.id, 0))
        for q in QueueRepository(session).of_hall(hall.id)
    ]


@router.get(
    "/tickets/by-token/{token}",
    summary="按号票链接查询进度（公开）",
    dependencies=[Depends(per_address("hall-ticket-api", limit=600, window_seconds=60))],
)
def ticket_by_token(
    token: Annotated[str, Path(max_length=64)], session: SessionDep, clock: ClockDep
) -> TicketViewOut:
    state = live.load_ticket_state(session, token, clock.now())
    if state is None:
        raise NotFound(TICKET_GONE)
    return TicketViewOut.model_validate(state.message())
