"""The demo county: a fictional 示例县税务局 laid out like the article's county, for trying the system.

    示例省税务局 → 示例市税务局 → 示例县税务局
        智税中心 · 4 business departments · 5 halls · 5 cross-department points · 24 bank points
        40 staff covering every role · 2,000 taxpayers with valid ids · the default matter catalog

Deterministic: a `random.Random(20261130)` builds the same county every time. Not repeatable on one
database: seeding a database that already holds the demo county raises `DemoAlreadySeeded` (nothing
is changed), so a bureau's real data can never be mixed with a second, partial copy of the demo.

One transaction: the caller commits. Taxpayers and their phones go in with bulk INSERTs, and every
demo account shares one password hash (argon2 is slow on purpose), so the whole seed takes seconds.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from zhishui.catalog.models import Matter
from zhishui.demo.etax import seed_submissions
from zhishui.demo.hall import HallScreens, seed_halls
from zhishui.demo.ids import make_resident_id, make_uscc, random_birth_date
from zhishui.demo.names import COUNTY, company_name, mobile, person_name, shop_name
from zhishui.demo.points import seed_point_devices
from zhishui.identity.models import Staff, StaffRole
from zhishui.identity.passwords import hash_password
from zhishui.identity.policy import ROLE_LABELS, Role
from zhishui.org.models import OrgUnit, PointKind, UnitKind, service_point_matter
from zhishui.org.policy import WEEKDAYS
from zhishui.org.repository import OrgUnitRepository
from zhishui.taxpayers.models import Taxpayer, TaxpayerKind, TaxpayerPhone

SEED = 20261130
COUNTY_CODE = "DEMO-X"
TAXPAYERS = 2000
TAXPAYER_MIX = ((TaxpayerKind.ENTERPRISE, 0.45), (TaxpayerKind.INDIVIDUAL_BUSINESS, 0.30))  # rest: persons


class DemoAlreadySeeded(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "该数据库中已有演示县（示例县税务局），未做任何更改。如需重建，请使用新的数据库"
            "（`zhishui demo` 每次都会新建 data/demo.db）。"
        )


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role_label: str
    unit_name: str


@dataclass
class DemoSummary:
    counts: dict[str, int]
    logins: list[DemoLogin] = field(default_factory=list)
    screens: list[HallScreens] = field(default_factory=list)

    def describe(self) -> str:
        c = self.counts
        return (
            f"{c['halls']} 个办税服务厅、{c['cross_department_points']} 个跨部门办税缴费点、"
            f"{c['bank_points']} 个银行自助办税点、{c['tax_centers']} 个智税中心、{c['departments']} 个业务科室，"
            f"{c['staff']} 名人员，{c['taxpayers']} 户纳税人，{c['matters']} 项办税事项"
        )


# --- opening hours --------------------------------------------------------------------------------

_MORNING, _AFTERNOON = ["08:30", "12:00"], ["13:30", "17:00"]
_WORKDAYS = WEEKDAYS[:5]


def _weekly(days: Iterable[str], *intervals: list[str]) -> dict[str, Any]:
    return {day: [list(i) for i in intervals] for day in days}


OFFICE_HOURS = _weekly(_WORKDAYS, _MORNING, _AFTERNOON)
HALL_WITH_SATURDAY = {**OFFICE_HOURS, **_weekly(["sat"], ["09:00", "12:00"])}
TOWNSHIP_HOURS = _weekly(_WORKDAYS, ["08:30", "11:30"], ["14:00", "17:00"])
BANK_HOURS = _weekly(_WORKDAYS, ["08:30", "17:00"])
BANK_HOURS_WEEKEND = {**BANK_HOURS, **_weekly(["sat", "sun"], ["09:00", "16:00"])}
ROUND_THE_CLOCK = _weekly(WEEKDAYS, ["00:00", "24:00"])

# --- the places -----------------------------------------------------------------------------------
# Fictional towns of the fictional county, with made-up coordinates around a fictional county town.
TOWN_CENTRES: dict[str, tuple[float, float]] = {
    "青溪街道": (29.5012, 120.7031),
    "云湖街道": (29.5194, 120.7322),
    "石门镇": (29.4318, 120.6415),
    "桃岭镇": (29.5806, 120.6127),
    "白沙镇": (29.4627, 120.7893),
    "梅林镇": (29.3715, 120.7208),
    "长汀乡": (29.6203, 120.7588),
}


@dataclass(frozen=True)
class Place:
    code: str
    name: str
    town: str
    street: str
    hours: dict[str, Any]
    point_kind: PointKind | None = None
    phone: str = ""


HALLS = [
    Place(
        "DEMO-X-H1",
        "示例县税务局青溪办税服务厅",
        "青溪街道",
        "学府路 88 号",
        HALL_WITH_SATURDAY,
        phone="12366",
    ),
    Place(
        "DEMO-X-H2", "示例县税务局云湖办税服务厅", "云湖街道", "湖滨大道 215 号", OFFICE_HOURS, phone="12366"
    ),
    Place("DEMO-X-H3", "示例县税务局石门办税服务厅", "石门镇", "兴业路 16 号", OFFICE_HOURS, phone="12366"),
    Place("DEMO-X-H4", "示例县税务局桃岭办税服务厅", "桃岭镇", "桃源街 3 号", OFFICE_HOURS, phone="12366"),
    Place("DEMO-X-H5", "示例县税务局白沙办税服务厅", "白沙镇", "滨海路 101 号", OFFICE_HOURS, phone="12366"),
]
CENTER = Place(
    "DEMO-X-TC", "示例县税务局智税中心", "青溪街道", "学府路 88 号三楼", OFFICE_HOURS, phone="12366"
)
CROSS_DEPARTMENT_POINTS = [
    Place("DEMO-X-G1", "示例县政务服务中心办税缴费点", "云湖街道", "市民大道 1 号政务服务中心二楼",
          HALL_WITH_SATURDAY, PointKind.GOV_CENTER),
    Place("DEMO-X-G2", "示例县不动产登记中心办税点", "青溪街道", "建设路 57 号", OFFICE_HOURS, PointKind.OTHER_DEPT),
    Place("DEMO-X-G3", "示例县社会保险服务中心缴费点", "云湖街道", "人民路 120 号", OFFICE_HOURS, PointKind.OTHER_DEPT),
    Place("DEMO-X-G4", "梅林镇便民服务中心办税点", "梅林镇", "梅林大街 9 号", TOWNSHIP_HOURS, PointKind.TOWNSHIP),
    Place("DEMO-X-G5", "长汀乡便民服务中心办税点", "长汀乡", "长汀村文化路 2 号", TOWNSHIP_HOURS, PointKind.TOWNSHIP),
]  # fmt: skip
# 8 banks × 3 branches; the branch names are the towns' own.
BANKS = ("农业银行", "工商银行", "建设银行", "中国银行", "邮储银行", "交通银行", "示例农商银行", "兴业银行")
_BANK_BRANCHES = (("青溪街道", "营业部", "学府路"), ("云湖街道", "云湖支行", "湖滨大道"), ("石门镇", "石门支行", "兴业路"),
                  ("桃岭镇", "桃岭支行", "桃源街"), ("白沙镇", "白沙支行", "滨海路"), ("梅林镇", "梅林支行", "梅林大街"),
                  ("长汀乡", "长汀分理处", "文化路"), ("青溪街道", "城东支行", "东环路"))  # fmt: skip

DEPARTMENTS = [
    ("DEMO-X-D1", "纳税服务股"),
    ("DEMO-X-D2", "征收管理股"),
    ("DEMO-X-D3", "税源管理一股"),
    ("DEMO-X-D4", "法制股"),
]


def bank_points(rng: random.Random) -> list[Place]:
    out = []
    for n in range(24):
        bank = BANKS[n % len(BANKS)]
        town, branch, road = _BANK_BRANCHES[(n // len(BANKS) * 3 + n) % len(_BANK_BRANCHES)]
        hours = (ROUND_THE_CLOCK, BANK_HOURS_WEEKEND, BANK_HOURS, BANK_HOURS)[n % 4]
        out.append(
            Place(
                f"DEMO-X-B{n + 1:02d}",
                f"{bank}{COUNTY}{branch}自助办税点",
                town,
                f"{road} {rng.randrange(1, 300)} 号",
                hours,
                PointKind.BANK,
            )
        )
    return out


# --- matters each kind of place offers, by the catalog's route and category ------------------------

MatterRule = Callable[[Matter], bool]


def _quick_in(*categories: str) -> MatterRule:
    return lambda m: m.route == "quick" and m.category in categories


def _any(*rules: MatterRule) -> MatterRule:
    return lambda m: any(rule(m) for rule in rules)


def _online(m: Matter) -> bool:
    return m.route == "self"


def _named(*names: str) -> MatterRule:
    return lambda m: m.name in names


def _not_mediation(m: Matter) -> bool:
    return m.route != "mediation"


def _everything(m: Matter) -> bool:
    return True


MATTERS_BY_CODE: dict[str, MatterRule] = {
    "DEMO-X-H1": _everything,  # the main hall also hosts the mediation panel
    "DEMO-X-TC": _any(_online, lambda m: m.route == "quick"),
    "DEMO-X-G1": _any(lambda m: m.route == "quick", _online, _named("存量房交易税费申报", "增量房契税申报", "临时税务登记")),
    "DEMO-X-G2": _any(_named("存量房交易税费申报", "增量房契税申报"), _quick_in("证明类")),
    "DEMO-X-G3": _any(_quick_in("缴费类"), _named("社保费退费申请")),
    "DEMO-X-G4": _any(_quick_in("缴费类", "发票类", "证明类"), _online),
    "DEMO-X-G5": _any(_quick_in("缴费类", "发票类", "证明类"), _online),
}  # fmt: skip
BANK_MATTERS: MatterRule = _any(_online, _quick_in("缴费类", "发票类"))
HALL_MATTERS: MatterRule = _not_mediation

# --- staff ----------------------------------------------------------------------------------------
# (username, roles, unit code). Every role of identity.policy.Role appears.
STAFF_PLAN: Sequence[tuple[str, tuple[Role, ...], str]] = (
    [(f"triage{n}", (Role.TRIAGE,), f"DEMO-X-H{n}") for n in range(1, 6)]
    + [(f"quick{n}", (Role.QUICK_DESK,), f"DEMO-X-H{n}") for n in range(1, 6)]
    + [(f"studio{n}", (Role.STUDIO,), f"DEMO-X-H{1 if n <= 4 else n - 3}") for n in range(1, 9)]
    + [(f"agent{n}", (Role.CENTER_AGENT,), "DEMO-X-TC") for n in range(1, 7)]
    + [(f"dept{n}", (Role.DEPARTMENT,), DEPARTMENTS[(n - 1) // 2][0]) for n in range(1, 9)]
    + [
        ("expert1", (Role.EXPERT,), "DEMO-X-TC"),
        ("expert2", (Role.EXPERT,), "DEMO-X-D2"),
        ("expert3", (Role.EXPERT,), "DEMO-X-D4"),
        ("mediator1", (Role.MEDIATOR,), "DEMO-X-D4"),
        ("mediator2", (Role.MEDIATOR,), "DEMO-X-H1"),
        ("manager", (Role.MANAGER,), COUNTY_CODE),
        ("director", (Role.MANAGER,), COUNTY_CODE),
        ("admin", (Role.ADMIN,), "DEMO-P"),
    ]
)


# --- the seed -------------------------------------------------------------------------------------


def seed_demo(session: Session, *, now: dt.datetime, password: str) -> DemoSummary:
    """Build the demo county in this transaction (the caller commits). See the module docstring."""
    units = OrgUnitRepository(session)
    if units.by_code(COUNTY_CODE) is not None:
        raise DemoAlreadySeeded()
    from zhishui.catalog.service import import_default_catalog
    from zhishui.identity.service import ensure_default_grants
    from zhishui.workdays.service import ensure_calendar

    rng = random.Random(SEED)
    ensure_default_grants(session)
    ensure_calendar(session, now)
    import_default_catalog(session, now=now)
    by_code = build_org(session, rng, now=now)
    offer_matters(session, by_code)
    logins = build_staff(session, rng, by_code, now=now, password_hash=hash_password(password))
    taxpayers = build_taxpayers(session, rng, county=by_code[COUNTY_CODE], now=now)
    halls = sorted((u for u in by_code.values() if u.kind == UnitKind.HALL), key=lambda u: u.code)
    screens = seed_halls(session, rng, halls, now=now)
    seed_submissions(session, rng, by_code[CENTER.code], by_code[COUNTY_CODE], now=now)
    seed_point_devices(session, [u for u in by_code.values() if u.kind == UnitKind.SERVICE_POINT], now=now)
    matters = session.execute(select(Matter.id)).scalars().all()
    places = list(by_code.values())
    return DemoSummary(
        counts={
            "halls": sum(1 for u in places if u.kind == UnitKind.HALL),
            "cross_department_points": sum(
                1 for u in places if u.kind == UnitKind.SERVICE_POINT and u.point_kind != PointKind.BANK
            ),
            "bank_points": sum(1 for u in places if u.point_kind == PointKind.BANK),
            "tax_centers": sum(1 for u in places if u.kind == UnitKind.TAX_CENTER),
            "departments": sum(1 for u in places if u.kind == UnitKind.DEPARTMENT),
            "staff": len(logins),
            "taxpayers": taxpayers,
            "matters": len(matters),
        },
        logins=logins,
        screens=screens,
    )


def _jitter(rng: random.Random, town: str) -> tuple[float, float]:
    lat, lng = TOWN_CENTRES[town]
    return round(lat + rng.uniform(-0.006, 0.006), 6), round(lng + rng.uniform(-0.006, 0.006), 6)


def build_org(session: Session, rng: random.Random, *, now: dt.datetime) -> dict[str, OrgUnit]:
    """The bureau chain and every unit of the county, by code."""
    repo = OrgUnitRepository(session)

    def add(parent: OrgUnit | None, kind: UnitKind, code: str, name: str, **extra: Any) -> OrgUnit:
        return repo.add_unit(OrgUnit(kind=kind, code=code, name=name, created_at=now, **extra), parent)

    province = add(None, UnitKind.PROVINCE_BUREAU, "DEMO-P", "示例省税务局")
    city = add(province, UnitKind.CITY_BUREAU, "DEMO-C", "示例市税务局")
    county = add(
        city,
        UnitKind.COUNTY_BUREAU,
        COUNTY_CODE,
        "示例县税务局",
        address=f"{COUNTY}青溪街道学府路 88 号",
        phone="12366",
        opening_hours=OFFICE_HOURS,
    )
    out = {u.code: u for u in (province, city, county)}

    def add_place(place: Place, kind: UnitKind) -> None:
        lat, lng = _jitter(rng, place.town)
        out[place.code] = add(
            county,
            kind,
            place.code,
            place.name,
            point_kind=place.point_kind,
            address=f"{COUNTY}{place.town}{place.street}",
            latitude=lat,
            longitude=lng,
            opening_hours=place.hours,
            phone=place.phone,
        )

    add_place(CENTER, UnitKind.TAX_CENTER)
    for code, name in DEPARTMENTS:
        out[code] = add(county, UnitKind.DEPARTMENT, code, name)
    for hall in HALLS:
        add_place(hall, UnitKind.HALL)
    for point in [*CROSS_DEPARTMENT_POINTS, *bank_points(rng)]:
        add_place(point, UnitKind.SERVICE_POINT)
    return out


def offer_matters(session: Session, by_code: dict[str, OrgUnit]) -> None:
    """Fill service_point_matter for halls, the center and every point, in one bulk insert."""
    matters = session.execute(select(Matter).where(Matter.active)).scalars().all()
    rows: list[dict[str, int]] = []
    for code, unit in by_code.items():
        if unit.kind == UnitKind.HALL:
            rule = MATTERS_BY_CODE.get(code, HALL_MATTERS)
        elif unit.point_kind == PointKind.BANK:
            rule = BANK_MATTERS
        elif code in MATTERS_BY_CODE:
            rule = MATTERS_BY_CODE[code]
        else:
            continue
        rows.extend({"org_unit_id": unit.id, "matter_id": m.id} for m in matters if rule(m))
    if rows:
        session.execute(insert(service_point_matter), rows)


def build_staff(
    session: Session, rng: random.Random, by_code: dict[str, OrgUnit], *, now: dt.datetime, password_hash: str
) -> list[DemoLogin]:
    used: set[str] = set()
    members: list[tuple[Staff, tuple[Role, ...]]] = []
    for username, roles, code in STAFF_PLAN:
        name = person_name(rng)
        while name in used:
            name = person_name(rng)
        used.add(name)
        member = Staff(
            org_unit_id=by_code[code].id,
            username=username,
            display_name=name,
            phone=mobile(rng),
            password_hash=password_hash,
            is_demo=True,
            created_at=now,
        )
        session.add(member)
        members.append((member, roles))
    session.flush()
    session.add_all(StaffRole(staff_id=m.id, role=role.value) for m, roles in members for role in roles)
    session.flush()
    unit_names = {u.id: u.name for u in by_code.values()}
    return [
        DemoLogin(m.username, "、".join(ROLE_LABELS[r] for r in roles), unit_names[m.org_unit_id])
        for m, roles in members
    ]


def _taxpayer_kind(rng: random.Random) -> TaxpayerKind:
    roll = rng.random()
    for kind, share in TAXPAYER_MIX:
        if roll < share:
            return kind
        roll -= share
    return TaxpayerKind.NATURAL_PERSON


def build_taxpayers(session: Session, rng: random.Random, *, county: OrgUnit, now: dt.datetime) -> int:
    """2,000 taxpayers of the county with valid ids and 0–2 phones each, in two bulk inserts."""
    rows: list[dict[str, Any]] = []
    phones_by_tax_id: dict[str, list[str]] = {}
    seen_ids: set[str] = set()
    seen_names: set[str] = set()
    earliest, latest = dt.date(1950, 1, 1), dt.date(2004, 12, 31)
    while len(rows) < TAXPAYERS:
        kind = _taxpayer_kind(rng)
        if kind == TaxpayerKind.NATURAL_PERSON:
            male = rng.random() < 0.5
            name = person_name(rng, male=male)
            tax_id = make_resident_id(rng, born=random_birth_date(rng, earliest, latest), male=male)
            scheme = "resident_id"
        elif kind == TaxpayerKind.INDIVIDUAL_BUSINESS:
            name = shop_name(rng, person_name(rng))
            tax_id, scheme = make_uscc(rng, entity="2"), "uscc"
        else:
            name = company_name(rng)
            tax_id, scheme = make_uscc(rng, entity="1"), "uscc"
        if tax_id in seen_ids or (kind != TaxpayerKind.NATURAL_PERSON and name in seen_names):
            continue
        seen_ids.add(tax_id)
        seen_names.add(name)
        registered = now - dt.timedelta(days=rng.randrange(0, 3650), minutes=rng.randrange(0, 600))
        rows.append(
            {
                "org_unit_id": county.id,
                "kind": kind,
                "tax_id": tax_id,
                "id_scheme": scheme,
                "name": name,
                "created_at": registered,
            }
        )
        roll = rng.random()
        count = 0 if roll < 0.05 else (2 if roll > 0.85 else 1)
        phones_by_tax_id[tax_id] = list(dict.fromkeys(mobile(rng) for _ in range(count)))
    session.execute(insert(Taxpayer), rows)
    stored = session.execute(select(Taxpayer.tax_id, Taxpayer.id).where(Taxpayer.org_unit_id == county.id))
    ids = {tax_id: taxpayer_id for tax_id, taxpayer_id in stored}
    labels = ("", "财务")
    phone_rows = [
        {"taxpayer_id": ids[tax_id], "phone": phone, "label": labels[n]}
        for tax_id, phones in phones_by_tax_id.items()
        for n, phone in enumerate(phones)
    ]
    if phone_rows:
        session.execute(insert(TaxpayerPhone), phone_rows)
    return len(rows)
