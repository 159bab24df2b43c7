from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhishui.kit.db import Base
from zhishui.org.models import _enum


class TaxpayerKind(enum.StrEnum):
    ENTERPRISE = "enterprise"  # 企业
    INDIVIDUAL_BUSINESS = "individual_business"  # 个体工商户
    NATURAL_PERSON = "natural_person"  # 自然人


TAXPAYER_KIND_LABELS = {
    TaxpayerKind.ENTERPRISE: "企业",
    TaxpayerKind.INDIVIDUAL_BUSINESS: "个体工商户",
    TaxpayerKind.NATURAL_PERSON: "自然人",
}


class Taxpayer(Base):
    __tablename__ = "taxpayer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The county bureau in charge (主管税务机关): the tenancy key.
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    kind: Mapped[TaxpayerKind] = mapped_column(_enum(TaxpayerKind, "taxpayer_kind"))
    tax_id: Mapped[str] = mapped_column(String(20), unique=True)
    # "uscc", "resident_id" or "legacy" (15/17/20-character numbers without a check digit)
    id_scheme: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120), index=True)
    created_at: Mapped[dt.datetime]


class TaxpayerPhone(Base):
    __tablename__ = "taxpayer_phone"
    __table_args__ = (UniqueConstraint("taxpayer_id", "phone"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    taxpayer_id: Mapped[int] = mapped_column(ForeignKey("taxpayer.id", ondelete="CASCADE"), index=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    label: Mapped[str] = mapped_column(String(32), default="")
