"""Hand-made history snapshots for the analytics tests: a few rows written as the export would."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa

from zhishui.insight.analytics import layout
from zhishui.insight.analytics.policy import month_name, online_capable
from zhishui.kit.clock import SHANGHAI

# matter_id: (code, name, route, online)
MATTERS = {
    1: ("SELF-DEC-01", "增值税及附加税费申报", "self", True),
    2: ("SELF-RFD-01", "多缴税费退还", "self", True),
    3: ("QK-INV-01", "发票领用", "quick", True),
    4: ("STU-REG-01", "注销税务登记", "studio", False),
    5: ("QK-REG-03", "电子税务局密码重置", "quick", False),
}
HALLS = {10: "青溪办税服务厅", 11: "云湖办税服务厅"}


def local(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=SHANGHAI).astimezone(dt.UTC)


def visit(
    visit_id: int,
    day: dt.date,
    *,
    hall: int = 10,
    taxpayer: int | None = None,
    phone: int | None = None,
    matters: tuple[int, ...] = (1,),
    zone: str = "self",
    status: str = "finished",
    reason: str | None = None,
    arrive: tuple[int, int] = (9, 0),
    minutes: float | None = 10,
    tickets: int = 0,
) -> dict[str, Any]:
    arrived = local(day, *arrive)
    finished = arrived + dt.timedelta(minutes=minutes) if minutes is not None else None
    return {
        "visit_id": visit_id,
        "hall_id": hall,
        "taxpayer_id": taxpayer,
        "phone_key": phone,
        "zone": zone,
        "status": status,
        "offline_reason": reason,
        "priority_group": None,
        "arrived_at": arrived,
        "finished_at": finished,
        "local_date": day,
        "matter_ids": list(matters),
        "online_matter_ids": [m for m in matters if online_capable(*MATTERS[m][2:])],
        "tickets": tickets,
    }


def write_snapshots(data_dir: Path, visits: list[dict[str, Any]]) -> Path:
    """Write `visits` by month, and the catalog and halls above, under data_dir/analytics."""
    base = layout.root(data_dir)
    by_month: dict[str, list[dict[str, Any]]] = {}
    for v in visits:
        by_month.setdefault(month_name(v["local_date"]), []).append(v)
    for month, rows in by_month.items():
        table = pa.Table.from_pylist(rows, schema=layout.VISITS)
        layout.write_table(layout.month_file(base, "visits", month), table)
    matters = pa.Table.from_pylist(
        [
            {
                "matter_id": mid,
                "code": code,
                "name": name,
                "category": "",
                "route": route,
                "online": online,
                "online_capable": online_capable(route, online),
            }
            for mid, (code, name, route, online) in MATTERS.items()
        ],
        schema=layout.MATTERS,
    )
    layout.write_table(layout.whole_file(base, "matters"), matters)
    units = pa.Table.from_pylist(
        [
            {"unit_id": uid, "parent_id": 1, "code": f"H{uid}", "name": name, "kind": "hall", "path": ""}
            for uid, name in HALLS.items()
        ],
        schema=layout.UNITS,
    )
    layout.write_table(layout.whole_file(base, "units"), units)
    return base
