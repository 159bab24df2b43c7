"""The printable monthly report (月度服务报告): the month's figures with month-on-month and
year-on-year change, waits per queue and the twelve months before; every table downloads as Excel.

    /insight/report?month=2026-11&unit=ID                       the page (print CSS)
    /insight/report?month=2026-11&unit=ID&format=xlsx&table=K    one table as a workbook
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.insight import metrics
from zhishui.insight.export import Table, find, xlsx_response
from zhishui.insight.metrics_policy import (
    METRICS,
    Grain,
    Kind,
    format_change,
    format_value,
    last_n_buckets,
)
from zhishui.insight.metrics_policy import bucket_first_day as first_day
from zhishui.kit.errors import InvalidInput
from zhishui.web.deps import ClockDep, SessionDep, TemplatesDep

router = APIRouter(tags=["pages"], include_in_schema=False)

InsightViewer = Annotated[StaffPrincipal, Depends(require(Permission.INSIGHT_VIEW))]
UnitQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="机构（办税服务厅、服务点或税务局）")]
MonthQuery = Annotated[str | None, Query(max_length=7, description="月份，如 2026-11")]
FormatQuery = Annotated[Literal["html", "xlsx"], Query(description="xlsx：下载 Excel")]
TableQuery = Annotated[str | None, Query(max_length=20, description="要下载的表")]

TREND_METRICS = (
    "online_handling_rate",
    "hall_visits",
    "tickets_issued",
    "ticketless_share",
    "time_in_hall_mean",
    "wait_mean",
    "sla_resolution",
    "rating_mean",
)


def report_tables(result: metrics.MetricsSeries) -> list[Table]:
    """The report's tables: the month against last month and a year ago, waits per queue, the trend."""
    month = result.periods[-1]
    summary = Table(
        "summary",
        "指标汇总",
        ("指标", "本月", "上月", "环比", "去年同月", "同比"),
        [
            [
                m.label,
                format_value(month.figures.value(m.key), m.kind),
                format_value(month.previous.value(m.key), m.kind),
                format_change(month.mom(m.key), m.kind),
                format_value(month.year_ago.value(m.key), m.kind),
                format_change(month.yoy(m.key), m.kind),
            ]
            for m in METRICS
        ],
    )
    queues = Table(
        "queues",
        "各队列等候",
        ("队列", "号票数", "已叫号", "平均等候（分钟）", "等候P90（分钟）"),
        [
            [
                q.queue,
                q.tickets,
                q.called,
                format_value(q.mean_minutes, Kind.MINUTES),
                format_value(q.p90_minutes, Kind.MINUTES),
            ]
            for q in month.figures.queues
        ],
    )
    chosen = [next(m for m in METRICS if m.key == key) for key in TREND_METRICS]
    trend = Table(
        "trend",
        "近12个月趋势",
        ("月份", *(m.label for m in chosen)),
        [[p.key, *(format_value(p.figures.value(m.key), m.kind) for m in chosen)] for p in result.periods],
    )
    return [summary, queues, trend]


@router.get("/insight/report", response_class=HTMLResponse)
def monthly_report(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: InsightViewer,
    unit: UnitQuery = None,
    month: MonthQuery = None,
    format: FormatQuery = "html",
    table: TableQuery = None,
) -> Response:
    now = clock.now()
    chosen = metrics.resolve_unit(session, staff, unit)
    key = (month or "").strip() or metrics.current_month(now)
    try:
        months = last_n_buckets(first_day(key, Grain.MONTH), Grain.MONTH, 12)
    except ValueError as error:
        raise InvalidInput("month", "月份格式应为 2026-11") from error
    result = metrics.series(session, chosen, Grain.MONTH, months[0], months[-1], now=now)
    tables = report_tables(result)
    year, mon = key.split("-")
    title = f"{chosen.name} {int(year)}年{int(mon)}月 纳税服务月度报告"
    if format == "xlsx":
        wanted = find(tables, table or "summary")
        if wanted is None:
            raise InvalidInput("table", "没有这张表：可选 summary、queues、trend")
        return xlsx_response(wanted, f"insight-{chosen.id}-{key}-{wanted.key}", caption=title)
    children = [
        u for u in result.scope.units if u.id != chosen.id and u.path.count("/") == chosen.path.count("/") + 1
    ]
    return templates.TemplateResponse(
        request,
        "insight/report.html",
        {
            "title": title,
            "unit": chosen,
            "scope": result.scope,
            "month": key,
            "tables": tables,
            "children": children,
            "generated": now,
        },
    )
