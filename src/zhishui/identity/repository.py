from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Result, Row, Select, func, or_, select, text, update
from sqlalchemy.orm import Session

from zhishui.audit.models import AuditEntry
from zhishui.identity.models import LoginAttempt, OtpCode, RolePermission, Staff, StaffRole, WebSession
from zhishui.kit.repository import Repository
from zhishui.org.models import OrgUnit
from zhishui.org.policy import OrgScope


class StaffRepository(Repository[Staff]):
    model = Staff
    not_found_message = "人员不存在"

    def by_username(self, username: str) -> Staff | None:
        return self.get_one_or_none(select(Staff).where(Staff.username == username))

    def roles(self, staff_id: int) -> frozenset[str]:
        rows = self.session.execute(select(StaffRole.role).where(StaffRole.staff_id == staff_id)).scalars()
        return frozenset(rows)

    def roles_and_permissions(self, staff_id: int) -> tuple[frozenset[str], frozenset[str]]:
        """The staff member's roles and everything those roles grant, in one query."""
        rows = self.session.execute(
            select(StaffRole.role, RolePermission.permission)
            .outerjoin(RolePermission, RolePermission.role == StaffRole.role)
            .where(StaffRole.staff_id == staff_id)
        ).all()
        roles = frozenset(role for role, _ in rows)
        return roles, frozenset(permission for _, permission in rows if permission is not None)

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
        for role in sorted(current - roles):
            # ORM deletes (not a bulk DELETE) so that the audit log records each role taken away.
            link = self.session.get(StaffRole, (staff_id, role))
            if link is not None:
                self.session.delete(link)
        for role in sorted(roles - current):
            self.session.add(StaffRole(staff_id=staff_id, role=role))
        self.session.flush()

    def touch_login(self, staff_id: int, now: dt.datetime) -> None:
        """Stamp `last_login_at` with a plain UPDATE: a sign-in is audited as "login", not as an edit."""
        self.session.execute(
            update(Staff)
            .where(Staff.id == staff_id)
            .values(last_login_at=now)
            .execution_options(synchronize_session=False)
        )


class GrantRepository(Repository[RolePermission]):
    model = RolePermission

    def grants(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for role, perm in self.session.execute(select(RolePermission.role, RolePermission.permission)):
            out.setdefault(role, set()).add(perm)
        return out

    def rows(self) -> set[tuple[str, str]]:
        rows = self.session.execute(select(RolePermission.role, RolePermission.permission))
        return {(role, perm) for role, perm in rows}

    def replace(self, new: set[tuple[str, str]]) -> tuple[int, int]:
        """Make the table equal `new`, touching only the rows that change; returns (added, removed)."""
        old = self.rows()
        for role, perm in sorted(old - new):
            obj = self.session.get(RolePermission, (role, perm))
            if obj is not None:
                self.session.delete(obj)
        for role, perm in sorted(new - old):
            self.session.add(RolePermission(role=role, permission=perm))
        self.session.flush()
        return len(new - old), len(old - new)


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

    def signed_in_staff(self, token_hash: str, now: dt.datetime) -> Row[int, str, str, int, str, str] | None:
        """The active staff member behind a live session and their unit, in one query (every staff
        request asks this first, so it reads columns, not whole rows)."""
        return self.session.execute(
            select(
                Staff.id,
                Staff.username,
                Staff.display_name,
                OrgUnit.id.label("org_unit_id"),
                OrgUnit.name.label("org_unit_name"),
                OrgUnit.path.label("org_path"),
            )
            .join(WebSession, WebSession.staff_id == Staff.id)
            .join(OrgUnit, OrgUnit.id == Staff.org_unit_id)
            .where(
                WebSession.token_hash == token_hash,
                WebSession.revoked_at.is_(None),
                WebSession.expires_at > now,
                Staff.active.is_(True),
            )
        ).one_or_none()

    def revoke(self, session_id: int, now: dt.datetime) -> None:
        self.session.execute(
            update(WebSession)
            .where(WebSession.id == session_id, WebSession.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )

    def revoke_all_for_staff(self, staff_id: int, now: dt.datetime) -> None:
        self.session.execute(
            update(WebSession)
            .where(WebSession.staff_id == staff_id, WebSession.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )


def lock_keys(session: Session, *names: str) -> None:
    """Serialise transactions that check-then-write the same rate-limit keys (PostgreSQL).

    Each name becomes a transaction-level advisory lock, taken in sorted order so two callers never
    wait on each other in a cycle. SQLite transactions already hold the database's write lock from
    BEGIN IMMEDIATE, so nothing is needed there.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for name in sorted(set(names)):
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


class StaffScopedRepository(StaffRepository):
    """Staff as a manager sees them: only those in the manager's org subtree."""

    def __init__(self, session: Session, scope: OrgScope) -> None:
        super().__init__(session)
        self.scope = scope

    def search(self, *, q: str = "", active: bool | None = None) -> Select[Staff]:
        stmt = (
            select(Staff)
            .join(OrgUnit, OrgUnit.id == Staff.org_unit_id)
            .where(OrgUnit.path.like(self.scope.like_pattern))
        )
        q = q.strip()
        if q:
            stmt = stmt.where(
                or_(
                    Staff.username.icontains(q, autoescape=True),
                    Staff.display_name.icontains(q, autoescape=True),
                    Staff.phone.contains(q, autoescape=True),
                )
            )
        if active is not None:
            stmt = stmt.where(Staff.active.is_(active))
        return stmt.order_by(OrgUnit.path, Staff.username)

    def get_in_scope(self, staff_id: int) -> Staff | None:
        return self.get_one_or_none(
            select(Staff)
            .join(OrgUnit, OrgUnit.id == Staff.org_unit_id)
            .where(Staff.id == staff_id, OrgUnit.path.like(self.scope.like_pattern))
        )

    def units(self) -> Sequence[OrgUnit]:
        return (
            self.session.execute(
                select(OrgUnit).where(OrgUnit.path.like(self.scope.like_pattern)).order_by(OrgUnit.path)
            )
            .scalars()
            .all()
        )

    def unit_in_scope(self, unit_id: int) -> OrgUnit | None:
        return self.session.execute(
            select(OrgUnit).where(OrgUnit.id == unit_id, OrgUnit.path.like(self.scope.like_pattern))
        ).scalar_one_or_none()


def units_by_id(session: Session, ids: Iterable[int]) -> dict[int, OrgUnit]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(select(OrgUnit).where(OrgUnit.id.in_(wanted))).scalars()
    return {unit.id: unit for unit in rows}


def staff_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(select(Staff.id, Staff.display_name).where(Staff.id.in_(wanted)))
    return {staff_id: name for staff_id, name in rows}


class LoginAttemptRepository(Repository[LoginAttempt]):
    model = LoginAttempt

    def record(self, *, username: str, ip: str, at: dt.datetime, success: bool) -> None:
        self.session.add(LoginAttempt(username=username[:64], ip=ip[:64], at=at, success=success))
        self.session.flush()

    def username_failures(self, username: str, since: dt.datetime) -> list[dt.datetime]:
        """Failures for `username` after `since` and after its last successful sign-in."""
        last_success = (
            select(func.max(LoginAttempt.at))
            .where(LoginAttempt.username == username, LoginAttempt.success.is_(True))
            .scalar_subquery()
        )
        stmt = select(LoginAttempt.at).where(
            LoginAttempt.username == username,
            LoginAttempt.success.is_(False),
            LoginAttempt.at > since,
            or_(last_success.is_(None), LoginAttempt.at > last_success),
        )
        return list(self.session.execute(stmt).scalars())

    def address_failures(self, ip: str, since: dt.datetime) -> list[dt.datetime]:
        stmt = select(LoginAttempt.at).where(
            LoginAttempt.ip == ip, LoginAttempt.success.is_(False), LoginAttempt.at > since
        )
        return list(self.session.execute(stmt).scalars())


class OtpCodeRepository(Repository[OtpCode]):
    model = OtpCode

    def requested_for_phone(self, phone: str, since: dt.datetime) -> list[dt.datetime]:
        stmt = select(OtpCode.created_at).where(OtpCode.phone == phone, OtpCode.created_at > since)
        return list(self.session.execute(stmt).scalars())

    def requested_from_address(self, ip: str, since: dt.datetime) -> list[dt.datetime]:
        stmt = select(OtpCode.created_at).where(OtpCode.ip == ip, OtpCode.created_at > since)
        return list(self.session.execute(stmt).scalars())

    def newest_for_phone(self, phone: str) -> OtpCode | None:
        """Only the newest code of a phone counts: asking for a new one retires the earlier ones."""
        return self.get_one_or_none(
            select(OtpCode).where(OtpCode.phone == phone).order_by(OtpCode.created_at.desc()).limit(1)
        )

    def spend_attempt(self, code_id: int, now: dt.datetime, max_attempts: int) -> bool:
        """Count one try against a live code, atomically; False when the code is used up or expired.

        The try is counted before the code is compared, so parallel guesses cannot share one attempt.
        """
        result = self.session.execute(
            update(OtpCode)
            .where(
                OtpCode.id == code_id,
                OtpCode.consumed_at.is_(None),
                OtpCode.expires_at > now,
                OtpCode.attempts < max_attempts,
            )
            .values(attempts=OtpCode.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    def consume(self, code_id: int, now: dt.datetime) -> bool:
        result = self.session.execute(
            update(OtpCode)
            .where(OtpCode.id == code_id, OtpCode.consumed_at.is_(None))
            .values(consumed_at=now)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    def attempts(self, code_id: int) -> int:
        return int(self.session.execute(select(OtpCode.attempts).where(OtpCode.id == code_id)).scalar_one())


def _rowcount(result: Result[Any]) -> int:
    return int(getattr(result, "rowcount", 0))


class AuditLogRepository(Repository[AuditEntry]):
    """Audit entries a reader may see: those of actors in their subtree (and, at the top of the tree,
    entries that belong to no unit). Lives here until the audit package has a repository of its own."""

    def __init__(self, session: Session, scope: OrgScope, *, include_unattributed: bool) -> None:
        super().__init__(session)
        self.scope = scope
        self.include_unattributed = include_unattributed

    model = AuditEntry

    def _visible(self) -> ColumnElement[bool]:
        in_scope = AuditEntry.org_unit_id.in_(
            select(OrgUnit.id).where(OrgUnit.path.like(self.scope.like_pattern))
        )
        if self.include_unattributed:
            return or_(in_scope, AuditEntry.org_unit_id.is_(None))
        return in_scope

    def newest(self, *, action: str = "") -> Select[AuditEntry]:
        stmt = select(AuditEntry).where(self._visible())
        if action:
            stmt = stmt.where(AuditEntry.action == action)
        return stmt.order_by(AuditEntry.id.desc())

    def actions(self) -> list[str]:
        stmt = select(AuditEntry.action).where(self._visible()).distinct().order_by(AuditEntry.action)
        return list(self.session.execute(stmt).scalars())
