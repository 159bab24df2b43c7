"""The web channel for the e-tax site: a help form (/help) and a chat window (/help/chat) whose
script reads and posts through /api/v1/center/channels/web/messages.

Public (no sign-in): the visitor cookie is the credential for the visitor's own conversation, posts
carry the CSRF token, and every route is rate-limited per address.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from zhishui.center import inbox_policy, service
from zhishui.center.models import Channel, Direction, RequestStatus
from zhishui.center.repository import IdentityRepository
from zhishui.channels import web_visitor
from zhishui.channels.repository import VisitorRepository
from zhishui.channels.runtime import runtime_of
from zhishui.channels.webhooks import InboundMessage, MessageKind
from zhishui.kit.clock import local
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.errors import InvalidInput, NotFound
from zhishui.kit.ratelimit import per_address
from zhishui.kit.validators import InvalidIdentifier, normalise_phone
from zhishui.web.deps import ClockDep, SessionDep, TemplatesDep

router = APIRouter(dependencies=[Depends(verify_csrf)])

FormText = Annotated[str, Form()]
PageLimit = Depends(per_address("help-pages", limit=120, window_seconds=60))
FormLimit = Depends(per_address("help-form", limit=5, window_seconds=600))
ReadLimit = Depends(per_address("help-read", limit=60, window_seconds=60))  # a poll every 3 s is 20
PostLimit = Depends(per_address("help-post", limit=20, window_seconds=60))
NAME_MAX = 32


def _enabled(request: Request) -> None:
    if not request.app.state.settings.web_channel:
        raise NotFound("在线咨询未开放")


Enabled = Depends(_enabled)


def _visitor(request: Request) -> tuple[str, bool]:
    """(token, newly issued)."""
    token = web_visitor.valid_token(request.cookies.get(web_visitor.COOKIE))
    return (token, False) if token else (web_visitor.new_token(), True)


def _keep_visitor(response: Response, token: str, request: Request) -> None:
    response.set_cookie(
        web_visitor.COOKIE,
        token,
        max_age=web_visitor.MAX_AGE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=not request.app.state.settings.is_development,
        path="/",
    )


def _post(session: Session, request: Request, *, visitor: str, key: str, text: str, now: dt.datetime) -> bool:
    """Store a visitor's message in the inbox; False if this key was stored already (a double click)."""
    center_id = runtime_of(request.app.state).center_id(session)
    message = InboundMessage(
        channel="web",
        sender_id=visitor,
        msg_id=web_visitor.message_id(visitor, key),
        kind=MessageKind.TEXT,
        text=text,
        media_id=None,
        at=now,
        raw={},
    )
    try:
        # A savepoint: a repeat must leave nothing behind, but the request's transaction goes on.
        with session.begin_nested():
            service.ingest(session, center_id=center_id, message=message, now=now)
    except service.AlreadyReceived:
        return False
    return True


# --- pages ------------------------------------------------------------------------------------------


def _form_page(
    request: Request,
    templates: Jinja2Templates,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "values": values or {},
        "errors": errors or {},
        "form_key": uuid.uuid4().hex,
        "text_max": web_visitor.TEXT_MAX,
    }
    response: Response = templates.TemplateResponse(
        request, "channels/help.html", context, status_code=status
    )
    return response


@router.get("/help", response_class=HTMLResponse, include_in_schema=False, dependencies=[Enabled, PageLimit])
def help_form(request: Request, templates: TemplatesDep) -> Response:
    return _form_page(request, templates)


@router.post("/help", response_class=HTMLResponse, include_in_schema=False, dependencies=[Enabled, FormLimit])
def help_submit(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    name: FormText = "",
    phone: FormText = "",
    question: FormText = "",
    form_key: FormText = "",
) -> Response:
    values = {"name": name.strip(), "phone": phone.strip(), "question": question.strip()}
    errors: dict[str, str] = {}
    if len(values["name"]) > NAME_MAX:
        errors["name"] = f"称呼不能超过 {NAME_MAX} 个字"
    try:
        normalised = normalise_phone(values["phone"])
    except InvalidIdentifier as exc:
        errors["phone"] = f"手机号码{exc}" if values["phone"] else "请填写手机号码，便于我们回复您"
        normalised = ""
    if not values["question"]:
        errors["question"] = "请填写您要咨询的问题"
    elif len(values["question"]) > web_visitor.TEXT_MAX:
        errors["question"] = f"问题不能超过 {web_visitor.TEXT_MAX} 字"
    if not web_visitor.CLIENT_KEY.fullmatch(form_key):
        errors["form"] = "页面已过期，请重新提交"
    if errors:
        return _form_page(request, templates, values=values, errors=errors, status=422)
    token, _ = _visitor(request)
    visitor = web_visitor.visitor_id(token)
    now = clock.now()
    _post(session, request, visitor=visitor, key=f"form-{form_key}", text=values["question"], now=now)
    identity = IdentityRepository(session).find(
        runtime_of(request.app.state).center_id(session), Channel.WEB, visitor
    )
    if identity is not None:
        # How the agent reaches them, and how merge suggestions find their taxpayer record.
        identity.phone = normalised
        identity.display_name = values["name"]
    response = RedirectResponse("/help/chat?sent=1", status_code=303)
    _keep_visitor(response, token, request)
    return response


@router.get(
    "/help/chat", response_class=HTMLResponse, include_in_schema=False, dependencies=[Enabled, PageLimit]
)
def help_chat(request: Request, templates: TemplatesDep, sent: int = 0) -> Response:
    token, new = _visitor(request)
    response = templates.TemplateResponse(
        request, "channels/help_chat.html", {"sent": bool(sent), "text_max": web_visitor.TEXT_MAX}
    )
    if new:
        _keep_visitor(response, token, request)
    return response


# --- the chat window's JSON ------------------------------------------------------------------------


class WebMessageIn(BaseModel):
    text: str = Field(min_length=1, max_length=web_visitor.TEXT_MAX)
    key: str = Field(pattern=web_visitor.CLIENT_KEY.pattern)


@router.get(
    "/api/v1/center/channels/web/messages", dependencies=[Enabled, ReadLimit], tags=["center channels"]
)
def web_messages(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    after: Annotated[int, Query(ge=0, le=2_147_483_647)] = 0,
) -> JSONResponse:
    """The visitor's conversation after message ``after``: their messages and the center's answers."""
    token = web_visitor.valid_token(request.cookies.get(web_visitor.COOKIE))
    body: dict[str, Any] = {"messages": [], "rating_open": False}
    if token is None:
        return JSONResponse(body)
    visitors = VisitorRepository(session)
    identity = visitors.identity(
        runtime_of(request.app.state).center_id(session), web_visitor.visitor_id(token)
    )
    if identity is None:
        return JSONResponse(body)
    body["messages"] = [
        {
            "id": m.id,
            "from": "me" if m.direction is Direction.INBOUND else "center",
            "text": m.body,
            "at": local(m.created_at).strftime("%m-%d %H:%M"),
        }
        for m in visitors.conversation(identity.id, after_id=after)
    ]
    latest = visitors.latest_request(identity.id)
    body["rating_open"] = bool(
        latest is not None
        and latest.status is RequestStatus.RESOLVED
        and inbox_policy.rating_open(latest.resolved_at, clock.now())
    )
    return JSONResponse(body)


@router.post(
    "/api/v1/center/channels/web/messages", dependencies=[Enabled, PostLimit], tags=["center channels"]
)
def web_post(request: Request, payload: WebMessageIn, session: SessionDep, clock: ClockDep) -> JSONResponse:
    """A visitor's message (or their rating, 1–5, answering the prompt); a repeated key is stored once."""
    text = payload.text.strip()
    if not text:
        raise InvalidInput("text", "消息内容不能为空")
    token, new = _visitor(request)
    stored = _post(
        session, request, visitor=web_visitor.visitor_id(token), key=payload.key, text=text, now=clock.now()
    )
    response = JSONResponse({"ok": True, "duplicate": not stored})
    if new:
        _keep_visitor(response, token, request)
    return response
