"""Use cases of identity: sign-in, sessions, staff accounts."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from zhishui.audit.recorder import Actor, record, set_actor
from zhishui.config import Settings, UnsafeSettings
from zhishui.identity.models import OtpCode, Staff, WebSession
from zhishui.identity.passwords import hash_password, needs_rehash, verify_password
from zhishui.identity.policy import (
    HOUR,
    OTP_LENGTH,
    OTP_MAX_ATTEMPTS,
    ROLE_LABELS,
    Permission,
    Role,
    assignable_roles,
    grant_problems,
    login_decision,
    merge_roles,
    otp_request_decision,
    otp_text,
    password_problems,
    permissions_of,
    refusal_message,
)
from zhishui.identity.principal import StaffPrincipal
from zhishui.identity.repository import (
    GrantRepository,
    LoginAttemptRepository,
    OtpCodeRepository,
    StaffRepository,
    StaffScopedRepository,
    WebSessionRepository,
    lock_keys,
)
from zhishui.identity.schemas import StaffCreate, StaffEdit
from zhishui.identity.tokens import hash_token, new_session_token
from zhishui.kit.errors import AppError, NotFound, TooManyRequests
from zhishui.kit.masking import mask_phone
from zhishui.notify.tasks import send_later
from zhishui.org.policy import OrgScope
from zhishui.org.repository import OrgUnitRepository


def refuse_demo_accounts_outside_development(factory: sessionmaker[Session], settings: Settings) -> None:
    """Demo accounts share a published password: a production deployment must not start with any."""
    if settings.is_development:
        return
    with factory() as session:
        demo = session.execute(select(Staff.username).where(Staff.is_demo, Staff.active).limit(1)).scalar()
    if demo is not None:
        raise UnsafeSettings(
            f"demo account {demo!r} is active; disable demo accounts before running in production"
        )


def ensure_default_grants(session: Session, now: dt.datetime | None = None) -> int:
    """Hand out the default grants of every permission that never had them; returns rows offered.

    Each permission's defaults are applied once, then remembered: a permission added by a new version
    reaches its roles on the next start, and a grant an admin later removes stays removed. Several
    server processes starting at once may all do this: conflicting inserts are ignored.
    """
    from zhishui.identity.models import PermissionDefault, RolePermission
    from zhishui.identity.policy import default_grant_rows
    from zhishui.kit.db import insert_ignoring_conflicts

    applied = set(session.execute(select(PermissionDefault.permission)).scalars())
    rows = [{"role": r, "permission": p} for r, p in default_grant_rows() if p not in applied]
    insert_ignoring_conflicts(session, RolePermission, rows)
    stamp = now or dt.datetime.now(dt.UTC)
    new = sorted({row["permission"] for row in rows})
    insert_ignoring_conflicts(
        session, PermissionDefault, [{"permission": p, "applied_at": stamp} for p in new]
    )
    return len(rows)


# --- sessions --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewSession:
    """A session just opened: the raw token goes into the cookie and nowhere else."""

    token: str
    expires_at: dt.datetime
    max_age: int


def _open_session(
    session: Session,
    *,
    now: dt.datetime,
    hours: int,
    ip: str,
    user_agent: str,
    staff_id: int | None = None,
    taxpayer_phone: str | None = None,
) -> NewSession:
    token = new_session_token()
    expires_at = now + dt.timedelta(hours=hours)
    WebSessionRepository(session).add(
        WebSession(
            token_hash=hash_token(token),
            staff_id=staff_id,
            taxpayer_phone=taxpayer_phone,
            ip=ip[:64],
            user_agent=user_agent[:255],
            created_at=now,
            expires_at=expires_at,
        )
    )
    return NewSession(token=token, expires_at=expires_at, max_age=hours * 3600)


def sign_out(session: Session, *, token: str | None, ip: str, now: dt.datetime) -> None:
    """Revoke the session behind `token` (if it is live) and log the sign-out."""
    if not token:
        return
    sessions = WebSessionRepository(session)
    web_session = sessions.live_by_token_hash(hash_token(token), now)
    if web_session is None:
        return
    sessions.revoke(web_session.id, now)
    if web_session.staff_id is not None:
        member = StaffRepository(session).get(web_session.staff_id)
        unit_id = member.org_unit_id if member else None
        actor = Actor(f"staff:{web_session.staff_id}", org_unit_id=unit_id, ip=ip)
        record(session, "logout", entity="staff", entity_id=str(web_session.staff_id), actor=actor)
    elif web_session.taxpayer_phone:
        masked = mask_phone(web_session.taxpayer_phone)
        actor = Actor(f"taxpayer:{masked}", ip=ip)
        record(session, "logout", entity="taxpayer", entity_id=masked, actor=actor)


# --- staff sign-in ----------------------------------------------------------------------------------


class BadCredentials(AppError):
    status_code = 401
    code = "bad_credentials"


BAD_CREDENTIALS = "用户名或密码错误，请重新输入"


@functools.cache
def _dummy_hash() -> str:
    return hash_password("not-a-password-" + secrets.token_hex(8))


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: a new session, or the error to show (which is not raised, so that the
    failed attempt and its audit entry are committed)."""

    new_session: NewSession | None = None
    error: AppError | None = None
    staff_id: int | None = None


def sign_in_staff(
    session: Session,
    *,
    username: str,
    password: str,
    ip: str,
    user_agent: str,
    now: dt.datetime,
    settings: Settings,
    previous_token: str | None = None,
) -> SignIn:
    username = username.strip()[:64]
    attempts = LoginAttemptRepository(session)
    lock_keys(session, f"login:user:{username}", f"login:ip:{ip}")
    since = now - dt.timedelta(minutes=settings.login_window_minutes)
    decision = login_decision(
        attempts.username_failures(username, since),
        attempts.address_failures(ip, since),
        now,
        max_failures=settings.login_max_failures,
        window=dt.timedelta(minutes=settings.login_window_minutes),
    )
    if not decision.allowed:
        # Refused before the password is looked at: not an attempt, so it neither counts nor logs.
        return SignIn(error=TooManyRequests(refusal_message(decision, now), retry_after=decision.retry_after))

    staff_repo = StaffRepository(session)
    member = staff_repo.by_username(username) if username else None
    if member is None:
        verify_password(_dummy_hash(), password)  # same work as for a real account: no timing oracle
        reason = "unknown_user"
    elif not verify_password(member.password_hash, password):
        reason = "bad_password"
    elif not member.active:
        reason = "inactive"
    else:
        reason = ""
    attempts.record(username=username, ip=ip, at=now, success=not reason)
    if reason:
        actor = Actor("anonymous", org_unit_id=member.org_unit_id if member else None, ip=ip)
        record(
            session,
            "login_failed",
            entity="staff",
            entity_id=str(member.id) if member else "",
            detail={"reason": reason},
            actor=actor,
        )
        return SignIn(error=BadCredentials(BAD_CREDENTIALS))

    assert member is not None
    actor = Actor(f"staff:{member.id}", org_unit_id=member.org_unit_id, ip=ip)
    set_actor(session, actor)  # what follows is done by the member who just proved who they are
    if needs_rehash(member.password_hash):
        member.password_hash = hash_password(password)
    staff_repo.touch_login(member.id, now)
    sign_out(session, token=previous_token, ip=ip, now=now)
    new_session = _open_session(
        session, now=now, hours=settings.session_hours, ip=ip, user_agent=user_agent, staff_id=member.id
    )
    record(session, "login", entity="staff", entity_id=str(member.id), actor=actor)
    return SignIn(new_session=new_session, staff_id=member.id)


# --- taxpayer sign-in by one-time code --------------------------------------------------------------


def _code_hash(secret_key: str, phone: str, code: str) -> str:
    # Keyed, so that a leaked table cannot be reversed by trying all million codes.
    return hmac.new(secret_key.encode(), f"otp:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def request_otp(session: Session, *, phone: str, ip: str, now: dt.datetime, settings: Settings) -> None:
    """Issue a code for `phone` and queue the SMS; raises TooManyRequests past a rate limit."""
    codes = OtpCodeRepository(session)
    lock_keys(session, f"otp:phone:{phone}", f"otp:ip:{ip}")
    since = now - max(HOUR, dt.timedelta(seconds=settings.otp_resend_seconds))
    decision = otp_request_decision(
        codes.requested_for_phone(phone, since),
        codes.requested_from_address(ip, since),
        now,
        resend_seconds=settings.otp_resend_seconds,
        per_phone_per_hour=settings.otp_per_phone_per_hour,
        per_address_per_hour=settings.otp_per_address_per_hour,
    )
    if not decision.allowed:
        raise TooManyRequests(refusal_message(decision, now), retry_after=decision.retry_after)
    code = f"{secrets.randbelow(10**OTP_LENGTH):0{OTP_LENGTH}d}"
    codes.add(
        OtpCode(
            phone=phone,
            ip=ip[:64],
            code_hash=_code_hash(settings.secret_key, phone, code),
            created_at=now,
            expires_at=now + dt.timedelta(seconds=settings.otp_ttl_seconds),
        )
    )
    send_later(session, channel="sms", to=phone, text=otp_text(code, settings.otp_ttl_seconds), now=now)


def verify_otp(
    session: Session,
    *,
    phone: str,
    code: str,
    ip: str,
    user_agent: str,
    now: dt.datetime,
    settings: Settings,
    previous_token: str | None = None,
) -> SignIn:
    codes = OtpCodeRepository(session)
    otp = codes.newest_for_phone(phone)
    if otp is None:
        return SignIn(error=AppError("请先获取验证码", code="no_code"))
    if not codes.spend_attempt(otp.id, now, OTP_MAX_ATTEMPTS):
        return SignIn(error=AppError("验证码已失效，请重新获取", code="code_dead"))
    if not hmac.compare_digest(otp.code_hash, _code_hash(settings.secret_key, phone, code)):
        left = OTP_MAX_ATTEMPTS - codes.attempts(otp.id)
        if left > 0:
            return SignIn(error=AppError(f"验证码不正确，还可以再试 {left} 次", code="bad_code"))
        return SignIn(error=AppError("验证码错误次数过多，已失效，请重新获取", code="code_dead"))
    if not codes.consume(otp.id, now):
        return SignIn(error=AppError("验证码已失效，请重新获取", code="code_dead"))
    sign_out(session, token=previous_token, ip=ip, now=now)
    new_session = _open_session(
        session, now=now, hours=settings.session_hours, ip=ip, user_agent=user_agent, taxpayer_phone=phone
    )
    masked = mask_phone(phone)
    record(
        session, "otp_login", entity="taxpayer", entity_id=masked, actor=Actor(f"taxpayer:{masked}", ip=ip)
    )
    return SignIn(new_session=new_session)


# --- staff accounts ---------------------------------------------------------------------------------


class FormInvalid(AppError):
    """Field-by-field reasons a form was refused; pages show each beside its input."""

    status_code = 422
    code = "invalid"

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("；".join(errors.values()), extra={"fields": errors})
        self.errors = errors


@dataclass(frozen=True)
class Manager:
    """Who is changing accounts: a signed-in staff manager, or the command line (no limits)."""

    scope: OrgScope | None
    permissions: frozenset[str] | None
    staff_id: int | None = None

    @classmethod
    def of(cls, principal: StaffPrincipal) -> Manager:
        return cls(principal.scope, principal.permissions, principal.id)

    @classmethod
    def command_line(cls) -> Manager:
        return cls(None, None, None)


def manager_assignable_roles(session: Session, manager: Manager) -> frozenset[str]:
    if manager.permissions is None:
        return frozenset(r.value for r in Role)
    return assignable_roles(manager.permissions, GrantRepository(session).grants())


def _unit_problem(session: Session, manager: Manager, unit_id: int) -> str | None:
    if manager.scope is None:
        found = OrgUnitRepository(session).get(unit_id) is not None
    else:
        found = StaffScopedRepository(session, manager.scope).unit_in_scope(unit_id) is not None
    return None if found else "所属机构：不存在或不在您的管理范围内"


def _roles_problem(roles: Iterable[str], assignable: frozenset[str]) -> str | None:
    refused = [ROLE_LABELS[Role(r)] for r in roles if r not in assignable]
    return "角色：您不能分配以下角色：" + "、".join(refused) if refused else None


def create_staff(
    session: Session, manager: Manager, data: StaffCreate, *, password: str, now: dt.datetime
) -> Staff:
    """A new account; raises FormInvalid with every reason it cannot be made, before writing anything."""
    errors: dict[str, str] = {}
    staff_repo = StaffRepository(session)
    if staff_repo.by_username(data.username) is not None:
        errors["username"] = "用户名：已被使用，请换一个"
    if problem := _unit_problem(session, manager, data.org_unit_id):
        errors["org_unit_id"] = problem
    if problem := _roles_problem(data.roles, manager_assignable_roles(session, manager)):
        errors["roles"] = problem
    if problems := password_problems(password, username=data.username):
        errors["password"] = "密码：" + "；".join(problems)
    if errors:
        raise FormInvalid(errors)
    member = Staff(
        org_unit_id=data.org_unit_id,
        username=data.username,
        display_name=data.display_name,
        phone=data.phone,
        password_hash=hash_password(password),
        active=data.active,
        created_at=now,
    )
    # The check above gives the friendly message; the unique constraint decides a race between two
    # managers picking the same name at the same moment.
    try:
        with session.begin_nested():
            staff_repo.add(member)
    except IntegrityError as exc:
        raise FormInvalid({"username": "用户名：已被使用，请换一个"}) from exc
    staff_repo.set_roles(member.id, set(data.roles))
    return member


def _staff_in_scope(session: Session, manager: Manager, staff_id: int) -> Staff:
    if manager.scope is None:
        return StaffRepository(session).get_or_404(staff_id)
    member = StaffScopedRepository(session, manager.scope).get_in_scope(staff_id)
    if member is None:
        raise NotFound("人员不存在")  # outside the subtree looks the same as missing
    return member


def staff_for_edit(session: Session, manager: Manager, staff_id: int) -> tuple[Staff, frozenset[str]]:
    member = _staff_in_scope(session, manager, staff_id)
    return member, StaffRepository(session).roles(member.id)


def update_staff(
    session: Session, manager: Manager, staff_id: int, data: StaffEdit, *, now: dt.datetime
) -> Staff:
    member = _staff_in_scope(session, manager, staff_id)
    staff_repo = StaffRepository(session)
    current = staff_repo.roles(member.id)
    assignable = manager_assignable_roles(session, manager)
    errors: dict[str, str] = {}
    if member.org_unit_id != data.org_unit_id and (
        problem := _unit_problem(session, manager, data.org_unit_id)
    ):
        errors["org_unit_id"] = problem
    if problem := _roles_problem(set(data.roles) - current, assignable):
        errors["roles"] = problem
    roles = merge_roles(current, data.roles, assignable)
    if manager.staff_id == member.id:
        if not data.active:
            errors["active"] = "账号状态：不能停用自己的账号"
        grants = GrantRepository(session).grants()
        if Permission.STAFF_MANAGE.value not in permissions_of(roles, grants):
            errors["roles"] = "角色：不能取消自己的人员管理权限"
    if errors:
        raise FormInvalid(errors)
    member.display_name = data.display_name
    member.phone = data.phone
    member.org_unit_id = data.org_unit_id
    deactivated = member.active and not data.active
    member.active = data.active
    session.flush()
    if roles != current:
        staff_repo.set_roles(member.id, roles)
    if deactivated:
        WebSessionRepository(session).revoke_all_for_staff(member.id, now)
    return member


def reset_password(
    session: Session, manager: Manager, staff_id: int, *, password: str, confirm: str, now: dt.datetime
) -> Staff:
    """Set a new password and end the account's open sessions."""
    member = _staff_in_scope(session, manager, staff_id)
    errors: dict[str, str] = {}
    if problems := password_problems(password, username=member.username):
        errors["password"] = "新密码：" + "；".join(problems)
    elif password != confirm:
        errors["confirm"] = "确认密码：两次输入的密码不一致"
    if errors:
        raise FormInvalid(errors)
    member.password_hash = hash_password(password)
    session.flush()
    WebSessionRepository(session).revoke_all_for_staff(member.id, now)
    return member


def replace_grants(session: Session, principal: StaffPrincipal, new: set[tuple[str, str]]) -> tuple[int, int]:
    """Save the role × permission table; returns (added, removed). Raises FormInvalid when refused."""
    grants = GrantRepository(session)
    problems = grant_problems(new, grants.rows(), principal.permissions)
    if problems:
        raise FormInvalid({"grants": "；".join(problems)})
    return grants.replace(new)
