"""The demo county's devices: history that makes /points recommend moves, and the cases early
warnings look for (a printer offline, a reader that never reported)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from zhishui.demo.seed import COUNTY_CODE, seed_demo
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.db import create_db_engine, make_session_factory
from zhishui.org.repository import OrgUnitRepository
from zhishui.points import service
from zhishui.points.models import Device, DeviceEvent
from zhishui.points.policy import Liveness

NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)


def test_the_demo_devices_give_the_manager_something_to_act_on(sqlite_url: str) -> None:
    factory = make_session_factory(create_db_engine(sqlite_url))
    with factory() as s:
        seed_demo(s, now=NOW, password="demo-pass-1234")
        s.commit()
    with factory() as s:
        county = OrgUnitRepository(s).by_code(COUNTY_CODE)
        assert county is not None
        assert s.execute(select(func.count()).select_from(Device)).scalar_one() >= 29
        assert s.execute(select(func.count()).select_from(DeviceEvent)).scalar_one() > 1000
        found = service.utilisation(s, unit_ids=[county.id], start=NOW - dt.timedelta(days=14), end=NOW)
        by_name = {p.name: p for p in found}
        gov = by_name["示例县政务服务中心办税缴费点"]
        terminals = [d for d in gov.devices if d.kind == "terminal"]
        assert sum(d.busy_seconds for d in terminals) / sum(d.open_seconds for d in terminals) > 0.6
        assert gov.district == "云湖街道（示例县）"
        moves = service.recommendations(found)
        assert moves, "the demo should recommend at least one move"
        assert all(m.kind == "terminal" for m in moves)
        assert {m.from_name for m in moves} <= {p.name for p in found if "银行" in p.name}
        assert {m.to_name for m in moves} & {"梅林镇便民服务中心办税点", "示例县政务服务中心办税缴费点"}
        states = service.device_status(s, unit_ids=[county.id], now=NOW)
        kinds = {(st.kind, st.liveness) for st in states}
        assert ("invoice_printer", Liveness.OFFLINE) in kinds
        assert ("id_reader", Liveness.NEVER) in kinds
        assert sum(1 for st in states if st.liveness == Liveness.ONLINE) >= len(states) - 2
