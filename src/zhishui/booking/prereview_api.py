"""JSON API of pre-review (预审): /api/v1/booking/pre-reviews/...

The taxpayer reaches their own booking's pre-review by the booking's token (signed in by phone; another
person's booking is 404 like a missing one). Reviewers (booking.review) see the pre-reviews of their
halls' subtree; a decision is a compare-and-set, so the second of two reviewers gets a 409.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from zhishui.booking import prereview as service
from zhishui.booking.models import PreReview, PreReviewFile
from zhishui.booking.policy import PRE_REVIEW_STATUS_LABELS, PreReviewStatus
from zhishui.booking.prereview_pages import (
    FileStoreDep,
    HallParam,
    Reviewer,
    TokenPath,
    stream_file,
    upload_limits,
)
from zhishui.booking.repository import PreReviewBooking, PreReviewRow
from zhishui.identity.deps import CurrentTaxpayer
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.masking import mask_phone
from zhishui.kit.validators import RowIdPath
from zhishui.web.deps import ClockDep, SessionDep, SettingsDep

router = APIRouter(
    prefix="/api/v1/booking/pre-reviews", tags=["booking"], dependencies=[Depends(verify_csrf)]
)


class FileOut(BaseModel):
    id: int
    name: str = Field(description="上传时的文件名（仅供显示）")
    content_type: str = Field(description="按文件内容判断的类型")
    size_bytes: int
    sha256: str
    uploaded_at: dt.datetime

    @classmethod
    def of(cls, f: PreReviewFile) -> FileOut:
        return cls(
            id=f.id,
            name=f.original_name,
            content_type=f.content_type,
            size_bytes=f.size_bytes,
            sha256=f.sha256,
            uploaded_at=f.uploaded_at,
        )


class BookingBrief(BaseModel):
    id: int
    code: str
    status: str
    hall_id: int
    hall: str
    matter: str
    slot_start: dt.datetime
    slot_end: dt.datetime
    phone: str = Field(description="脱敏手机号码")

    @classmethod
    def of(cls, b: PreReviewBooking) -> BookingBrief:
        return cls(
            id=b.id,
            code=b.code,
            status=b.status,
            hall_id=b.hall_id,
            hall=b.hall_name,
            matter=b.matter_name,
            slot_start=b.slot_start,
            slot_end=b.slot_end,
            phone=mask_phone(b.phone),
        )


class PreReviewOut(BaseModel):
    id: int
    status: PreReviewStatus
    status_label: str
    reason: str
    submitted_at: dt.datetime
    reviewed_at: dt.datetime | None
    files: list[FileOut] | None = None
    file_count: int | None = None
    booking: BookingBrief | None = None

    @classmethod
    def of(cls, p: PreReview, **extra: object) -> PreReviewOut:
        status = PreReviewStatus(p.status)
        return cls(
            id=p.id,
            status=status,
            status_label=PRE_REVIEW_STATUS_LABELS[status],
            reason=p.reason,
            submitted_at=p.submitted_at,
            reviewed_at=p.reviewed_at,
            **extra,
        )

    @classmethod
    def of_row(cls, row: PreReviewRow) -> PreReviewOut:
        return cls.of(row.pre_review, file_count=row.files, booking=BookingBrief.of(row.booking))


class MaterialsOut(BaseModel):
    booking: BookingBrief
    pre_review: PreReviewOut | None
    can_submit: bool
    refusal: str | None = Field(description="不能提交的原因")
    max_file_bytes: int
    files_left: int


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field("", max_length=1000, description="退回原因或需补充的材料（通过时不填）")
    seen_submitted_at: dt.datetime | None = Field(
        None, description="审核人看到的那次提交的时间；纳税人其后重新提交过则拒绝（409）"
    )


# --- the taxpayer -------------------------------------------------------------------------------------


def _materials_out(view: service.Materials) -> MaterialsOut:
    p = view.pre_review
    return MaterialsOut(
        booking=BookingBrief.of(view.booking),
        pre_review=PreReviewOut.of(p, files=[FileOut.of(f) for f in view.files]) if p else None,
        can_submit=view.can_submit,
        refusal=view.refusal.message if view.refusal else None,
        max_file_bytes=view.limits.max_file_bytes,
        files_left=view.files_left,
    )


@router.get("/by-booking/{token}", response_model=MaterialsOut)
def materials(
    token: TokenPath, session: SessionDep, clock: ClockDep, settings: SettingsDep, taxpayer: CurrentTaxpayer
) -> MaterialsOut:
    view = service.materials(
        session, token=token, phone=taxpayer.phone, limits=upload_limits(settings), now=clock.now()
    )
    return _materials_out(view)


@router.post("/by-booking/{token}/files", response_model=MaterialsOut, status_code=201)
def submit(
    token: TokenPath,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    store: FileStoreDep,
    taxpayer: CurrentTaxpayer,
    files: Annotated[list[UploadFile], File(description="PDF、JPG 或 PNG，按内容判断类型")],
) -> MaterialsOut:
    """提交预审 (or resubmit after a return or a request for more): all files are taken, or none."""
    limits = upload_limits(settings)
    now = clock.now()
    uploads = [service.Upload(f.filename or "", f.size, f.file) for f in files]
    service.submit_materials(
        session, store, token=token, phone=taxpayer.phone, uploads=uploads, limits=limits, now=now
    )
    return _materials_out(
        service.materials(session, token=token, phone=taxpayer.phone, limits=limits, now=now)
    )


@router.get("/by-booking/{token}/files/{file_id}", response_class=Response)
def taxpayer_file(
    token: TokenPath, file_id: RowIdPath, session: SessionDep, store: FileStoreDep, taxpayer: CurrentTaxpayer
) -> Response:
    found = service.file_of_taxpayer(session, token=token, phone=taxpayer.phone, file_id=file_id)
    return stream_file(store, found, inline=False)


# --- reviewers ----------------------------------------------------------------------------------------


@router.get("", response_model=list[PreReviewOut])
def queue(
    session: SessionDep,
    staff: Reviewer,
    status: Annotated[PreReviewStatus, Query()] = PreReviewStatus.SUBMITTED,
    hall_id: HallParam = None,
) -> list[PreReviewOut]:
    """Pre-reviews of the caller's halls in one state; waiting ones oldest first."""
    q = service.queue(session, staff, status=status, hall_id=hall_id)
    return [PreReviewOut.of_row(r) for r in q.rows]


@router.get("/{pre_review_id}", response_model=PreReviewOut)
def detail(pre_review_id: RowIdPath, session: SessionDep, staff: Reviewer) -> PreReviewOut:
    row = service.open_for_staff(session, staff, pre_review_id)
    files = [FileOut.of(f) for f in service.files_of(session, pre_review_id)]
    return PreReviewOut.of(
        row.pre_review, files=files, file_count=len(files), booking=BookingBrief.of(row.booking)
    )


@router.post("/{pre_review_id}/{action}", response_model=PreReviewOut)
def act(
    pre_review_id: RowIdPath,
    action: Literal["approve", "return", "request_more"],
    body: ReviewIn,
    session: SessionDep,
    clock: ClockDep,
    staff: Reviewer,
) -> PreReviewOut:
    changed = service.review(
        session,
        staff,
        pre_review_id,
        action,
        reason=body.reason,
        now=clock.now(),
        seen_submitted_at=body.seen_submitted_at,
    )
    return PreReviewOut.of(changed)


@router.get("/{pre_review_id}/files/{file_id}", response_class=Response)
def staff_file(
    pre_review_id: RowIdPath, file_id: RowIdPath, session: SessionDep, store: FileStoreDep, staff: Reviewer
) -> Response:
    found = service.file_for_staff(session, staff, pre_review_id, file_id)
    return stream_file(store, found, inline=False)
