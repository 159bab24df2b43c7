"""Use cases of pre-review (预审): a taxpayer submits materials for their booking, staff review them.

    submit_materials(session, store, token=…, phone=…, uploads=[…], limits=…, now=…)   # the taxpayer
    review(session, staff, pre_review_id, "approve" | "return" | "request_more", reason=…, now=…)
    materials_verified(session, booking_id)            # for check-in: the visit's materials are verified

One pre-review per booking, created by an insert that ignores conflicts (two parallel first submissions:
one creates, the other is told it is under review). Every change of state is a compare-and-set on the
status (booking.policy.PRE_REVIEW_TRANSITIONS): of two reviewers acting at once one wins, the other gets a
409. Files are checked by their bytes before anything is written, written before their rows, and removed
again if the transaction rolls back (booking.prereview_storage). The taxpayer hears of every decision by
SMS through the outbox, so a rolled-back decision sends nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO, Literal

from sqlalchemy.orm import Session

from zhishui.audit.recorder import record
from zhishui.booking import prereview_policy as rules
from zhishui.booking.models import PreReview, PreReviewFile
from zhishui.booking.policy import PRE_REVIEW_TRANSITIONS, PreReviewStatus, Refusal
from zhishui.booking.prereview_storage import FileStore, FileTooLarge, remove_on_rollback
from zhishui.booking.repository import (
    BookingRepository,
    PreReviewBooking,
    PreReviewRepository,
    PreReviewRow,
)
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.errors import AppError, Conflict, InvalidInput, NotFound, TooLarge
from zhishui.kit.events import on_commit
from zhishui.notify.tasks import send_later

ReviewAction = Literal["approve", "return", "request_more"]

BOOKING_NOT_FOUND = "预约不存在"
PRE_REVIEW_NOT_FOUND = "预审记录不存在或不在您的管辖范围内"
FILE_NOT_FOUND = "文件不存在"


class UnsupportedType(AppError):
    status_code = 415
    code = "unsupported_type"


@dataclass(frozen=True)
class Upload:
    """One file of a submission as it arrived: the name the browser gave, the size the multipart parser
    counted (None: unknown), and its bytes."""

    name: str
    size: int | None
    source: BinaryIO


@dataclass(frozen=True)
class Materials:
    """What the taxpayer's materials page shows."""

    booking: PreReviewBooking
    pre_review: PreReview | None
    files: Sequence[PreReviewFile]
    refusal: Refusal | None  # why nothing can be submitted now (None: the upload form is open)
    limits: rules.UploadLimits

    @property
    def can_submit(self) -> bool:
        return self.refusal is None

    @property
    def files_left(self) -> int:
        return max(self.limits.max_files - len(self.files), 0)


def _refused(error: rules.UploadRefused) -> AppError:
    if error.status == 413:
        return TooLarge(error.message, code=error.code)
    if error.status == 415:
        return UnsupportedType(error.message, code=error.code)
    return InvalidInput("files", error.message)


def _conflict(refusal: Refusal) -> Conflict:
    return Conflict(refusal.message, code=refusal.code)


def materials_link(session: Session, token: str) -> str:
    return f"{session.info.get('public_url', '')}/booking/{token}/materials"


# --- the taxpayer's side -------------------------------------------------------------------------------


def booking_of_taxpayer(session: Session, token: str, phone: str) -> PreReviewBooking:
    """The booking behind `token` if it is the signed-in person's; someone else's is "not found", exactly
    like a token that does not exist."""
    booking = BookingRepository(session).pre_review_booking(token)
    if booking is None or booking.phone != phone:
        raise NotFound(BOOKING_NOT_FOUND)
    return booking


def materials(
    session: Session, *, token: str, phone: str, limits: rules.UploadLimits, now: dt.datetime
) -> Materials:
    booking = booking_of_taxpayer(session, token, phone)
    repo = PreReviewRepository(session)
    pre_review = repo.of_booking(booking.id)
    files = repo.files(pre_review.id) if pre_review else []
    refusal = rules.submit_problem(
        booking.status, booking.slot_start, now, pre_review.status if pre_review else None
    )
    if refusal is None and len(files) >= limits.max_files:
        refusal = rules.count_problem(len(files), 1, limits)
    return Materials(booking, pre_review, files, refusal, limits)


def _checked_uploads(uploads: Sequence[Upload], limits: rules.UploadLimits) -> list[tuple[Upload, str, str]]:
    """(upload, clean name, sniffed type) of every chosen file, or the first refusal."""
    out = []
    for upload in uploads:
        name = rules.clean_filename(upload.name)
        upload.source.seek(0)
        head = upload.source.read(rules.SNIFF_BYTES)
        upload.source.seek(0)
        try:
            kind = rules.upload_type(name, upload.size, head, limits)
        except rules.UploadRefused as exc:
            raise _refused(exc) from None
        out.append((upload, name, kind))
    return out


def chosen(uploads: Sequence[Upload]) -> list[Upload]:
    """The parts that carry a file: a form posted with nothing chosen sends one empty, nameless part."""
    return [u for u in uploads if u.name or u.size]


def submit_materials(
    session: Session,
    store: FileStore,
    *,
    token: str,
    phone: str,
    uploads: Sequence[Upload],
    limits: rules.UploadLimits,
    now: dt.datetime,
) -> PreReview:
    """Submit (or resubmit) materials for review: the files are added and the pre-review is "submitted".

    Refused with nothing written: someone else's booking (404), a booking not confirmed or whose slot has
    started, a pre-review under review or approved (409), no file, too many files (422), a file too large
    (413) or not a PDF/JPG/PNG by its content (415).
    """
    booking = booking_of_taxpayer(session, token, phone)
    repo = PreReviewRepository(session)
    pre_review = repo.of_booking(booking.id)
    seen = pre_review.status if pre_review else None
    if refusal := rules.submit_problem(booking.status, booking.slot_start, now, seen):
        raise _conflict(refusal)
    uploads = chosen(uploads)
    already = repo.file_count(pre_review.id) if pre_review else 0
    if refusal := rules.count_problem(already, len(uploads), limits):
        raise InvalidInput("files", refusal.message)
    checked = _checked_uploads(uploads, limits)

    # Take the row before counting its files again: our INSERT or UPDATE holds it to the end of the
    # transaction, so a parallel submission for the same booking waits, then finds it under review.
    if pre_review is None and repo.create_if_absent(booking.id, booking.hall_id, now):
        pre_review = repo.of_booking(booking.id)
        action = "submit"
    else:
        pre_review = pre_review or repo.of_booking(booking.id)
        assert pre_review is not None
        from_states, to = PRE_REVIEW_TRANSITIONS["resubmit"]
        changed = repo.compare_and_set(
            pre_review.id,
            from_states,
            {"status": to.value, "submitted_at": now},
            submitted_at=pre_review.submitted_at if seen else None,
        )
        if changed is None:
            session.refresh(pre_review)
            refusal = rules.submit_problem(booking.status, booking.slot_start, now, pre_review.status)
            raise _conflict(refusal or Refusal("changed", "预审状态已变化，请刷新页面后重试"))
        pre_review = changed
        action = "resubmit"
    assert pre_review is not None
    already = repo.file_count(pre_review.id)
    if refusal := rules.count_problem(already, len(checked), limits):
        raise InvalidInput("files", refusal.message)

    for upload, name, kind in checked:
        try:
            stored = store.save(upload.source, max_bytes=limits.max_file_bytes)
        except FileTooLarge:
            raise _refused(rules.too_large(name, limits)) from None
        remove_on_rollback(session, store, stored.name)
        repo.add_file(
            PreReviewFile(
                pre_review_id=pre_review.id,
                stored_name=stored.name,
                original_name=name,
                content_type=kind,
                size_bytes=stored.size,
                sha256=stored.sha256,
                uploaded_at=now,
            )
        )
    record(
        session,
        f"pre_review.{action}",
        entity="pre_review",
        entity_id=str(pre_review.id),
        detail={"booking_id": booking.id, "files": len(checked)},
    )
    session.flush()
    return pre_review


def file_of_taxpayer(session: Session, *, token: str, phone: str, file_id: int) -> PreReviewFile:
    booking = booking_of_taxpayer(session, token, phone)
    repo = PreReviewRepository(session)
    pre_review = repo.of_booking(booking.id)
    found = repo.file(pre_review.id, file_id) if pre_review else None
    if found is None:
        raise NotFound(FILE_NOT_FOUND)
    return found


# --- the reviewers' side -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Queue:
    status: PreReviewStatus
    rows: list[PreReviewRow]
    counts: dict[str, int]


def queue(
    session: Session, staff: StaffPrincipal, *, status: PreReviewStatus, hall_id: int | None = None
) -> Queue:
    """The pre-reviews of the caller's halls (their subtree), of bookings still ahead or in the hall."""
    repo = PreReviewRepository(session)
    states = rules.REVIEWABLE_BOOKINGS
    rows = repo.queue(staff.scope, status, booking_states=states, hall_id=hall_id)
    return Queue(status, rows, repo.counts(staff.scope, booking_states=states, hall_id=hall_id))


def open_for_staff(session: Session, staff: StaffPrincipal, pre_review_id: int) -> PreReviewRow:
    row = PreReviewRepository(session).in_scope(pre_review_id, staff.scope)
    if row is None:
        raise NotFound(PRE_REVIEW_NOT_FOUND)
    return row


def files_of(session: Session, pre_review_id: int) -> Sequence[PreReviewFile]:
    return PreReviewRepository(session).files(pre_review_id)


def file_for_staff(
    session: Session, staff: StaffPrincipal, pre_review_id: int, file_id: int
) -> PreReviewFile:
    open_for_staff(session, staff, pre_review_id)
    found = PreReviewRepository(session).file(pre_review_id, file_id)
    if found is None:
        raise NotFound(FILE_NOT_FOUND)
    return found


def review(
    session: Session,
    staff: StaffPrincipal,
    pre_review_id: int,
    action: ReviewAction,
    *,
    reason: str = "",
    now: dt.datetime,
    seen_submitted_at: dt.datetime | None = None,
) -> PreReview:
    """Approve, return (with a reason) or ask for more (with what): a compare-and-set from "submitted".

    `seen_submitted_at` is the submission the reviewer looked at: if the taxpayer resubmitted since, the
    decision is refused rather than applied to files the reviewer has not seen. The taxpayer is told by
    SMS (outbox) with the reason and a link to the materials page.
    """
    if action not in rules.REVIEW_ACTIONS:
        raise InvalidInput("action", "不支持的审核操作")
    row = open_for_staff(session, staff, pre_review_id)
    reason, problem = rules.clean_reason(action, reason)
    if problem:
        raise InvalidInput("reason", problem.message)
    if row.booking.status not in rules.REVIEWABLE_BOOKINGS:
        raise Conflict("该预约已取消或已结束，无需再审核", code="booking_state")
    from_states, to = PRE_REVIEW_TRANSITIONS[action]
    repo = PreReviewRepository(session)
    changed = repo.compare_and_set(
        pre_review_id,
        from_states,
        {"status": to.value, "reason": reason, "reviewer_id": staff.id, "reviewed_at": now},
        submitted_at=seen_submitted_at,
    )
    if changed is None:
        session.refresh(row.pre_review)
        raise Conflict(rules.review_conflict(row.pre_review.status), code="already_reviewed")
    booking = row.booking
    send_later(
        session,
        channel="sms",
        to=booking.phone,
        text=rules.review_sms(
            action,
            matter=booking.matter_name,
            hall=booking.hall_name,
            slot_start=booking.slot_start,
            reason=reason,
            link=materials_link(session, booking.token),
        ),
        now=now,
        template=f"pre_review_{action}",
    )
    record(
        session,
        f"pre_review.{action}",
        entity="pre_review",
        entity_id=str(pre_review_id),
        detail={"booking_id": booking.id, "reason": reason},
    )
    session.flush()
    return changed


# --- for check-in --------------------------------------------------------------------------------------


def approved_pre_review_id(session: Session, booking_id: int) -> int | None:
    """The booking's approved pre-review, if its materials passed review (for the visit's record)."""
    return PreReviewRepository(session).approved_id(booking_id)


def materials_verified(session: Session, booking_id: int) -> bool:
    """Whether the booking's materials were approved in pre-review: handling can skip checking them."""
    return approved_pre_review_id(session, booking_id) is not None


# --- housekeeping --------------------------------------------------------------------------------------


def purge_expired(session: Session, store: FileStore, *, now: dt.datetime, retention_days: int) -> int:
    """Delete the materials of bookings whose slot ended more than `retention_days` ago: they are
    personal data, kept only as long as a complaint about the visit could need them. The pre-review
    row (its decision and reviewer) stays. Rows go in this transaction, with one audit entry; the
    bytes only after it commits (a file left by a failure there is an orphan the sweep removes)."""
    expired = PreReviewRepository(session).files_of_slots_ended_before(
        now - dt.timedelta(days=retention_days)
    )
    if not expired:
        return 0
    PreReviewRepository(session).delete_files([file_id for file_id, _ in expired])
    record(
        session,
        "purge",
        entity="pre_review_file",
        detail={"files": len(expired), "retention_days": retention_days},
    )
    names = [name for _, name in expired]

    def delete_bytes() -> None:
        for name in names:
            store.delete(name)

    on_commit(session, delete_bytes)
    return len(expired)


def orphans(session: Session, store: FileStore, *, written_before: dt.datetime) -> list[str]:
    """Stored files no row refers to, written before `written_before` (later ones may belong to a
    transaction still running). Only a crash between writing a file and committing leaves these."""
    names = list(store.names(written_before=written_before))
    known: set[str] = set()
    repo = PreReviewRepository(session)
    for start in range(0, len(names), 500):
        known |= repo.stored_names(names[start : start + 500])
    return [n for n in names if n not in known]
