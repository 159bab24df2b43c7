"""JSON API of taxpayers: /api/v1/taxpayers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.validators import RowIdPath
from zhishui.taxpayers import service
from zhishui.taxpayers.schemas import PhoneIn, TaxpayerCreate, TaxpayerOut, TaxpayerPage
from zhishui.web.deps import ClockDep, SessionDep

router = APIRouter(prefix="/api/v1/taxpayers", tags=["taxpayers"], dependencies=[Depends(verify_csrf)])

Reader = Annotated[StaffPrincipal, Depends(require(Permission.TAXPAYER_READ))]
Manager = Annotated[StaffPrincipal, Depends(require(Permission.TAXPAYER_MANAGE))]


@router.post("", status_code=status.HTTP_201_CREATED, summary="登记纳税人")
def create_taxpayer(
    body: TaxpayerCreate, session: SessionDep, clock: ClockDep, staff: Manager
) -> TaxpayerOut:
    """Register a taxpayer under the caller's county bureau (or a bureau within the caller's scope).
    409 when the tax id is already registered."""
    return service.register_taxpayer(session, staff, body, now=clock.now())


@router.get("", summary="查找纳税人")
def list_taxpayers(
    session: SessionDep,
    staff: Reader,
    q: Annotated[str, Query(max_length=100, description="识别号、名称或手机号码（部分即可）")] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=service.MAX_PAGE_SIZE)] = 20,
) -> TaxpayerPage:
    return service.search_taxpayers(session, staff, q, page=page, size=size)


@router.get("/{taxpayer_id}", summary="纳税人详情")
def read_taxpayer(taxpayer_id: RowIdPath, session: SessionDep, staff: Reader) -> TaxpayerOut:
    return service.get_taxpayer(session, staff, taxpayer_id)


@router.post("/{taxpayer_id}/phones", status_code=status.HTTP_201_CREATED, summary="添加手机号码")
def add_phone(taxpayer_id: RowIdPath, body: PhoneIn, session: SessionDep, staff: Manager) -> TaxpayerOut:
    return service.add_phone(session, staff, taxpayer_id, body)
