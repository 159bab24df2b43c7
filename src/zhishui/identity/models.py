from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhishui.kit.db import Base


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20), default="")
    password_hash: Mapped[str] = mapped_column(String(255), info={"audit": "secret"})
    active: Mapped[bool] = mapped_column(default=True)
    # Accounts made by `zhishui db seed-demo` with the demo password; production refuses to start with any.
    is_demo: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime]
    last_login_at: Mapped[dt.datetime | None]


class StaffRole(Base):
    __tablename__ = "staff_role"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class RolePermission(Base):
    """The permission table admins edit; seeded from identity.policy.DEFAULT_GRANTS."""

    __tablename__ = "role_permission"

    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    permission: Mapped[str] = mapped_column(String(64), primary_key=True)


class PermissionDefault(Base):
    """Permissions whose default grants were handed out once (see service.ensure_default_grants)."""

    __tablename__ = "permission_default"

    permission: Mapped[str] = mapped_column(String(64), primary_key=True)
    applied_at: Mapped[dt.datetime]


class WebSession(Base):
    """A server-side session. The cookie holds a random token; only its hash is stored."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, info={"audit": "secret"})
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    taxpayer_phone: Mapped[str | None] = mapped_column(String(20), index=True)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]


class LoginAttempt(Base):
    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    success: Mapped[bool]


class OtpCode(Base):
    """A one-time sign-in code sent to a taxpayer's phone."""

    __tablename__ = "otp_code"
    __table_args__ = (UniqueConstraint("phone", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), info={"audit": "secret"})
    created_at: Mapped[dt.datetime] = mapped_column(index=True)
    expires_at: Mapped[dt.datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    consumed_at: Mapped[dt.datetime | None]
