"""GET /api/v1/insight/metrics: figures of a unit by period, for other packages and the warnings.

    /api/v1/insight/metrics?unit=ID&period=month&from=2026-01&to=2026-11

`period` is day, week, month or year; `from`/`to` are period keys of that grain (2026-11-30,
2026-W48, 2026-11, 2026), both included, the current period when left out. Every period carries
its values, the change against the period before (`mom`) and the same period a year earlier
(`yoy`), and the wait per queue. Shares are 0–1, times in minutes, `null` where there is nothing
to divide or the unit cannot have the figure (a hall has no center requests).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.insight import metrics
from zhishui.insight.metrics_policy import bucket_of
from zhishui.web.deps import ClockDep, SessionDep

router = APIRouter(prefix="/api/v1/insight", tags=["insight"])

InsightViewer = Annotated[StaffPrincipal, Depends(require(Permission.INSIGHT_VIEW))]
PeriodKey = Annotated[str | None, Query(max_length=10)]


@router.get("/metrics", summary="指标（按机构与期间）")
def get_metrics(
    session: SessionDep,
    clock: ClockDep,
    staff: InsightViewer,
    unit: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    period: Annotated[str | None, Query(max_length=5)] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    to: PeriodKey = None,
) -> dict[str, Any]:
    now = clock.now()
    grain = metrics.parse_grain(period)
    chosen = metrics.resolve_unit(session, staff, unit)
    last = (to or "").strip() or bucket_of(now, grain)
    first = (from_ or "").strip() or last
    return metrics.series_json(metrics.series(session, chosen, grain, first, last, now=now))
