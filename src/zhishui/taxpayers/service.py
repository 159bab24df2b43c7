"""Use cases of taxpayers: register, add a phone, find, read. Each flushes; the caller commits.

Scope. A taxpayer belongs to the bureau in charge of it (主管税务机关), normally a county bureau, and
is served by every unit of that county: its halls, service points, departments and tax center. So a
staff member sees the taxpayers of their county's whole subtree; staff above county level (city,
province) see their own subtree, which holds every county below them. A taxpayer outside that scope
is "not found", exactly like one that does not exist.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.errors import Conflict, InvalidInput, NotFound
from zhishui.kit.field_labels import label
from zhishui.kit.validators import TaxIdScheme, classify_tax_id
from zhishui.org.models import OrgUnit, UnitKind
from zhishui.org.policy import OrgScope
from zhishui.org.repository import OrgUnitRepository
from zhishui.taxpayers.models import TAXPAYER_KIND_LABELS, Taxpayer, TaxpayerKind, TaxpayerPhone
from zhishui.taxpayers.repository import TaxpayerRepository
from zhishui.taxpayers.schemas import ID_SCHEME_LABELS, PhoneIn, TaxpayerCreate, TaxpayerOut, TaxpayerPage

BUREAU_KINDS = frozenset({UnitKind.PROVINCE_BUREAU, UnitKind.CITY_BUREAU, UnitKind.COUNTY_BUREAU})
NOT_FOUND = "纳税人不存在或不在您的管辖范围内"
DUPLICATE_TAX_ID = "该纳税人识别号已登记"
DUPLICATE_PHONE = "该手机号码已登记在此纳税人名下"
MAX_PAGE_SIZE = 100

# Which kinds of taxpayer each kind of id may belong to.
_KINDS_BY_SCHEME: dict[TaxIdScheme, frozenset[TaxpayerKind]] = {
    "resident_id": frozenset({TaxpayerKind.NATURAL_PERSON, TaxpayerKind.INDIVIDUAL_BUSINESS}),
    "uscc": frozenset({TaxpayerKind.ENTERPRISE, TaxpayerKind.INDIVIDUAL_BUSINESS}),
    "legacy": frozenset(TaxpayerKind),
}


def infer_kind(scheme: TaxIdScheme, tax_id: str) -> TaxpayerKind:
    """The kind an id implies: resident id → natural person; USCC entity type 2 → individual
    business (个体工商户); anything else → enterprise."""
    if scheme == "resident_id":
        return TaxpayerKind.NATURAL_PERSON
    if scheme == "uscc" and tax_id[1] == "2":
        return TaxpayerKind.INDIVIDUAL_BUSINESS
    return TaxpayerKind.ENTERPRISE


def kind_problem(scheme: TaxIdScheme, kind: TaxpayerKind) -> str | None:
    if kind in _KINDS_BY_SCHEME[scheme]:
        return None
    return f"{ID_SCHEME_LABELS[scheme]}不能登记为{TAXPAYER_KIND_LABELS[kind]}"


def taxpayer_scope(session: Session, staff: StaffPrincipal) -> OrgScope:
    """The subtree whose taxpayers `staff` may see (see the module's docstring)."""
    county = OrgUnitRepository(session).ancestor_of_kind_by_path(staff.org_path, UnitKind.COUNTY_BUREAU)
    return OrgScope(county.path) if county is not None else staff.scope


def _sees_full(staff: StaffPrincipal) -> bool:
    return staff.can(Permission.TAXPAYER_READ_FULL)


def _bureau_for_new_taxpayer(session: Session, staff: StaffPrincipal, org_unit_id: int | None) -> OrgUnit:
    units = OrgUnitRepository(session)
    scope = taxpayer_scope(session, staff)
    if org_unit_id is None:
        unit = units.get_one_or_none(units.in_scope(OrgScope(scope.path)).limit(1))
    else:
        unit = units.get_in_scope(org_unit_id, scope)
    if unit is None:
        raise InvalidInput("org_unit_id", f"{label('org_unit_id')}：不存在或不在您的管辖范围内")
    if unit.kind not in BUREAU_KINDS:
        raise InvalidInput(
            "org_unit_id", f"{label('org_unit_id')}：应为税务局（主管税务机关），不能是{unit.name}"
        )
    return unit


def _view(session: Session, staff: StaffPrincipal, taxpayer: Taxpayer) -> TaxpayerOut:
    phones = TaxpayerRepository(session).phones_by_taxpayer([taxpayer.id])[taxpayer.id]
    unit_name = OrgUnitRepository(session).names_by_id([taxpayer.org_unit_id]).get(taxpayer.org_unit_id, "")
    return TaxpayerOut.build(taxpayer, phones, unit_name, full=_sees_full(staff))


def register_taxpayer(
    session: Session, staff: StaffPrincipal, data: TaxpayerCreate, *, now: dt.datetime
) -> TaxpayerOut:
    """Register a taxpayer with its phones. A tax id already registered (anywhere, in or out of the
    caller's scope) is a 409; the unique constraint decides, so two simultaneous registrations of one id
    cannot both succeed."""
    scheme, tax_id = classify_tax_id(data.tax_id)
    kind = data.kind or infer_kind(scheme, tax_id)
    problem = kind_problem(scheme, kind)
    if problem:
        raise InvalidInput("kind", f"{label('kind')}：{problem}")
    bureau = _bureau_for_new_taxpayer(session, staff, data.org_unit_id)
    taxpayer = Taxpayer(
        org_unit_id=bureau.id, kind=kind, tax_id=tax_id, id_scheme=scheme, name=data.name, created_at=now
    )
    try:
        with session.begin_nested():
            session.add(taxpayer)
            session.flush()
    except IntegrityError as exc:
        if "tax_id" not in str(exc.orig):
            raise
        raise Conflict(DUPLICATE_TAX_ID, code="duplicate_tax_id") from exc
    seen: set[str] = set()
    for phone in data.phones:
        if phone.phone not in seen:
            seen.add(phone.phone)
            session.add(TaxpayerPhone(taxpayer_id=taxpayer.id, phone=phone.phone, label=phone.label))
    session.flush()
    return _view(session, staff, taxpayer)


def get_taxpayer(session: Session, staff: StaffPrincipal, taxpayer_id: int) -> TaxpayerOut:
    return _view(session, staff, _taxpayer_in_scope(session, staff, taxpayer_id))


def _taxpayer_in_scope(session: Session, staff: StaffPrincipal, taxpayer_id: int) -> Taxpayer:
    taxpayer = TaxpayerRepository(session).get_in_scope(taxpayer_id, taxpayer_scope(session, staff))
    if taxpayer is None:
        raise NotFound(NOT_FOUND)
    return taxpayer


def add_phone(session: Session, staff: StaffPrincipal, taxpayer_id: int, data: PhoneIn) -> TaxpayerOut:
    taxpayer = _taxpayer_in_scope(session, staff, taxpayer_id)
    try:
        with session.begin_nested():
            session.add(TaxpayerPhone(taxpayer_id=taxpayer.id, phone=data.phone, label=data.label))
            session.flush()
    except IntegrityError as exc:
        raise Conflict(DUPLICATE_PHONE, code="duplicate_phone") from exc
    return _view(session, staff, taxpayer)


def search_taxpayers(
    session: Session, staff: StaffPrincipal, q: str = "", *, page: int = 1, size: int = 20
) -> TaxpayerPage:
    """One page of the taxpayers in scope matching `q`, masked per the caller's permissions.
    Four queries whatever the page size: count, page, phones, unit names."""
    size = min(max(size, 1), MAX_PAGE_SIZE)
    repo = TaxpayerRepository(session)
    result = repo.search(taxpayer_scope(session, staff), q, page=page, size=size)
    ids = [t.id for t in result.items]
    phones = repo.phones_by_taxpayer(ids)
    names = OrgUnitRepository(session).names_by_id([t.org_unit_id for t in result.items])
    full = _sees_full(staff)
    return TaxpayerPage(
        items=[
            TaxpayerOut.build(t, phones[t.id], names.get(t.org_unit_id, ""), full=full) for t in result.items
        ],
        total=result.total,
        page=result.page,
        size=result.size,
        pages=result.pages,
    )
