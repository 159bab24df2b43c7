"""Every query on taxpayers. Reads are scoped: a taxpayer is visible only inside its bureau's subtree."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from sqlalchemy import Select, or_, select

from zhishui.kit.repository import Page, Repository
from zhishui.org.models import OrgUnit
from zhishui.org.policy import OrgScope
from zhishui.taxpayers.models import Taxpayer, TaxpayerPhone

_NON_DIGITS = re.compile(r"\D")


def _search_terms(q: str) -> tuple[str, str, str]:
    """(text for names, upper-case id fragment, phone digits) from what someone typed."""
    text = unicodedata.normalize("NFKC", q).strip()
    compact = "".join(text.split()).upper()
    digits = _NON_DIGITS.sub("", text)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return text, compact, digits


class TaxpayerRepository(Repository[Taxpayer]):
    model = Taxpayer
    not_found_message = "纳税人不存在"

    def in_scope(self, scope: OrgScope) -> Select[Taxpayer]:
        return (
            select(Taxpayer)
            .join(OrgUnit, OrgUnit.id == Taxpayer.org_unit_id)
            .where(OrgUnit.path.like(scope.like_pattern))
        )

    def get_in_scope(self, taxpayer_id: int, scope: OrgScope) -> Taxpayer | None:
        return self.get_one_or_none(self.in_scope(scope).where(Taxpayer.id == taxpayer_id))

    def search(self, scope: OrgScope, q: str = "", *, page: int = 1, size: int = 20) -> Page[Taxpayer]:
        """Taxpayers in scope whose name contains `q`, whose id contains it (spaces and case ignored),
        or who have a phone containing its digits (4 or more)."""
        stmt = self.in_scope(scope)
        text, compact, digits = _search_terms(q)
        if text:
            conditions = [Taxpayer.name.contains(text, autoescape=True)]
            if compact.isalnum() and compact.isascii():
                conditions.append(Taxpayer.tax_id.contains(compact, autoescape=True))
            if len(digits) >= 4:
                conditions.append(
                    Taxpayer.id.in_(
                        select(TaxpayerPhone.taxpayer_id).where(
                            TaxpayerPhone.phone.contains(digits, autoescape=True)
                        )
                    )
                )
            stmt = stmt.where(or_(*conditions))
        return self.paginate(stmt.order_by(Taxpayer.id), page=page, size=size)

    def phones_by_taxpayer(self, taxpayer_ids: Sequence[int]) -> dict[int, list[TaxpayerPhone]]:
        out: dict[int, list[TaxpayerPhone]] = {tid: [] for tid in taxpayer_ids}
        if not taxpayer_ids:
            return out
        rows = self.session.execute(
            select(TaxpayerPhone)
            .where(TaxpayerPhone.taxpayer_id.in_(set(taxpayer_ids)))
            .order_by(TaxpayerPhone.taxpayer_id, TaxpayerPhone.id)
        ).scalars()
        for phone in rows:
            out.setdefault(phone.taxpayer_id, []).append(phone)
        return out

    def by_tax_id(self, tax_id: str) -> Taxpayer | None:
        return self.get_one_or_none(select(Taxpayer).where(Taxpayer.tax_id == tax_id))
