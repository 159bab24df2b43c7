"""JSON API of early warnings under /api/v1/insight/warnings: the live list and a warning with its
history (`insight.view`); acknowledge, resolve and the rules (`warning.handle`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field

from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.insight.warnings import service
from zhishui.insight.warnings.models import WarningRule
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.validators import MAX_ROW_ID, RowIdPath
from zhishui.web.deps import ClockDep, SessionDep

router = APIRouter(prefix="/api/v1/insight/warnings", tags=["warnings"], dependencies=[Depends(verify_csrf)])
Viewer = Annotated[StaffPrincipal, Depends(require(Permission.INSIGHT_VIEW))]
Handler = Annotated[StaffPrincipal, Depends(require(Permission.WARNING_HANDLE))]


class WarningOut(BaseModel):
    id: int
    rule_id: int
    rule_name: str
    subject: str
    subject_label: str
    severity: str
    state: str
    message: str
    value: float | None
    last_value: float | None
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    resolution_note: str


class HistoryOut(BaseModel):
    action: str
    at: dt.datetime
    by: str | None
    note: str


class WarningDetailOut(WarningOut):
    history: list[HistoryOut]


def _out(view: service.WarningView) -> WarningOut:
    w = view.row
    return WarningOut(
        id=w.id, rule_id=w.rule_id, rule_name=view.rule_name, subject=w.subject, subject_label=w.subject_label,
        severity=w.severity, state=w.state, message=w.message, value=w.value, last_value=w.last_value,
        opened_at=w.opened_at, closed_at=w.closed_at, resolution_note=w.resolution_note,
    )  # fmt: skip


@router.get("", response_model=list[WarningOut])
def live_warnings(session: SessionDep, staff: Viewer) -> list[WarningOut]:
    """Live warnings (open or acknowledged) in the caller's subtree, open and most severe first."""
    return [_out(v) for v in service.live_warnings(session, staff)]


class RuleIn(BaseModel):
    org_unit_id: int = Field(ge=1, le=MAX_ROW_ID, description="规则所属机构（局、办税服务厅或办税缴费点）")
    name: str = Field(max_length=200, description="规则名称，60 字以内")
    kind: str = Field(
        max_length=20, description="threshold, change, sla, long_wait, device_offline, device_unused"
    )
    metric: str = Field("", max_length=40, description="指标键（阈值、变化率）；SLA：at_risk 或 breached")
    op: str = Field(max_length=4, description="gt, ge, lt, le")
    threshold: float = Field(description="阈值：占比按百分数，变化率按 %，等候和离线按分钟，闲置按工作日")
    clear_margin: float = Field(0.0, description="解除回差")
    cooldown_minutes: int = Field(60, ge=0, le=10**7, description="冷却时间（分钟）")
    period: str = Field("day", max_length=8, description="day, week, month")
    window: int = Field(1, ge=0, le=10**4, description="变化率：与前 N 期均值比较")
    severity: str = Field("warning", max_length=12, description="info, warning, critical")
    roles: list[str] = Field(max_length=20, description="接收通知的角色")
    enabled: bool = True

    def as_input(self) -> service.RuleInput:
        return service.RuleInput(
            org_unit_id=self.org_unit_id, name=self.name, kind=self.kind, metric=self.metric, op=self.op,
            threshold=self.threshold, clear_margin=self.clear_margin, cooldown_minutes=self.cooldown_minutes,
            period=self.period, window=self.window, severity=self.severity, roles=self.roles, enabled=self.enabled,
        )  # fmt: skip


class RuleOut(BaseModel):
    id: int
    org_unit_id: int
    name: str
    kind: str
    metric: str
    op: str
    threshold: float
    clear_margin: float
    cooldown_minutes: int
    period: str
    window: int
    severity: str
    roles: list[str]
    enabled: bool
    description: str


def _rule_out(rule: WarningRule) -> RuleOut:
    return RuleOut(
        id=rule.id, org_unit_id=rule.org_unit_id, name=rule.name, kind=rule.kind, metric=rule.metric, op=rule.op,
        threshold=rule.threshold, clear_margin=rule.clear_margin, cooldown_minutes=rule.cooldown_minutes,
        period=rule.period, window=rule.window_periods, severity=rule.severity, roles=list(rule.roles),
        enabled=rule.enabled, description=service.describe_rule(rule),
    )  # fmt: skip


@router.get("/rules", response_model=list[RuleOut])
def list_rules(session: SessionDep, staff: Handler) -> list[RuleOut]:
    return [_rule_out(r) for r, _ in service.rules_in_scope(session, staff)]


@router.post("/rules", response_model=RuleOut, status_code=status.HTTP_201_CREATED)
def create_rule(body: RuleIn, session: SessionDep, clock: ClockDep, staff: Handler) -> RuleOut:
    """A new rule; 422 with every problem by field (Chinese) and nothing saved when it is not sound."""
    return _rule_out(service.create_rule(session, staff, body.as_input(), clock.now()))


@router.put("/rules/{rule_id}", response_model=RuleOut)
def update_rule(
    rule_id: RowIdPath, body: RuleIn, session: SessionDep, clock: ClockDep, staff: Handler
) -> RuleOut:
    return _rule_out(service.update_rule(session, staff, rule_id, body.as_input(), clock.now()))


@router.get("/{warning_id}", response_model=WarningDetailOut)
def get_warning(warning_id: RowIdPath, session: SessionDep, staff: Viewer) -> WarningDetailOut:
    view = service.warning_in_scope(session, staff, warning_id)
    history = [
        HistoryOut(action=h.action, at=h.at, by=h.by_name, note=h.note)
        for h in service.history(session, warning_id)
    ]
    return WarningDetailOut(**_out(view).model_dump(), history=history)


@router.post("/{warning_id}/acknowledge", status_code=status.HTTP_204_NO_CONTENT)
def acknowledge(warning_id: RowIdPath, session: SessionDep, clock: ClockDep, staff: Handler) -> None:
    """409 when it was acknowledged or closed already."""
    service.acknowledge(session, staff, warning_id, clock.now())


class ResolveIn(BaseModel):
    note: str = Field(max_length=2000, description="处置说明，300 字以内")


@router.post("/{warning_id}/resolve", status_code=status.HTTP_204_NO_CONTENT)
def resolve(
    warning_id: RowIdPath, body: ResolveIn, session: SessionDep, clock: ClockDep, staff: Handler
) -> None:
    """Close with a note; 409 when it is closed already, 422 without a note."""
    service.resolve(session, staff, warning_id, body.note, clock.now())
