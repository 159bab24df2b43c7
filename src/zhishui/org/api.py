"""JSON API of the org tree: /api/v1/org/units, scoped to the caller's subtree."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.validators import RowIdPath
from zhishui.org import service
from zhishui.org.models import UnitKind
from zhishui.org.schemas import OrgUnitCreate, OrgUnitOut, ServicePointUpdate
from zhishui.web.deps import ClockDep, SessionDep

router = APIRouter(prefix="/api/v1/org", tags=["org"], dependencies=[Depends(verify_csrf)])

Reader = Annotated[StaffPrincipal, Depends(require(Permission.ORG_READ))]
Manager = Annotated[StaffPrincipal, Depends(require(Permission.ORG_MANAGE))]


@router.get("/units", summary="机构与服务点列表")
def list_units(
    session: SessionDep,
    clock: ClockDep,
    staff: Reader,
    kind: Annotated[UnitKind | None, Query(description="只列出这一类机构")] = None,
) -> list[OrgUnitOut]:
    return service.list_units(session, staff, now=clock.now(), kind=kind)


@router.get("/units/{unit_id}", summary="机构详情")
def read_unit(unit_id: RowIdPath, session: SessionDep, clock: ClockDep, staff: Reader) -> OrgUnitOut:
    return service.get_unit(session, staff, unit_id, now=clock.now())


@router.post("/units", status_code=status.HTTP_201_CREATED, summary="新增机构或服务点")
def create_unit(body: OrgUnitCreate, session: SessionDep, clock: ClockDep, staff: Manager) -> OrgUnitOut:
    return service.create_unit(session, staff, body, now=clock.now())


@router.patch("/units/{unit_id}", summary="修改办税服务厅或服务点信息")
def update_unit(
    unit_id: RowIdPath, body: ServicePointUpdate, session: SessionDep, clock: ClockDep, staff: Manager
) -> OrgUnitOut:
    return service.update_place(session, staff, unit_id, body, now=clock.now())
