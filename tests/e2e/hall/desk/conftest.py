"""A county with two halls for the front-of-hall tests: staff at each desk, a registered taxpayer."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from stdnum.cn import uscc

from tests.e2e.helpers import csrf_from, login, make_client
from tests.factories import PASSWORD, hall_world
from zhishui.hall.layout import set_up_standard_hall
from zhishui.hall.repository import HallSettingsRepository
from zhishui.identity.models import Staff, StaffRole
from zhishui.identity.passwords import hash_password
from zhishui.kit.clock import FrozenClock
from zhishui.notify.providers import LogProvider
from zhishui.org.models import OrgUnit
from zhishui.taxpayers.models import Taxpayer, TaxpayerKind, TaxpayerPhone

TAXPAYER_PHONE = "13912345678"
TAXPAYER_NAME = "甲县示例商贸有限公司"


@functools.cache
def _digest() -> str:
    return hash_password(PASSWORD)


def valid_uscc(body: str = "91330100MA2B3C4D5") -> str:
    return body + uscc.calc_check_digit(body)


@dataclass
class Desk:
    client: TestClient  # anonymous until a test signs it in
    sms: LogProvider
    clock: FrozenClock
    hall_a: int
    hall_b: int
    key_a: str
    tax_id: str

    @property
    def app(self) -> FastAPI:
        app = self.client.app
        assert isinstance(app, FastAPI)
        return app

    def as_staff(self, username: str) -> TestClient:
        """A client on the same app signed in as `username`, sending its CSRF token on every call."""
        c = TestClient(self.app, follow_redirects=False)
        assert login(c, username, PASSWORD).status_code == 303
        c.headers["X-CSRF-Token"] = csrf_from(c, "/")
        return c


def _staff(s: object, username: str, unit: OrgUnit, *roles: str) -> None:
    from sqlalchemy.orm import Session

    assert isinstance(s, Session)
    member = Staff(
        org_unit_id=unit.id,
        username=username,
        display_name=f"测试{username}",
        password_hash=_digest(),
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    s.add(member)
    s.flush()
    for role in roles:
        s.add(StaffRole(staff_id=member.id, role=role))
    s.flush()


@pytest.fixture
def desk(db_url: str, clock: FrozenClock) -> Iterator[Desk]:
    client, sms = make_client(db_url, clock)
    with client:
        factory = client.app.state.session_factory  # type: ignore[attr-defined]
        with factory() as s, s.begin():
            world = hall_world(s, clock.now())
            tree = world.tree
            set_up_standard_hall(s, tree.hall_b.id, now=clock.now())
            key_a = HallSettingsRepository(s).for_hall(tree.hall_a.id).screen_key
            _staff(s, "daoshui", tree.hall_a, "triage")
            _staff(s, "kuaiban", tree.hall_a, "quick_desk")
            _staff(s, "kuaiban2", tree.hall_a, "quick_desk")
            _staff(s, "gongzuoshi", tree.hall_a, "studio")
            _staff(s, "daoshui.b", tree.hall_b, "triage")
            _staff(s, "xian", tree.county_a, "triage")  # one hall below: works in it without choosing
            _staff(s, "shi", tree.city, "triage")  # two halls below: chooses
            tax_id = valid_uscc()
            taxpayer = Taxpayer(
                org_unit_id=tree.county_a.id,
                kind=TaxpayerKind.ENTERPRISE,
                tax_id=tax_id,
                id_scheme="uscc",
                name=TAXPAYER_NAME,
                created_at=clock.now(),
            )
            s.add(taxpayer)
            s.flush()
            s.add(TaxpayerPhone(taxpayer_id=taxpayer.id, phone=TAXPAYER_PHONE, label=""))
            hall_a, hall_b = tree.hall_a.id, tree.hall_b.id
        yield Desk(client, sms, clock, hall_a, hall_b, key_a, tax_id)
