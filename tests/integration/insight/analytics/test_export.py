"""The history export on both backends, on hand-made rows: local months, phones replaced by their key,
tickets counted per visit, online-capable matters by the catalog, past months written once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
from sqlalchemy.orm import Session, sessionmaker

from zhishui.catalog.models import Matter
from zhishui.hall.models import ServiceQueue, Ticket, Visit, VisitMatter
from zhishui.insight.analytics import monthly_kpis, repeat_visitors
from zhishui.insight.analytics.export import export_history
from zhishui.insight.analytics.layout import month_file, root
from zhishui.insight.analytics.policy import phone_key
from zhishui.kit.clock import SHANGHAI
from zhishui.org.models import OrgUnit, UnitKind

SECRET = "export-test-secret"
NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI)


def local(y: int, m: int, d: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def _rows(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as s:
        hall = OrgUnit(kind=UnitKind.HALL, code="T-H1", name="测试办税服务厅", created_at=NOW)
        s.add(hall)
        online = Matter(
            code="T-SELF", name="测试网办事项", category="申报类", route="self", online=True, updated_at=NOW
        )
        studio = Matter(
            code="T-STU",
            name="测试工作室事项",
            category="登记类",
            route="studio",
            online=False,
            updated_at=NOW,
        )
        s.add_all([online, studio])
        s.flush()
        queue = ServiceQueue(hall_id=hall.id, prefix="A", name="申报缴税")
        s.add(queue)
        s.flush()

        def visit(
            arrived: dt.datetime, finished: dt.datetime | None, phone: str | None, *matters: Matter
        ) -> Visit:
            v = Visit(hall_id=hall.id, phone=phone, zone="self", status="finished" if finished else "left",
                      arrived_at=arrived, finished_at=finished)  # fmt: skip
            s.add(v)
            s.flush()
            s.add_all(VisitMatter(visit_id=v.id, matter_id=m.id) for m in matters)
            return v

        october = visit(local(2026, 10, 20, 10), local(2026, 10, 20, 10, 12), "13800138000", online)
        # 23:50 on 30 November to 00:20 on 1 December: November's.
        midnight = visit(
            local(2026, 11, 30, 23, 50), local(2026, 12, 1, 0, 20), "13800138000", online, studio
        )
        # 00:10 on 1 December is 16:10 on 30 November in UTC: December's.
        december = visit(local(2026, 12, 1, 0, 10), None, "138 0013 8000", online)
        studio_only = visit(local(2026, 11, 2, 9), local(2026, 11, 2, 9, 40), None, studio)
        at = local(2026, 11, 2, 9, 1)
        s.add(Ticket(hall_id=hall.id, visit_id=studio_only.id, queue_id=queue.id, service_date=dt.date(2026, 11, 2),
                     prefix="A", number=1, code="A001", status="finished", queued_at=at, issued_at=at, token="t" * 32))  # fmt: skip
        s.commit()
        return {
            "october": october.id,
            "midnight": midnight.id,
            "december": december.id,
            "studio": studio_only.id,
        }


def test_the_export_writes_local_months_with_phone_keys_and_tickets(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    ids = _rows(session_factory)
    summary = export_history(session_factory, tmp_path, now=NOW, secret=SECRET)
    base = root(tmp_path)
    nov = pq.read_table(month_file(base, "visits", "2026-11")).to_pylist()
    dec = pq.read_table(month_file(base, "visits", "2026-12")).to_pylist()
    assert sorted(v["visit_id"] for v in nov) == sorted([ids["midnight"], ids["studio"]])
    assert [v["visit_id"] for v in dec] == [ids["december"]]
    assert [v["local_date"] for v in dec] == [dt.date(2026, 12, 1)]
    by_id = {v["visit_id"]: v for v in nov}
    key = phone_key("13800138000", SECRET)
    assert by_id[ids["midnight"]]["phone_key"] == key and dec[0]["phone_key"] == key  # spaces do not matter
    assert "phone" not in by_id[ids["midnight"]]
    assert (
        len(by_id[ids["midnight"]]["matter_ids"]) == 2
        and len(by_id[ids["midnight"]]["online_matter_ids"]) == 1
    )
    assert (by_id[ids["studio"]]["tickets"], by_id[ids["studio"]]["online_matter_ids"]) == (1, [])
    assert summary.rows["tickets"] == 1 and summary.months["visits"] == ["2026-10", "2026-11", "2026-12"]

    (nov_kpi,) = [k for k in monthly_kpis(tmp_path) if k.month == "2026-11"]
    assert (nov_kpi.visits, nov_kpi.tickets, nov_kpi.time_in_hall_mean) == (2, 1, (30 + 40) / 2)
    (person,) = repeat_visitors(tmp_path, as_of=dt.date(2026, 12, 1), min_visits=3)
    assert (person.phone_key, person.visits, person.last_visit_id) == (key, 3, ids["december"])

    # October settled (after 7 November) and is on disk: not read again; November and December are.
    again = export_history(session_factory, tmp_path, now=NOW, secret=SECRET)
    assert again.months["visits"] == ["2026-11", "2026-12"]
