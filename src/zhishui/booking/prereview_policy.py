"""Pure rules of pre-review (预审): which uploads are taken, when a taxpayer may submit, what reviewers
must write, what the taxpayer is told, and how a stored file goes back out.

No database, no web. The upload type comes from the bytes (booking.policy.sniff_content_type), never
from the name or the browser; the states and their moves are booking.policy.PRE_REVIEW_TRANSITIONS.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from zhishui.booking.policy import (
    BOOKING_STATUS_LABELS,
    PRE_REVIEW_STATUS_LABELS,
    PRE_REVIEW_TRANSITIONS,
    UPLOAD_TYPE_LABELS,
    BookingStatus,
    PreReviewStatus,
    Refusal,
    sniff_content_type,
)
from zhishui.kit.clock import SHANGHAI

SNIFF_BYTES = 16  # enough for every signature sniff_content_type knows
MAX_NAME_CHARS = 200  # pre_review_file.original_name
MAX_REASON_CHARS = 300  # pre_review.reason

# The actions reviewers take; "resubmit" is the taxpayer's.
REVIEW_ACTIONS = ("approve", "return", "request_more")
REVIEW_ACTION_LABELS = {"approve": "通过", "return": "退回", "request_more": "要求补充材料"}
# Booking states in which materials still matter: before the visit, or checked in and waiting.
REVIEWABLE_BOOKINGS = frozenset({BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN})


@dataclass(frozen=True)
class UploadLimits:
    max_file_bytes: int = 10 * 1024 * 1024
    max_files: int = 10  # per pre-review, over all submissions

    @property
    def request_bytes(self) -> int:
        """The largest multipart body worth reading: every file at its limit plus the form around them."""
        return self.max_file_bytes * self.max_files + 256 * 1024

    def describe(self) -> str:
        types = "、".join(UPLOAD_TYPE_LABELS.values())
        return f"支持 {types}，每个文件不超过 {size_text(self.max_file_bytes)}，最多 {self.max_files} 个文件"


def size_text(n: int) -> str:
    """A size as people read it: 10 MB, 512 KB, 300 字节."""
    if n >= 1024 * 1024:
        value = n / (1024 * 1024)
        return f"{value:.0f} MB" if value == int(value) else f"{value:.1f} MB"
    if n >= 1024:
        return f"{n // 1024} KB"
    return f"{n} 字节"


# --- uploads -------------------------------------------------------------------------------------------


class UploadRefused(Exception):
    """A file not taken: `status` (413 too large, 415 wrong type, 422 otherwise) and a Chinese message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


_UNSAFE_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')


def clean_filename(raw: str | None) -> str:
    """The name a taxpayer's file is shown by: the last path part, no control or reserved characters,
    at most MAX_NAME_CHARS (the extension kept). Only ever displayed and offered back on download."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[\\/]", name)[-1]  # old browsers send the whole client path
    name = _UNSAFE_NAME_CHARS.sub("", name).strip().strip(".")
    if not name:
        return "未命名文件"
    if len(name) > MAX_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: MAX_NAME_CHARS - len(ext) - 1] + "." + ext
        else:
            name = name[:MAX_NAME_CHARS]
    return name


def upload_type(name: str, size: int | None, head: bytes, limits: UploadLimits) -> str:
    """The content type of an upload we take, or UploadRefused saying why not.

    `size` is what the multipart parser counted (None: unknown, the store counts while writing)."""
    if size == 0 or (size is None and not head):
        raise UploadRefused(422, "empty_file", f"文件“{name}”是空文件，请重新选择")
    if size is not None and size > limits.max_file_bytes:
        raise UploadRefused(
            413,
            "file_too_large",
            f"文件“{name}”过大（{size_text(size)}），每个文件不超过 {size_text(limits.max_file_bytes)}",
        )
    kind = sniff_content_type(head)
    if kind is None:
        types = "、".join(UPLOAD_TYPE_LABELS.values())
        raise UploadRefused(
            415,
            "wrong_type",
            f"文件类型不符：“{name}”的内容不是 {types} 文件（按文件内容判断，与文件名无关），请重新选择",
        )
    return kind


def too_large(name: str, limits: UploadLimits) -> UploadRefused:
    """For a file found over the limit while it was being written (its declared size was wrong)."""
    return UploadRefused(
        413, "file_too_large", f"文件“{name}”过大，每个文件不超过 {size_text(limits.max_file_bytes)}"
    )


def count_problem(already: int, adding: int, limits: UploadLimits) -> Refusal | None:
    if adding == 0:
        return Refusal("no_files", "请选择要上传的文件")
    if already + adding > limits.max_files:
        left = max(limits.max_files - already, 0)
        return Refusal(
            "too_many_files",
            f"每次预约最多上传 {limits.max_files} 个文件，已上传 {already} 个，"
            + (f"本次最多还能上传 {left} 个" if left else "不能再上传"),
        )
    return None


# --- when a taxpayer may submit ------------------------------------------------------------------------


def submit_problem(
    booking_status: str, slot_start: dt.datetime, now: dt.datetime, pre_review: str | None
) -> Refusal | None:
    """Whether materials may be submitted for a booking now (None) or why not.

    Only for a confirmed booking whose slot has not started; the first submission, or a resubmission
    after the pre-review was returned or more was asked for. While one is being reviewed, or once it
    passed, nothing is added (a reviewer must never approve files they did not see).
    """
    if booking_status != BookingStatus.CONFIRMED:
        label = BOOKING_STATUS_LABELS[BookingStatus(booking_status)]
        return Refusal("booking_state", f"该预约当前状态为“{label}”，不能提交预审材料")
    if now >= slot_start:
        return Refusal("slot_started", "预约时段已开始，不能再提交预审材料，请带齐纸质材料到厅办理")
    if pre_review is None or pre_review in PRE_REVIEW_TRANSITIONS["resubmit"][0]:
        return None
    if pre_review == PreReviewStatus.APPROVED:
        return Refusal("already_approved", "预审已通过，无需再提交材料")
    return Refusal("under_review", "预审材料已提交，正在审核中，审核结果会短信通知您")


def resubmittable(status: str | None) -> bool:
    return status is None or status in PRE_REVIEW_TRANSITIONS["resubmit"][0]


# --- reviewing -----------------------------------------------------------------------------------------


def clean_reason(action: str, raw: str) -> tuple[str, Refusal | None]:
    """The reviewer's reason as stored, or why it is refused: returning and asking for more need one
    (the taxpayer is told it); approving takes none."""
    reason = " ".join((raw or "").split())
    if action == "approve":
        return "", None
    if not reason:
        what = "退回原因" if action == "return" else "需要补充的材料"
        return "", Refusal("reason_missing", f"请填写{what}，它会通过短信告诉纳税人")
    if len(reason) > MAX_REASON_CHARS:
        return reason, Refusal("reason_too_long", f"原因不能超过 {MAX_REASON_CHARS} 个字")
    return reason, None


def review_conflict(current: str) -> str:
    label = PRE_REVIEW_STATUS_LABELS[PreReviewStatus(current)]
    return f"该预审已被处理或材料已更新（当前状态：{label}），请刷新后查看"


# --- what the taxpayer is told -------------------------------------------------------------------------


def _when(slot_start: dt.datetime) -> str:
    local = slot_start.astimezone(SHANGHAI)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def review_sms(
    action: str, *, matter: str, hall: str, slot_start: dt.datetime, reason: str, link: str
) -> str:
    """The SMS for a reviewer's decision (the link opens the booking's materials page)."""
    what = f"您预约的{_when(slot_start)}“{matter}”"
    if action == "approve":
        return f"【智税】{what}预审已通过，请按预约时间到{hall}办理，并携带材料原件备查。"
    if action == "return":
        return f"【智税】{what}预审材料被退回，原因：{reason}。请修改后重新上传：{link}"
    return f"【智税】{what}预审需要补充材料：{reason}。请上传：{link}"


# --- serving a stored file -----------------------------------------------------------------------------

# Shown in the browser when asked: a sniffed PNG or JPEG with nosniff cannot run script. A PDF can carry
# scripts and forms its viewer interprets, so it is always a download.
INLINE_TYPES = frozenset({"image/png", "image/jpeg"})
EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}


def download_name(original: str, content_type: str) -> str:
    """The name offered on download: the original, with the extension of what the file really is."""
    ext = EXTENSIONS.get(content_type, "")
    stem, dot, old = original.rpartition(".")
    base = stem if dot and old.lower() in ("pdf", "jpg", "jpeg", "png") else original
    if ext == ".jpg" and old.lower() == "jpeg":
        ext = ".jpeg"
    return (base or "材料") + ext


def content_disposition(filename: str, *, inline: bool) -> str:
    """RFC 6266 with an ASCII fallback and the UTF-8 name (RFC 5987) for Chinese names."""
    kind = "inline" if inline else "attachment"
    ascii_name = "".join(
        ch if ch.isascii() and ch.isprintable() and ch not in '"\\;' else "_" for ch in filename
    )
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def file_headers(content_type: str, original: str, *, inline: bool) -> dict[str, str]:
    """Headers of a served material: the sniffed type, never sniffed again by the browser, not cached."""
    shown_inline = inline and content_type in INLINE_TYPES
    return {
        "Content-Type": content_type,
        "Content-Disposition": content_disposition(
            download_name(original, content_type), inline=shown_inline
        ),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
        # Opened directly, the file is a document of its own: nothing in it may run or load anything.
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
    }
