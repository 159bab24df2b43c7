"""Pre-review rules without a database: which uploads are taken (by their bytes), when a taxpayer may
submit, what reviewers must write, what the taxpayer is told, how a stored file is served."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.booking_factories import jpeg_bytes, pdf_bytes, png_bytes, zip_bytes
from zhishui.booking import prereview_policy as rules
from zhishui.booking.policy import BookingStatus, PreReviewStatus, sniff_content_type
from zhishui.kit.clock import SHANGHAI

LIMITS = rules.UploadLimits(max_file_bytes=1024 * 1024, max_files=3)
SLOT = dt.datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)
BEFORE = SLOT - dt.timedelta(hours=1)


def _head(data: bytes) -> bytes:
    return data[: rules.SNIFF_BYTES]


# --- the type comes from the bytes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (pdf_bytes(), "application/pdf"),
        (png_bytes(), "image/png"),
        (jpeg_bytes(), "image/jpeg"),
    ],
    ids=["pdf", "png", "jpeg"],
)
def test_real_pdf_png_and_jpeg_files_are_taken_whatever_they_are_called(data: bytes, kind: str) -> None:
    for name in ("材料.pdf", "photo.png", "scan.jpg", "no-extension", "virus.exe"):
        assert rules.upload_type(name, len(data), _head(data), LIMITS) == kind


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (zip_bytes(), "a zip (or .docx) renamed .pdf"),
        (b"<html><script>alert(1)</script></html>", "html"),
        (b"GIF89a\x01\x00\x01\x00", "gif"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "webp"),
        (b"\x00\x00\x00\x18ftypheic", "iphone heic"),
        (b" %PDF-1.4 leading space", "pdf signature not at the start"),
        (b"%PDF", "pdf signature cut short"),
        (b"\x89PNG\r\n", "png signature cut short"),
        (b"\xff\xd8", "jpeg signature cut short"),
        (b"%pdf-1.4", "lower-case pdf signature"),
        (b"\xef\xbb\xbf%PDF-1.4", "a byte-order mark before the pdf signature"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_anything_else_is_refused_as_the_wrong_type_by_its_content(data: bytes, what: str) -> None:
    with pytest.raises(rules.UploadRefused) as refused:
        rules.upload_type("合同.pdf", len(data), _head(data), LIMITS)
    assert refused.value.status == 415
    assert refused.value.message.startswith("文件类型不符")
    assert "合同.pdf" in refused.value.message


def test_sniffing_needs_only_the_first_bytes() -> None:
    for data in (pdf_bytes(), png_bytes(), jpeg_bytes()):
        assert sniff_content_type(data[: rules.SNIFF_BYTES]) == sniff_content_type(data) is not None


def test_an_empty_file_is_refused_before_its_type() -> None:
    with pytest.raises(rules.UploadRefused) as refused:
        rules.upload_type("空.pdf", 0, b"", LIMITS)
    assert (refused.value.status, refused.value.code) == (422, "empty_file")


def test_a_file_over_the_limit_is_refused_with_the_limit_named() -> None:
    with pytest.raises(rules.UploadRefused) as refused:
        rules.upload_type("大.pdf", LIMITS.max_file_bytes + 1, b"%PDF-1.4", LIMITS)
    assert refused.value.status == 413
    assert "不超过 1 MB" in refused.value.message
    # exactly at the limit is fine
    assert rules.upload_type("刚好.pdf", LIMITS.max_file_bytes, b"%PDF-1.4", LIMITS) == "application/pdf"


def test_an_unknown_size_is_left_to_the_store_to_count() -> None:
    assert rules.upload_type("x.png", None, png_bytes()[:16], LIMITS) == "image/png"


# --- names ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("营业执照.pdf", "营业执照.pdf"),
        ("C:\\Users\\张三\\桌面\\合同.pdf", "合同.pdf"),
        ("../../etc/passwd", "passwd"),
        ("a\x00b\nc.png", "abc.png"),
        ('<script>"x".jpg', "scriptx.jpg"),
        ("", "未命名文件"),
        (None, "未命名文件"),
        ("...", "未命名文件"),
    ],
)
def test_file_names_are_cleaned_for_display(raw: str | None, clean: str) -> None:
    assert rules.clean_filename(raw) == clean


def test_a_long_name_keeps_its_extension_within_the_column() -> None:
    name = rules.clean_filename("很" * 300 + ".pdf")
    assert len(name) == rules.MAX_NAME_CHARS
    assert name.endswith(".pdf")


# --- how many ------------------------------------------------------------------------------------------


def test_no_file_chosen_is_refused() -> None:
    refusal = rules.count_problem(0, 0, LIMITS)
    assert refusal is not None and refusal.code == "no_files"


def test_the_file_cap_counts_files_already_uploaded() -> None:
    assert rules.count_problem(0, 3, LIMITS) is None
    assert rules.count_problem(2, 1, LIMITS) is None
    refusal = rules.count_problem(2, 2, LIMITS)
    assert refusal is not None and "本次最多还能上传 1 个" in refusal.message
    full = rules.count_problem(3, 1, LIMITS)
    assert full is not None and "不能再上传" in full.message


def test_the_request_limit_leaves_room_for_every_file_at_its_limit() -> None:
    assert LIMITS.request_bytes > LIMITS.max_file_bytes * LIMITS.max_files


# --- when ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pre_review", "code"),
    [
        (None, None),
        (PreReviewStatus.RETURNED, None),
        (PreReviewStatus.MORE_REQUESTED, None),
        (PreReviewStatus.SUBMITTED, "under_review"),
        (PreReviewStatus.APPROVED, "already_approved"),
    ],
)
def test_materials_go_in_first_time_or_after_a_return_or_a_request_for_more(
    pre_review: PreReviewStatus | None, code: str | None
) -> None:
    refusal = rules.submit_problem(BookingStatus.CONFIRMED, SLOT, BEFORE, pre_review)
    assert (refusal.code if refusal else None) == code


@pytest.mark.parametrize(
    "status",
    [s for s in BookingStatus if s != BookingStatus.CONFIRMED],
)
def test_only_a_confirmed_booking_takes_materials(status: BookingStatus) -> None:
    refusal = rules.submit_problem(status, SLOT, BEFORE, None)
    assert refusal is not None and refusal.code == "booking_state"


def test_materials_are_taken_until_the_slot_starts() -> None:
    assert rules.submit_problem(BookingStatus.CONFIRMED, SLOT, SLOT - dt.timedelta(seconds=1), None) is None
    refusal = rules.submit_problem(BookingStatus.CONFIRMED, SLOT, SLOT, None)
    assert refusal is not None and refusal.code == "slot_started"


# --- reviewing -----------------------------------------------------------------------------------------


def test_returning_and_asking_for_more_need_a_reason_approving_does_not() -> None:
    assert rules.clean_reason("approve", "whatever") == ("", None)
    for action in ("return", "request_more"):
        reason, refusal = rules.clean_reason(action, "   ")
        assert refusal is not None and refusal.code == "reason_missing"
    reason, refusal = rules.clean_reason("return", "  合同\n缺少 第3页  ")
    assert (reason, refusal) == ("合同 缺少 第3页", None)
    _, refusal = rules.clean_reason("request_more", "长" * (rules.MAX_REASON_CHARS + 1))
    assert refusal is not None and refusal.code == "reason_too_long"


def test_the_taxpayer_is_told_the_decision_the_reason_and_where_to_upload() -> None:
    def sms(action: str, reason: str) -> str:
        return rules.review_sms(
            action,
            matter="存量房交易税费申报",
            hall="甲县第一办税服务厅",
            slot_start=SLOT,
            reason=reason,
            link="L",
        )

    returned = sms("return", "合同缺页")
    assert "12月1日 10:00" in returned and "合同缺页" in returned and returned.endswith("L")
    more = sms("request_more", "请补充身份证背面")
    assert "补充" in more and "请补充身份证背面" in more and "L" in more
    approved = sms("approve", "")
    assert "预审已通过" in approved and "甲县第一办税服务厅" in approved


# --- serving -------------------------------------------------------------------------------------------


def test_only_images_are_shown_inline_pdfs_always_download() -> None:
    png = rules.file_headers("image/png", "照片.png", inline=True)
    assert png["Content-Disposition"].startswith("inline;")
    pdf = rules.file_headers("application/pdf", "合同.pdf", inline=True)
    assert pdf["Content-Disposition"].startswith("attachment;")
    assert rules.file_headers("image/png", "照片.png", inline=False)["Content-Disposition"].startswith(
        "attachment;"
    )
    for headers in (png, pdf):
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in headers["Content-Security-Policy"]
        assert headers["Cache-Control"] == "private, no-store"


def test_the_download_name_says_what_the_file_really_is() -> None:
    assert rules.download_name("合同.pdf", "application/pdf") == "合同.pdf"
    assert rules.download_name("照片.pdf", "image/png") == "照片.png"  # a PNG named .pdf
    assert rules.download_name("scan.jpeg", "image/jpeg") == "scan.jpeg"
    assert rules.download_name("扫描件", "image/jpeg") == "扫描件.jpg"


def test_chinese_names_survive_in_the_header_and_nothing_breaks_out_of_it() -> None:
    value = rules.content_disposition('合同";x=1.pdf', inline=False)
    assert value.startswith('attachment; filename="')
    assert "filename*=UTF-8''%E5%90%88%E5%90%8C%22%3Bx%3D1.pdf" in value
    ascii_part = value.split('filename="')[1].split('"')[0]
    assert '"' not in ascii_part and ";" not in ascii_part


def test_sizes_read_as_people_read_them() -> None:
    assert rules.size_text(10 * 1024 * 1024) == "10 MB"
    assert rules.size_text(1536 * 1024) == "1.5 MB"
    assert rules.size_text(2048) == "2 KB"
    assert rules.size_text(12) == "12 字节"
