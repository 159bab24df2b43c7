"""An app with a tax center in each of two counties, agents, experts, a supervisor, taxpayers and
bookable hall slots, for the console's e2e tests.

console = console_app(db_url, clock)
with console.client:
    console.sign_in("zuoxi.a1")
    request_id = console.wechat("openid-1", "发票怎么领？")     # through the service, committed
    console.client.get(f"/api/v1/center/requests/{request_id}")
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.center_factories import wechat_text
from tests.e2e.helpers import csrf_from, login, make_client
from tests.factories import PASSWORD, staff, unit
from tests.integration.booking.booking_world import booking_world
from zhishui.catalog.models import Matter
from zhishui.center import etax, service
from zhishui.center.models import Channel, Presence
from zhishui.center.repository import AgentRepository, IdentityRepository
from zhishui.kit import csrf
from zhishui.kit.clock import SHANGHAI, FrozenClock
from zhishui.notify.providers import LogProvider
from zhishui.org.models import UnitKind
from zhishui.taxpayers.models import Taxpayer, TaxpayerKind, TaxpayerPhone

# Monday 30 November 2026, 09:30: a working day, inside opening hours, slots bookable from tomorrow.
NOW = dt.datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI)
TAXPAYER_PHONE = "13800138000"
TAXPAYER_USCC = "91350100MA2YXK7A0A"
OTHER_COUNTY_USCC = "91110108551385082Q"


@dataclass
class Console:
    client: TestClient
    sms: LogProvider
    clock: FrozenClock
    ids: dict[str, int] = field(default_factory=dict)  # username / unit / taxpayer → id
    _msg: Any = field(default_factory=lambda: count(1))
    _token: str = ""

    @property
    def app(self) -> FastAPI:
        assert isinstance(self.client.app, FastAPI)
        return self.client.app

    @property
    def factory(self) -> sessionmaker[Session]:
        made: sessionmaker[Session] = self.app.state.session_factory
        return made

    def session(self) -> Session:
        s = self.factory()
        s.info["broker"] = self.app.state.broker
        s.info["public_url"] = "http://testserver"
        return s

    def sign_in(self, username: str) -> None:
        self.client.cookies.clear()
        assert login(self.client, username, PASSWORD).status_code == 303
        self._token = csrf_from(self.client, "/my/login")

    @property
    def headers(self) -> dict[str, str]:
        return {csrf.HEADER: self._token}

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(path, json=body or {}, headers=self.headers)

    def put(self, path: str, body: dict[str, Any]) -> Any:
        return self.client.put(path, json=body, headers=self.headers)

    def wechat(self, sender: str, text: str, *, center: str = "center_a") -> int:
        """A WeChat message arrives at a center (committed): the request it opened or joined."""
        with self.session() as s, s.begin():
            message = wechat_text(sender, f"m{next(self._msg)}", text, at=self.clock.now())
            return service.ingest(
                s, center_id=self.ids[center], message=message, now=self.clock.now()
            ).request_id

    def etax(self, number: str, subject: str, *, taken_by: str | None = None) -> int:
        """An online submission to process (网办), as its own request; taken from the queue by the
        agent `taken_by` (the queue's next is the oldest due, so this one in a fresh world)."""
        with self.session() as s, s.begin():
            identity = IdentityRepository(s).seen(
                self.ids["center_a"], Channel.ETAX, f"acct-{number}", now=self.clock.now()
            )
            request, _ = service.open_request(
                s, self.ids["center_a"], Channel.ETAX, identity, subject, self.clock.now(), reference=number
            )
            if taken_by is not None:
                taken = etax.take_next(
                    s, self.ids["center_a"], staff_id=self.ids[taken_by], now=self.clock.now()
                )
                assert taken is not None and taken.id == request.id
            return request.id

    def online_matter(self) -> str:
        with self.session() as s:
            return str(s.execute(select(Matter.code).where(Matter.online.is_(True)).limit(1)).scalar_one())


def console_app(db_url: str, clock: FrozenClock, *, capacity: int = 3) -> Console:
    client, sms = make_client(db_url, clock)
    console = Console(client, sms, clock)
    now = clock.now()
    with console.factory() as s, s.begin():
        world = booking_world(s, now)
        tree = world.hall.tree
        center_a = unit(s, tree.county_a, UnitKind.TAX_CENTER, "CA-TC", "甲县智税中心")
        center_b = unit(s, tree.county_b, UnitKind.TAX_CENTER, "CB-TC", "乙县智税中心")
        console.ids.update(
            center_a=center_a.id, center_b=center_b.id, hall_a=world.hall_a, county_a=tree.county_a.id
        )
        agents = AgentRepository(s)
        for username, where in (("zuoxi.a1", center_a), ("zuoxi.a2", center_a), ("zuoxi.b1", center_b)):
            member = staff(s, username, where, "center_agent")
            agents.ensure(member.id, where.id, now=now)
            agents.set_presence(member.id, Presence.AVAILABLE, now=now)
            agents.configure(member.id, capacity=capacity, skills=[])
            console.ids[username] = member.id
        for username, where, role in (
            ("banzhang.a", tree.county_a, "manager"),
            ("zhuanjia.a", center_a, "expert"),
            ("zhuanjia.a2", center_a, "expert"),
            ("zhuanjia.b", center_b, "expert"),
            ("daoshui", tree.hall_a, "triage"),
        ):
            console.ids[username] = staff(s, username, where, role).id
        for key, where, tax_id, name in (
            ("taxpayer_a", tree.county_a, TAXPAYER_USCC, "甲县示例商贸有限公司"),
            ("taxpayer_b", tree.county_b, OTHER_COUNTY_USCC, "乙县示例科技有限公司"),
        ):
            taxpayer = Taxpayer(
                org_unit_id=where.id,
                kind=TaxpayerKind.ENTERPRISE,
                tax_id=tax_id,
                id_scheme="uscc",
                name=name,
                created_at=now,
            )
            s.add(taxpayer)
            s.flush()
            console.ids[key] = taxpayer.id
        s.add(TaxpayerPhone(taxpayer_id=console.ids["taxpayer_a"], phone=TAXPAYER_PHONE, label=""))
    return console
