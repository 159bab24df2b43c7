"""Pre-review use cases on SQLite and PostgreSQL: submitting materials (all or nothing), the review
queue by subtree, the three decisions and what the taxpayer is told, and what check-in reads."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.booking_factories import (
    NOW,
    OTHER_PHONE,
    PHONE,
    TOMORROW_10,
    PreReviewWorld,
    add_booking,
    jpeg_bytes,
    pdf_bytes,
    png_bytes,
    prereview_world,
    zip_bytes,
)
from zhishui.audit.models import AuditEntry
from zhishui.booking import prereview as service
from zhishui.booking.models import Booking, PreReview, PreReviewFile
from zhishui.booking.policy import BookingStatus, PreReviewStatus
from zhishui.booking.prereview_policy import UploadLimits
from zhishui.booking.prereview_storage import LocalFileStore
from zhishui.identity.models import Staff
from zhishui.identity.principal import StaffPrincipal
from zhishui.identity.repository import StaffRepository
from zhishui.kit.errors import Conflict, InvalidInput, NotFound, TooLarge
from zhishui.notify.models import OutboxMessage
from zhishui.org.models import OrgUnit

LIMITS = UploadLimits(max_file_bytes=64 * 1024, max_files=3)


@pytest.fixture
def world(session: Session) -> PreReviewWorld:
    w = prereview_world(session)
    session.commit()
    return w


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalFileStore]:
    yield LocalFileStore(tmp_path / "uploads")


def principal(session: Session, username: str) -> StaffPrincipal:
    member = session.execute(select(Staff).where(Staff.username == username)).scalar_one()
    unit = session.get(OrgUnit, member.org_unit_id)
    assert unit is not None
    roles, permissions = StaffRepository(session).roles_and_permissions(member.id)
    return StaffPrincipal(
        id=member.id,
        username=member.username,
        display_name=member.display_name,
        org_unit_id=unit.id,
        org_unit_name=unit.name,
        org_path=unit.path,
        roles=roles,
        permissions=permissions,
    )


def upload(name: str, data: bytes, size: int | None = -1) -> service.Upload:
    return service.Upload(name, len(data) if size == -1 else size, io.BytesIO(data))


def submit(
    session: Session, store: LocalFileStore, booking: Booking, *files: service.Upload, phone: str = PHONE
) -> PreReview:
    return service.submit_materials(
        session, store, token=booking.token, phone=phone, uploads=list(files), limits=LIMITS, now=NOW
    )


def stored_files(store: LocalFileStore) -> list[Path]:
    return [p for p in store.root.rglob("*") if p.is_file()] if store.root.exists() else []


def rows(session: Session, model: type) -> int:
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def sms_to(session: Session, phone: str) -> list[str]:
    messages = session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars()
    return [m.payload["text"] for m in messages if m.payload.get("to") == phone]


# --- submitting ----------------------------------------------------------------------------------------


def test_a_taxpayer_submits_a_pdf_a_png_and_a_jpeg_for_their_booking(
    session: Session, world: PreReviewWorld, store: LocalFileStore
) -> None:
    booking = add_booking(session, world.hall_a, world.queue_a)
    data = {"合同.pdf": pdf_bytes(), "身份证.png": png_bytes(), "房产证.jpg": jpeg_bytes()}
    pre = submit(session, store, booking, *(upload(n, d) for n, d in data.items()))
    session.commit()

    assert (pre.status, pre.booking_id, pre.hall_id, pre.submitted_at) == (
        "submitted",
        booking.id,
        world.hall_a,
        NOW,
    )
    files = service.files_of(session, pre.id)
    assert [(f.original_name, f.content_type) for f in files] == [
        ("合同.pdf", "application/pdf"),
        ("身份证.png", "image/png"),
        ("房产证.jpg", "image/jpeg"),
    ]
    for f in files:
        with store.open(f.stored_name) as handle:
            assert handle.read() == data[f.original_name]
        assert f.size_bytes == len(data[f.original_name])
    assert len(stored_files(store)) == 3
    actions = session.execute(select(AuditEntry.action).where(AuditEntry.entity == "pre_review")).scalars()
    assert "pre_review.submit" in set(actions)


@pytest.mark.parametrize(
    ("files", "error", "status"),
    [
        ([("合同.pdf", pdf_bytes()), ("申请表.pdf", zip_bytes())], "文件类型不符", 415),
        ([("照片.png", png_bytes()), ("大.pdf", b"%PDF-" + b"x" * (64 * 1024))], "过大", 413),
        ([("空.pdf", b"")], "空文件", 422),
        ([(f"{i}.pdf", pdf_bytes()) for i in range(4)], "最多上传 3 个文件", 422),
    ],
    ids=["renamed zip", "too large", "empty", "too many"],
)
def test_a_refused_file_leaves_nothing_behind(
    session: Session,
    world: PreReviewWorld,
    store: LocalFileStore,
    files: list[tuple[str, bytes]],
    error: str,
    status: int,
) -> None:
    booking = add_booking(session, world.hall_a, world.queue_a)
    session.commit()
    with pytest.raises((TooLarge, InvalidInput, service.UnsupportedType)) as refused:
        submit(session, store, booking, *(upload(n, d) for n, d in files))
    session.rollback()
    assert error in refused.value.message
    assert refused.value.status_code == status
    assert (rows(session, PreReview), rows(session, PreReviewFile)) == (0, 0)
    assert stored_files(store) == []


def test_a_file_larger_than_it_claimed_is_caught_while_writing_and_rolled_back(
    session: Session, world: PreReviewWorld, store: LocalFileStore
) -> None:
    booking = add_booking(session, world.hall_a, world.queue_a)
    session.commit()
    liar = upload("小.pdf", b"%PDF-" + b"x" * (64 * 1024), size=100)
    with pytest.raises(TooLarge):
        submit(session, store, booking, upload("先.png", png_bytes()), liar)
    session.rollback()
    # the PNG before it was written to disk, then removed with the rollback
    assert (rows(session, PreReview), rows(session, PreReviewFile), stored_files(store)) == (0, 0, [])


def test_when_the_commit_fails_the_written_files_are_removed(
    session: Session, world: PreReviewWorld, store: LocalFileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    booking = add_booking(session, world.hall_a, world.queue_a)
    session.commit()
    submit(session, store, booking, upload("合同.pdf", pdf_bytes()))
    assert len(stored_files(store)) == 1
    # A constraint the database checks only at commit time stands in for any failing commit.
    session.add(PreReviewFile(pre_review_id=10**6, stored_name="x", original_name="x", content_type="x",
                              size_bytes=1, sha256="x", uploaded_at=NOW))  # fmt: skip
    with pytest.raises(Exception):  # noqa: B017 - the database's own integrity error
        session.commit()
    session.rollback()
    assert (rows(session, PreReview), stored_files(store)) == (0, [])


def test_someone_elses_booking_is_not_found_and_nothing_is_written(
    session: Session, world: PreReviewWorld, store: LocalFileStore
) -> None:
    booking = add_booking(session, world.hall_a, world.queue_a, phone=OTHER_PHONE)
    session.commit()
    with pytest.raises(NotFound) as missing:
        submit(session, store, booking, upload("合同.pdf", pdf_bytes()), phone=PHONE)
    assert missing.value.message == "预约不存在"
    with pytest.raises(NotFound):
        service.materials(session, token="no-such-token", phone=PHONE, limits=LIMITS, now=NOW)
    assert stored_files(store) == []


@pytest.mark.parametrize("status", [BookingStatus.CANCELLED, BookingStatus.CHECKED_IN, BookingStatus.NO_SHOW])
def test_only_a_confirmed_booking_takes_materials(
    session: Session, world: PreReviewWorld, store: LocalFileStore, status: BookingStatus
) -> None:
    booking = add_booking(session, world.hall_a, world.queue_a, status=status)
    session.commit()
    with pytest.raises(Conflict) as refused:
        submit(session, store, booking, upload("合同.pdf", pdf_bytes()))
    assert refused.value.code == "booking_state"


def test_materials_are_refused_once_the_slot_has_started(
    session: Session, world: PreReviewWorld, store: LocalFileStore
) -> None:
    booking = add_booking(session, world.hall_a, world.queue_a, starts_at=NOW - dt.timedelta(minutes=1))
    session.commit()
    with pytest.raises(Conflict) as refused:
        submit(session, store, booking, upload("合同.pdf", pdf_bytes()))
    assert refused.value.code == "slot_started"


def test_nothing_is_added_while_under_review(
    session: Session, world: PreReviewWorld, store: LocalFileStore
) -> None:
    booking = add_booking(session, world.hall_a, world.queue_a)
    submit(session, store, booking, upload("合同.pdf", pdf_bytes()))
    session.commit()
    with pytest.raises(Conflict) as refused:
        submit(session, store, booking, upload("补充.pdf", pdf_bytes()))
    session.rollback()
    assert refused.value.code == "under_review"
    assert rows(session, PreReviewFile) == 1 and len(stored_files(store)) == 1


# --- reviewing -----------------------------------------------------------------------------------------


def _pre_id(session: Session, booking: Booking) -> int:
    return int(session.execute(select(PreReview.id).where(PreReview.booking_id == booking.id)).scalar_one())


def _submitted(session: Session, world: PreReviewWorld, store: LocalFileStore, **kw: object) -> Booking:
    booking = add_booking(session, world.hall_a, world.queue_a, **kw)  # type: ignore[arg-type]
    submit(session, store, booking, upload("合同.pdf", pdf_bytes()), phone=booking.phone)
    session.commit()
    return booking


def test_the_queue_lists_submitted_pre_reviews_of_the_callers_subtree_oldest_first(
    session: Session, world: PreReviewWorld, store: LocalFileStore
) -> None:
    later = add_booking(session, world.hall_a, world.queue_a, starts_at=NOW + dt.timedelta(hours=3))
    service.submit_materials(
        session, store, token=later.token, phone=PHONE, uploads=[upload("a.pdf", pdf_bytes())],
        limits=LIMITS, now=NOW + dt.timedelta(minutes=5),
    )  # fmt: skip
    first = add_booking(session, world.hall_a, world.queue_a, starts_at=NOW + dt.timedelta(days=2))
    submit(session, store, first, upload("b.pdf", pdf_bytes()), upload("c.png", png_bytes()))
    in_b = add_booking(session, world.hall_b, world.queue_b)
    submit(session, store, in_b, upload("d.pdf", pdf_bytes()))
    cancelled = add_booking(session, world.hall_a, world.queue_a)
    submit(session, store, cancelled, upload("e.pdf", pdf_bytes()))
    session.flush()
    cancelled.status = BookingStatus.CANCELLED.value
    session.commit()

    for username in (world.reviewer_a, world.county_reviewer):
        q = service.queue(session, principal(session, username), status=PreReviewStatus.SUBMITTED)
        assert [r.booking.id for r in q.rows] == [first.id, later.id]  # by submission, not by slot
        assert [r.files for r in q.rows] == [2, 1]
        assert q.counts == {"submitted": 2}
    q_b = service.queue(session, principal(session, world.reviewer_b), status=PreReviewStatus.SUBMITTED)
    assert [r.booking.id for r in q_b.rows] == [in_b.id]


def test_a_pre_review_of_another_county_is_not_found(
    session: Session, world: PreReviewWorld, store: LocalFileStore
) -> None:
    booking = _submitted(session, world, store)
    pre_id = _pre_id(session, booking)
    outsider = principal(session, world.reviewer_b)
    with pytest.raises(NotFound):
        service.open_for_staff(session, outsider, pre_id)
    with pytest.raises(NotFound):
        service.review(session, outsider, pre_id, "approve", now=NOW)
    files = service.files_of(session, pre_id)
    with pytest.raises(NotFound):
        service.file_for_staff(session, outsider, pre_id, files[0].id)


def test_approving_marks_the_materials_verified_and_tells_the_taxpayer(
    session: Session, world: PreReviewWorld, store: LocalFileStore
) -> None:
    booking = _submitted(session, world, store)
    pre_id = _pre_id(session, booking)
    assert not service.materials_verified(session, booking.id)
    reviewer = principal(session, world.reviewer_a)
    done = service.review(session, reviewer, pre_id, "approve", reason="ignored", now=NOW)
    session.commit()
    assert (done.status, done.reviewer_id, done.reviewed_at, done.reason) == (
        "approved",
        reviewer.id,
        NOW,
        "",
    )
    assert service.materials_verified(session, booking.id)
    assert service.approved_pre_review_id(session, booking.id) == pre_id
    [text] = sms_to(session, PHONE)
    assert "预审已通过" in text
    assert "pre_review.approve" in set(session.execute(select(AuditEntry.action)).scalars())


@pytest.mark.parametrize(
    ("action", "status", "words"),
    [
        ("return", "returned", "被退回，原因：合同缺第3页"),
        ("request_more", "more_requested", "需要补充材料：合同缺第3页"),
    ],
)
def test_returning_or_asking_for_more_tells_the_taxpayer_why_and_lets_them_resubmit(
    session: Session, world: PreReviewWorld, store: LocalFileStore, action: str, status: str, words: str
) -> None:
    booking = _submitted(session, world, store)
    pre_id = _pre_id(session, booking)
    reviewer = principal(session, world.reviewer_a)
    with pytest.raises(InvalidInput) as no_reason:
        service.review(session, reviewer, pre_id, action, reason=" ", now=NOW)  # type: ignore[arg-type]
    assert no_reason.value.field == "reason"
    session.rollback()
    assert sms_to(session, PHONE) == []

    done = service.review(session, reviewer, pre_id, action, reason="合同缺第3页", now=NOW)  # type: ignore[arg-type]
    session.commit()
    assert (done.status, done.reason) == (status, "合同缺第3页")
    assert not service.materials_verified(session, booking.id)
    [text] = sms_to(session, PHONE)
    assert words in text and f"/booking/{booking.token}/materials" in text

    view = service.materials(session, token=booking.token, phone=PHONE, limits=LIMITS, now=NOW)
    assert view.can_submit and view.files_left == 2
    later = NOW + dt.timedelta(minutes=10)
    again = service.submit_materials(
        session, store, token=booking.token, phone=PHONE, uploads=[upload("第3页.png", png_bytes())],
        limits=LIMITS, now=later,
    )  # fmt: skip
    session.commit()
    assert (again.id, again.status, again.submitted_at) == (pre_id, "submitted", later)
    assert [f.original_name for f in service.files_of(session, pre_id)] == ["合同.pdf", "第3页.png"]
    # the reviewer sees what was asked last time beside the new files
    assert again.reason == "合同缺第3页"


def test_a_decision_on_a_submission_the_reviewer_did_not_see_is_refused(
    session: Session, world: PreReviewWorld, store: LocalFileStore
) -> None:
    booking = _submitted(session, world, store)
    pre_id = _pre_id(session, booking)
    reviewer = principal(session, world.reviewer_a)
    seen_first = NOW
    service.review(session, reviewer, pre_id, "request_more", reason="缺身份证", now=NOW)
    session.commit()
    resubmitted = NOW + dt.timedelta(minutes=5)
    service.submit_materials(
        session, store, token=booking.token, phone=PHONE, uploads=[upload("身份证.png", png_bytes())],
        limits=LIMITS, now=resubmitted,
    )  # fmt: skip
    session.commit()
    # A second reviewer's page, opened before the resubmission, tries to return the old submission.
    with pytest.raises(Conflict):
        service.review(
            session, reviewer, pre_id, "return", reason="旧的", now=NOW, seen_submitted_at=seen_first
        )
    session.rollback()
    ok = service.review(session, reviewer, pre_id, "approve", now=NOW, seen_submitted_at=resubmitted)
    assert ok.status == "approved"


def test_a_second_decision_is_a_conflict_naming_the_current_state(
    session: Session, world: PreReviewWorld, store: LocalFileStore
) -> None:
    booking = _submitted(session, world, store)
    pre_id = _pre_id(session, booking)
    service.review(session, principal(session, world.reviewer_a), pre_id, "approve", now=NOW)
    session.commit()
    with pytest.raises(Conflict) as late:
        service.review(session, principal(session, world.reviewer_a2), pre_id, "return", reason="x", now=NOW)
    session.rollback()
    assert late.value.status_code == 409
    assert "当前状态：预审通过" in late.value.message
    assert len(sms_to(session, PHONE)) == 1  # one decision, one message


def test_a_cancelled_bookings_pre_review_is_not_reviewed(
    session: Session, world: PreReviewWorld, store: LocalFileStore
) -> None:
    booking = _submitted(session, world, store)
    booking.status = BookingStatus.CANCELLED.value
    session.commit()
    with pytest.raises(Conflict) as refused:
        service.review(
            session, principal(session, world.reviewer_a), _pre_id(session, booking), "approve", now=NOW
        )
    assert refused.value.code == "booking_state"


def test_the_orphan_sweep_finds_only_files_no_row_refers_to(
    session: Session, world: PreReviewWorld, store: LocalFileStore
) -> None:
    booking = _submitted(session, world, store)
    kept = service.files_of(session, _pre_id(session, booking))[0].stored_name
    crashed = store.save(io.BytesIO(b"%PDF-left by a crash"), max_bytes=100).name
    future = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    assert service.orphans(session, store, written_before=future) == [crashed]
    assert kept not in service.orphans(session, store, written_before=future)


def test_the_queue_takes_the_same_few_statements_however_long_it_is(
    session: Session, world: PreReviewWorld, store: LocalFileStore
) -> None:
    from sqlalchemy import event

    reviewer = principal(session, world.reviewer_a)
    statements: list[str] = []

    def listener(*args: object) -> None:
        if not str(args[2]).startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE is not a query
            statements.append(str(args[2]))

    counts = []
    for _ in range(2):
        for _ in range(3):
            _submitted(session, world, store)
        statements.clear()
        event.listen(session.get_bind(), "before_cursor_execute", listener)
        try:
            q = service.queue(session, reviewer, status=PreReviewStatus.SUBMITTED)
        finally:
            event.remove(session.get_bind(), "before_cursor_execute", listener)
        counts.append((len(q.rows), len(statements)))
    assert counts == [(3, 2), (6, 2)]  # the rows with their file counts, and the tab counts


def test_materials_are_purged_after_the_retention_period_and_the_decision_stays(
    session: Session, world: PreReviewWorld, store: LocalFileStore
) -> None:
    booking = _submitted(session, world, store)  # its slot is tomorrow at 10:00, for 30 minutes
    assert len(stored_files(store)) == 1
    slot_end = TOMORROW_10 + dt.timedelta(minutes=30)

    assert service.purge_expired(session, store, now=slot_end + dt.timedelta(days=89), retention_days=90) == 0
    session.commit()
    assert rows(session, PreReviewFile) == 1 and len(stored_files(store)) == 1

    assert service.purge_expired(session, store, now=slot_end + dt.timedelta(days=91), retention_days=90) == 1
    assert len(stored_files(store)) == 1  # the bytes go only once the rows' deletion is committed
    session.commit()
    assert rows(session, PreReviewFile) == 0 and stored_files(store) == []
    assert session.execute(select(PreReview.status).where(PreReview.booking_id == booking.id)).scalar_one()
    purge = session.execute(select(AuditEntry).where(AuditEntry.action == "purge")).scalar_one()
    assert purge.detail == {"files": 1, "retention_days": 90}
