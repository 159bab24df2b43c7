"""Who is calling: the staff member or taxpayer behind the session cookie, and permission checks.

Every staff route declares what it needs with `require(Permission.X)`; a test walks all routes and
fails on any that has neither a permission nor a place on the public list.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from zhishui.audit.recorder import Actor, set_actor
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal, TaxpayerPrincipal
from zhishui.identity.repository import StaffRepository, WebSessionRepository
from zhishui.identity.tokens import SESSION_COOKIE, hash_token
from zhishui.kit.errors import NotAuthenticated, PermissionDenied
from zhishui.kit.masking import mask_phone
from zhishui.web.deps import ClockDep, SessionDep, client_ip


def _staff_from_cookie(request: Request, session: SessionDep, clock: ClockDep) -> StaffPrincipal | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    row = WebSessionRepository(session).signed_in_staff(hash_token(token), clock.now())
    if row is None:
        return None
    roles, permissions = StaffRepository(session).roles_and_permissions(row.id)
    principal = StaffPrincipal(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        org_unit_id=row.org_unit_id,
        org_unit_name=row.org_unit_name,
        org_path=row.org_path,
        roles=roles,
        permissions=permissions,
    )
    set_actor(session, Actor(principal.actor_label, org_unit_id=row.org_unit_id, ip=client_ip(request)))
    request.state.staff = principal
    return principal


def optional_staff(request: Request, session: SessionDep, clock: ClockDep) -> StaffPrincipal | None:
    cached = getattr(request.state, "staff", None)
    if isinstance(cached, StaffPrincipal):
        return cached
    return _staff_from_cookie(request, session, clock)


async def current_staff(staff: Annotated[StaffPrincipal | None, Depends(optional_staff)]) -> StaffPrincipal:
    if staff is None:
        raise NotAuthenticated("请先登录")
    return staff


OptionalStaff = Annotated[StaffPrincipal | None, Depends(optional_staff)]
CurrentStaff = Annotated[StaffPrincipal, Depends(current_staff)]


def require(*permissions: Permission) -> Callable[..., Awaitable[StaffPrincipal]]:
    """A dependency that lets the route run only for staff holding every one of `permissions`."""

    async def dependency(staff: CurrentStaff) -> StaffPrincipal:
        missing = [p for p in permissions if not staff.can(p)]
        if missing:
            raise PermissionDenied("您没有执行此操作的权限")
        return staff

    dependency.required_permissions = frozenset(permissions)  # type: ignore[attr-defined]
    return dependency


def optional_taxpayer(request: Request, session: SessionDep, clock: ClockDep) -> TaxpayerPrincipal | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    web_session = WebSessionRepository(session).live_by_token_hash(hash_token(token), clock.now())
    if web_session is None or web_session.taxpayer_phone is None:
        return None
    set_actor(session, Actor(f"taxpayer:{mask_phone(web_session.taxpayer_phone)}", ip=client_ip(request)))
    return TaxpayerPrincipal(session_id=web_session.id, phone=web_session.taxpayer_phone)


async def current_taxpayer(
    taxpayer: Annotated[TaxpayerPrincipal | None, Depends(optional_taxpayer)],
) -> TaxpayerPrincipal:
    if taxpayer is None:
        # Pages name the sign-in to send a browser to: taxpayer pages live outside /my too (/booking/…).
        raise NotAuthenticated("请先用手机验证码登录", extra={"login": "/my/login"})
    return taxpayer


CurrentTaxpayer = Annotated[TaxpayerPrincipal, Depends(current_taxpayer)]
