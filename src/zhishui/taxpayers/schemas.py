"""What the taxpayer API takes and gives. Output is masked unless the caller may see full details."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Annotated, cast

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from zhishui.kit.masking import mask_id, mask_name, mask_phone
from zhishui.kit.validators import PhoneStr, RowId, TaxIdScheme, TaxIdStr
from zhishui.taxpayers.models import TAXPAYER_KIND_LABELS, Taxpayer, TaxpayerKind, TaxpayerPhone

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
PhoneLabel = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]

ID_SCHEME_LABELS: dict[str, str] = {
    "uscc": "统一社会信用代码",
    "resident_id": "居民身份证号码",
    "legacy": "原纳税人识别号",
}


class PhoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: PhoneStr
    label: PhoneLabel = ""


class TaxpayerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tax_id: TaxIdStr
    name: Name
    # Left out, the kind follows from the id: a resident id is a natural person, a USCC with entity
    # type 2 an individual business, any other USCC or older number an enterprise.
    kind: TaxpayerKind | None = None
    # The bureau in charge; left out, the caller's county bureau.
    org_unit_id: RowId | None = None
    phones: list[PhoneIn] = Field(default_factory=list, max_length=10)


class PhoneOut(BaseModel):
    phone: str
    label: str


class TaxpayerOut(BaseModel):
    id: int
    tax_id: str
    id_scheme: TaxIdScheme
    id_scheme_label: str
    name: str
    kind: TaxpayerKind
    kind_label: str
    org_unit_id: int
    org_unit_name: str
    phones: list[PhoneOut]
    created_at: dt.datetime
    masked: bool = Field(description="true when names, phones and ids are shown masked (张*, 138****1234)")

    @classmethod
    def build(
        cls, taxpayer: Taxpayer, phones: Sequence[TaxpayerPhone], unit_name: str, *, full: bool
    ) -> TaxpayerOut:
        def show(value: str, mask: Callable[[str], str]) -> str:
            return value if full else mask(value)

        return cls(
            id=taxpayer.id,
            tax_id=show(taxpayer.tax_id, mask_id),
            id_scheme=cast(TaxIdScheme, taxpayer.id_scheme),
            id_scheme_label=ID_SCHEME_LABELS.get(taxpayer.id_scheme, taxpayer.id_scheme),
            name=show(taxpayer.name, mask_name),
            kind=taxpayer.kind,
            kind_label=TAXPAYER_KIND_LABELS[taxpayer.kind],
            org_unit_id=taxpayer.org_unit_id,
            org_unit_name=unit_name,
            phones=[PhoneOut(phone=show(p.phone, mask_phone), label=p.label) for p in phones],
            created_at=taxpayer.created_at,
            masked=not full,
        )


class TaxpayerPage(BaseModel):
    items: list[TaxpayerOut]
    total: int
    page: int
    size: int
    pages: int
