from __future__ import annotations

from dataclasses import dataclass

from zhishui.identity.policy import Permission
from zhishui.org.policy import OrgScope


@dataclass(frozen=True)
class StaffPrincipal:
    """The signed-in staff member as a request sees them."""

    id: int
    username: str
    display_name: str
    org_unit_id: int
    org_unit_name: str
    org_path: str
    roles: frozenset[str]
    permissions: frozenset[str]

    @property
    def scope(self) -> OrgScope:
        return OrgScope(self.org_path)

    def can(self, permission: Permission) -> bool:
        return permission.value in self.permissions

    @property
    def actor_label(self) -> str:
        return f"staff:{self.id}"


@dataclass(frozen=True)
class TaxpayerPrincipal:
    """A taxpayer signed in by a one-time code sent to this phone."""

    session_id: int
    phone: str
