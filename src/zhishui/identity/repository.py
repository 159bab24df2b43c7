from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, select

from zhishui.identity.models import RolePermission, Staff, StaffRole, WebSession
from zhishui.kit.repository import Repository


class StaffRepository(Repository[Staff]):
    model = Staff
    not_found_message = "人员不存在"

    def by_username(self, username: str) -> Staff | None:
        return self.get_one_or_none(select(Staff).where(Staff.username == username))

    def roles(self, staff_id: int) -> frozenset[str]:
        rows = self.session.execute(select(StaffRole.role).where(StaffRole.staff_id == staff_id)).scalars()
        return frozenset(rows)

    def roles_by_staff(self, staff_ids: Sequence[int]) -> dict[int, frozenset[str]]:
        out: dict[int, set[str]] = {sid: set() for sid in staff_ids}
        rows = self.session.execute(
            select(StaffRole.staff_id, StaffRole.role).where(StaffRole.staff_id.in_(staff_ids))
        )
        for staff_id, role in rows:
            out[staff_id].add(role)
        return {k: frozenset(v) for k, v in out.items()}

    def set_roles(self, staff_id: int, roles: set[str]) -> None:
        current = self.roles(staff_id)
        for role in current - roles:
            self.session.execute(
                delete(StaffRole).where(StaffRole.staff_id == staff_id, StaffRole.role == role)
            )
        for role in sorted(roles - current):
            self.session.add(StaffRole(staff_id=staff_id, role=role))
        self.session.flush()


class GrantRepository(Repository[RolePermission]):
    model = RolePermission

    def grants(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for role, perm in self.session.execute(select(RolePermission.role, RolePermission.permission)):
            out.setdefault(role, set()).add(perm)
        return out

    def permissions_for(self, roles: frozenset[str]) -> frozenset[str]:
        if not roles:
            return frozenset()
        rows = self.session.execute(
            select(RolePermission.permission).where(RolePermission.role.in_(sorted(roles)))
        ).scalars()
        return frozenset(rows)


class WebSessionRepository(Repository[WebSession]):
    model = WebSession

    def live_by_token_hash(self, token_hash: str, now: dt.datetime) -> WebSession | None:
        return self.get_one_or_none(
            select(WebSession).where(
                WebSession.token_hash == token_hash,
                WebSession.revoked_at.is_(None),
                WebSession.expires_at > now,
            )
        )
