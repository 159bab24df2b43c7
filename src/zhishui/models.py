"""Every table, imported in one place so Alembic and the tests see the whole schema."""

from zhishui.audit.models import AuditEntry
from zhishui.catalog.models import Matter
from zhishui.identity.models import LoginAttempt, OtpCode, RolePermission, Staff, StaffRole, WebSession
from zhishui.kit.db import Base
from zhishui.notify.models import OutboxMessage
from zhishui.org.models import OrgUnit, service_point_matter
from zhishui.taxpayers.models import Taxpayer, TaxpayerPhone

__all__ = [
    "AuditEntry",
    "Base",
    "LoginAttempt",
    "Matter",
    "OrgUnit",
    "OtpCode",
    "OutboxMessage",
    "RolePermission",
    "Staff",
    "StaffRole",
    "Taxpayer",
    "TaxpayerPhone",
    "WebSession",
    "service_point_matter",
]
