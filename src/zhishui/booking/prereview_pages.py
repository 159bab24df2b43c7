"""Pages of pre-review (预审): the taxpayer's upload page and the reviewers' queue.

    /booking/{token}/materials                  the signed-in taxpayer's own booking: files, status, upload
    /booking/{token}/materials/files/{id}       one of their files, streamed
    /booking/reviews                            staff with booking.review: pre-reviews of their halls
    /booking/reviews/{id}                       one pre-review: its booking, files, approve / return / more
    /booking/reviews/{id}/files/{file_id}       a file, streamed (images inline on request)

Forms post plainly (a file upload needs no script) and answer with a redirect; a refusal shows the page
again with the Chinese reason and its 4xx status, having rolled back its savepoint (and with it any file
already written). Upload bodies may be larger than the app's general limit: `UploadBodyLimit` raises the
limit for the upload routes only, and refuses a larger body up front with a 413 that says what the limits
are.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from zhishui.booking import prereview as service
from zhishui.booking import prereview_policy as rules
from zhishui.booking.models import PreReviewFile
from zhishui.booking.policy import (
    BOOKING_STATUS_LABELS,
    PRE_REVIEW_STATUS_LABELS,
    UPLOAD_TYPE_LABELS,
    PreReviewStatus,
)
from zhishui.booking.prereview_storage import FileStore, iter_file, store_for
from zhishui.config import Settings
from zhishui.hall.context import halls_in_scope
from zhishui.identity.deps import CurrentTaxpayer, require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.identity.tokens import SESSION_COOKIE
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.errors import AppError
from zhishui.kit.validators import MAX_ROW_ID, RowIdPath
from zhishui.web.deps import ClockDep, SessionDep, SettingsDep, TemplatesDep

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

Reviewer = Annotated[StaffPrincipal, Depends(require(Permission.BOOKING_REVIEW))]
TokenPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
HallParam = Annotated[int | None, Query(alias="hall", ge=1, le=MAX_ROW_ID)]
StatusParam = Annotated[PreReviewStatus, Query()]
Notice = Annotated[str, Query(max_length=200)]
Reason = Annotated[str, Form(max_length=1000)]
Seen = Annotated[str, Form(max_length=40)]

T = TypeVar("T")

SUBMITTED_NOTICE = "预审材料已提交，审核结果会以短信通知您"
ACTION_NOTICES = {
    "approve": "已通过预审，已短信通知纳税人",
    "return": "已退回，原因已短信通知纳税人",
    "request_more": "已要求补充材料，已短信通知纳税人",
}


def upload_limits(settings: Settings) -> rules.UploadLimits:
    return rules.UploadLimits(
        max_file_bytes=settings.upload_max_file_bytes, max_files=settings.upload_max_files
    )


async def get_file_store(request: Request) -> FileStore:
    """The app's file store (`app.state.file_store`; made from the settings when not set)."""
    store: FileStore | None = getattr(request.app.state, "file_store", None)
    if store is None:
        store = store_for(request.app.state.settings)
        request.app.state.file_store = store
    return store


FileStoreDep = Annotated[FileStore, Depends(get_file_store)]


def _attempt(session: Session, work: Callable[[], T]) -> tuple[T | None, AppError | None]:
    """Run `work` in a savepoint: a refused action leaves nothing behind (rows or files)."""
    try:
        with session.begin_nested():
            return work(), None
    except AppError as exc:
        return None, exc


def stream_file(store: FileStore, file: PreReviewFile, *, inline: bool) -> Response:
    headers = rules.file_headers(file.content_type, file.original_name, inline=inline)
    headers["Content-Length"] = str(file.size_bytes)
    return StreamingResponse(
        iter_file(store, file.stored_name), media_type=file.content_type, headers=headers
    )


def _page(
    request: Request,
    templates: TemplatesDep,
    name: str,
    context: dict[str, Any],
    error: AppError | None = None,
) -> Response:
    """A pre-review page with the labels they all use; shown again with the refusal and its status
    when there is one."""
    context = {
        "status_labels": PRE_REVIEW_STATUS_LABELS,
        "booking_labels": BOOKING_STATUS_LABELS,
        "type_labels": UPLOAD_TYPE_LABELS,
        "size_text": rules.size_text,
        "inline_types": rules.INLINE_TYPES,
        "error": error.message if error else "",
        **context,
    }
    status_code = error.status_code if error else 200
    return templates.TemplateResponse(request, f"booking/prereview/{name}", context, status_code=status_code)


# --- the taxpayer's upload page ------------------------------------------------------------------------


def _materials_page(
    request: Request,
    templates: TemplatesDep,
    view: service.Materials,
    *,
    notice: str = "",
    error: AppError | None = None,
) -> Response:
    context = {
        "m": view,
        "notice": notice,
        "accept": ",".join([*UPLOAD_TYPE_LABELS, ".pdf", ".jpg", ".jpeg", ".png"]),
    }
    return _page(request, templates, "materials.html", context, error)


@router.get("/booking/{token}/materials", response_class=HTMLResponse)
def materials_page(
    request: Request,
    token: TokenPath,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    taxpayer: CurrentTaxpayer,
    done: Annotated[bool, Query()] = False,
) -> Response:
    view = service.materials(
        session, token=token, phone=taxpayer.phone, limits=upload_limits(settings), now=clock.now()
    )
    return _materials_page(request, templates, view, notice=SUBMITTED_NOTICE if done else "")


@router.post("/booking/{token}/materials", response_class=HTMLResponse)
def submit_materials(
    request: Request,
    token: TokenPath,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    store: FileStoreDep,
    taxpayer: CurrentTaxpayer,
    files: Annotated[list[UploadFile], File()] = [],  # noqa: B006 - FastAPI copies defaults
) -> Response:
    """提交预审: the chosen files, checked by their bytes, and the pre-review submitted, all or nothing."""
    limits = upload_limits(settings)
    now = clock.now()
    uploads = [service.Upload(f.filename or "", f.size, f.file) for f in files]
    _, error = _attempt(
        session,
        lambda: service.submit_materials(
            session, store, token=token, phone=taxpayer.phone, uploads=uploads, limits=limits, now=now
        ),
    )
    if error is None:
        return RedirectResponse(f"/booking/{token}/materials?done=1", status_code=303)
    view = service.materials(session, token=token, phone=taxpayer.phone, limits=limits, now=now)
    return _materials_page(request, templates, view, error=error)


@router.get("/booking/{token}/materials/files/{file_id}")
def taxpayer_file(
    token: TokenPath,
    file_id: RowIdPath,
    session: SessionDep,
    store: FileStoreDep,
    taxpayer: CurrentTaxpayer,
    inline: Annotated[bool, Query()] = False,
) -> Response:
    found = service.file_of_taxpayer(session, token=token, phone=taxpayer.phone, file_id=file_id)
    return stream_file(store, found, inline=inline)


# --- the reviewers' queue ------------------------------------------------------------------------------


@router.get("/booking/reviews", response_class=HTMLResponse)
def review_queue(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    staff: Reviewer,
    status: StatusParam = PreReviewStatus.SUBMITTED,
    hall_id: HallParam = None,
    notice: Notice = "",
) -> Response:
    halls = halls_in_scope(session, staff)
    if hall_id is not None and hall_id not in {h.id for h in halls}:
        hall_id = None
    context = {
        "q": service.queue(session, staff, status=status, hall_id=hall_id),
        "halls": halls,
        "hall_id": hall_id,
        "statuses": list(PreReviewStatus),
        "notice": notice,
        "full": staff.can(Permission.TAXPAYER_READ_FULL),
    }
    return _page(request, templates, "queue.html", context)


def _review_page(
    request: Request,
    templates: TemplatesDep,
    session: Session,
    staff: StaffPrincipal,
    pre_review_id: int,
    *,
    error: AppError | None = None,
    reasons: dict[str, str] | None = None,
) -> Response:
    row = service.open_for_staff(session, staff, pre_review_id)
    context = {
        "row": row,
        "p": row.pre_review,
        "b": row.booking,
        "files": service.files_of(session, pre_review_id),
        "reasons": reasons or {},
        "full": staff.can(Permission.TAXPAYER_READ_FULL),
        "seen": row.pre_review.submitted_at.isoformat(),
        "actions": rules.REVIEW_ACTION_LABELS,
    }
    return _page(request, templates, "review.html", context, error)


@router.get("/booking/reviews/{pre_review_id}", response_class=HTMLResponse)
def review_page(
    request: Request,
    pre_review_id: RowIdPath,
    session: SessionDep,
    templates: TemplatesDep,
    staff: Reviewer,
) -> Response:
    return _review_page(request, templates, session, staff, pre_review_id)


def _parse_seen(raw: str) -> dt.datetime | None:
    try:
        seen = dt.datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None
    return seen if seen is None or seen.tzinfo else None


@router.post("/booking/reviews/{pre_review_id}/{action}", response_class=HTMLResponse)
def review_action(
    request: Request,
    pre_review_id: RowIdPath,
    action: Literal["approve", "return", "request_more"],
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: Reviewer,
    reason: Reason = "",
    seen: Seen = "",
) -> Response:
    """Approve, return or ask for more: 409 with the current state when someone else acted first."""
    _, error = _attempt(
        session,
        lambda: service.review(
            session,
            staff,
            pre_review_id,
            action,
            reason=reason,
            now=clock.now(),
            seen_submitted_at=_parse_seen(seen),
        ),
    )
    if error is None:
        return RedirectResponse(f"/booking/reviews?notice={quote(ACTION_NOTICES[action])}", status_code=303)
    return _review_page(
        request, templates, session, staff, pre_review_id, error=error, reasons={action: reason}
    )


@router.get("/booking/reviews/{pre_review_id}/files/{file_id}")
def staff_file(
    pre_review_id: RowIdPath,
    file_id: RowIdPath,
    session: SessionDep,
    store: FileStoreDep,
    staff: Reviewer,
    inline: Annotated[bool, Query()] = False,
) -> Response:
    found = service.file_for_staff(session, staff, pre_review_id, file_id)
    return stream_file(store, found, inline=inline)


# --- the body limit of upload routes -------------------------------------------------------------------

UPLOAD_PATHS = (
    re.compile(r"^/booking/[A-Za-z0-9_-]{1,64}/materials$"),
    re.compile(r"^/api/v1/booking/pre-reviews/by-booking/[A-Za-z0-9_-]{1,64}/files$"),
)


def too_large_message(limits: rules.UploadLimits) -> str:
    return (
        f"上传的文件过大：每个文件不超过 {rules.size_text(limits.max_file_bytes)}，"
        f"每次预约最多 {limits.max_files} 个文件。请压缩或分开上传后重试"
    )


class UploadBodyLimit:
    """Raise the request body limit (kit.middleware.BodySizeLimit, which must sit inside this) for the
    upload routes to what their files may add up to, and refuse a larger body by its Content-Length
    before reading it, with a 413 that states the limits (a page for browsers, JSON for the API).

    Only requests carrying a session cookie get the larger limit: nobody signed out can upload, and
    they should not make the server read 100 MB to learn it.
    """

    def __init__(self, app: ASGIApp, limits: rules.UploadLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not any(p.match(scope["path"]) for p in UPLOAD_PATHS)
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        if SESSION_COOKIE.encode() + b"=" not in headers.get(b"cookie", b""):
            await self.app(scope, receive, send)
            return
        limit = self.limits.request_bytes
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await self._refuse(scope, receive, send)
            return
        scope.setdefault("state", {})["body_limit"] = limit
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = too_large_message(self.limits)
        headers = [(b"connection", b"close")]
        if scope["path"].startswith("/api/"):
            body = json.dumps({"error": "too_large", "message": message}, ensure_ascii=False).encode()
            headers.append((b"content-type", b"application/json; charset=utf-8"))
        else:
            templates = scope["app"].state.templates
            page = templates.get_template("error.html").render(
                {"request": Request(scope, receive), "status": 413, "message": message}
            )
            body = page.encode()
            headers.append((b"content-type", b"text/html; charset=utf-8"))
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
