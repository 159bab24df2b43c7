"""The queries the channel endpoints need of their own: which unit receives channel traffic, and
what a web visitor's chat window shows."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from zhishui.center.models import Channel, ContactIdentity, Direction, RequestMessage, ServiceRequest
from zhishui.kit.repository import Repository
from zhishui.org.models import OrgUnit, UnitKind


class ReceivingUnitRepository(Repository[OrgUnit]):
    model = OrgUnit
    not_found_message = "智税中心不存在"

    def by_code(self, code: str) -> OrgUnit | None:
        return self.get_one_or_none(select(OrgUnit).where(OrgUnit.code == code, OrgUnit.active.is_(True)))

    def first_tax_center(self) -> OrgUnit | None:
        return self.get_one_or_none(
            select(OrgUnit)
            .where(OrgUnit.kind == UnitKind.TAX_CENTER, OrgUnit.active.is_(True))
            .order_by(OrgUnit.id)
            .limit(1)
        )


class VisitorRepository(Repository[ContactIdentity]):
    """A web visitor's side of the conversation: what they wrote and what the center answered."""

    model = ContactIdentity

    def identity(self, center_id: int, visitor_id: str) -> ContactIdentity | None:
        return self.get_one_or_none(
            select(ContactIdentity).where(
                ContactIdentity.org_unit_id == center_id,
                ContactIdentity.channel == Channel.WEB,
                ContactIdentity.external_id == visitor_id,
            )
        )

    def latest_request(self, identity_id: int) -> ServiceRequest | None:
        stmt = (
            select(ServiceRequest)
            .where(ServiceRequest.identity_id == identity_id)
            .order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
            .limit(1)
        )
        return self.session.execute(stmt).scalars().first()

    def conversation(self, identity_id: int, *, after_id: int, limit: int = 200) -> Sequence[RequestMessage]:
        """Messages in and out on every request of this visitor, never internal notes or events."""
        stmt = (
            select(RequestMessage)
            .join(ServiceRequest, ServiceRequest.id == RequestMessage.request_id)
            .where(
                ServiceRequest.identity_id == identity_id,
                RequestMessage.direction.in_((Direction.INBOUND, Direction.OUTBOUND)),
                RequestMessage.id > after_id,
            )
            .order_by(RequestMessage.id)
            .limit(limit)
        )
        return self.session.execute(stmt).scalars().all()
