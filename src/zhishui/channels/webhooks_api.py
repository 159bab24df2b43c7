"""Callback endpoints of the center's channels: WeChat, DingTalk and the 12366 phone system.

Each reads the raw body under a size cap, hands it to its channel's adapter (signature, window,
replay) and, for a new callback, stores it in the inbox in a transaction of its own (runtime.process).
None takes a CSRF token or a sign-in: the platform's signature is the credential.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from zhishui.center import calls, service
from zhishui.channels import cti as cti_channel
from zhishui.channels.runtime import ChannelRuntime, runtime_of
from zhishui.channels.webhooks import (
    DEFAULT_MAX_BODY,
    BadSignature,
    CallbackTooLarge,
    InboundMessage,
    Outcome,
    StaleTimestamp,
)
from zhishui.channels.wechat import ACKNOWLEDGE
from zhishui.kit.errors import AppError, NotFound

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

router = APIRouter(prefix="/api/v1/center/channels", tags=["center channels"])


async def read_capped(request: Request, limit: int = DEFAULT_MAX_BODY) -> bytes:
    """The body, or its first limit + 1 bytes: enough for the adapter to refuse it as too large
    without holding a huge body in memory."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)


def _disabled(channel: str) -> NotFound:
    return NotFound("该渠道未启用", code="channel_disabled", extra={"channel": channel})


def _ingest(session: Session, center_id: int, message: InboundMessage) -> int:
    clock = session.info["clock"]
    return service.ingest(session, center_id=center_id, message=message, now=clock.now()).message_id


def _apply_call(session: Session, center_id: int, event: cti_channel.CallEvent) -> int:
    clock = session.info["clock"]
    return calls.apply_call_event(session, center_id=center_id, event=event, now=clock.now())


def _refused(channel: str, exc: AppError) -> None:
    # Signature, window and size refusals are logged where they are decided (webhooks.py).
    if not isinstance(exc, BadSignature | StaleTimestamp | CallbackTooLarge):
        log.warning("callback refused: %s (%s)", exc.code, exc.message, extra={"channel": channel})


@router.get("/wechat", response_class=PlainTextResponse)
async def wechat_server_check(
    request: Request,
    signature: str | None = None,
    timestamp: str | None = None,
    nonce: str | None = None,
    echostr: str | None = None,
) -> PlainTextResponse:
    """WeChat's check when the callback URL is saved in the console: echo ``echostr``."""
    runtime = runtime_of(request.app.state)
    if runtime.wechat is None:
        raise _disabled("wechat")
    try:
        echo = runtime.wechat.server_check(
            signature=signature, timestamp=timestamp, nonce=nonce, echostr=echostr
        )
    except AppError as exc:
        _refused("wechat", exc)
        raise
    return PlainTextResponse(echo)


@router.post("/wechat", response_class=PlainTextResponse)
async def wechat_message(
    request: Request,
    signature: str | None = None,
    timestamp: str | None = None,
    nonce: str | None = None,
    encrypt_type: str | None = None,
    msg_signature: str | None = None,
) -> PlainTextResponse:
    """A message from a follower. Answered "success" at once, in every mode: WeChat takes a plain
    "success" as "no passive reply" even in safe mode (an encrypted envelope is only for a reply
    message). The agent's answer leaves later through the customer-service API (outbox)."""
    runtime = runtime_of(request.app.state)
    if runtime.wechat is None:
        raise _disabled("wechat")
    body = await read_capped(request)
    wechat = runtime.wechat

    def handle() -> None:
        outcome = wechat.receive(
            body,
            signature=signature,
            timestamp=timestamp,
            nonce=nonce,
            encrypt_type=encrypt_type,
            msg_signature=msg_signature,
        )
        _process(request, runtime, outcome, _ingest, "channel:wechat")

    await _run("wechat", handle)
    return PlainTextResponse(ACKNOWLEDGE)


@router.post("/dingtalk")
async def dingtalk_message(request: Request) -> Response:
    """A robot callback. An empty 200 means "no reply now"; the answer goes to the session webhook."""
    runtime = runtime_of(request.app.state)
    if runtime.dingtalk is None:
        raise _disabled("dingtalk")
    body = await read_capped(request)
    dingtalk = runtime.dingtalk
    timestamp = request.headers.get("timestamp")
    sign = request.headers.get("sign")

    def handle() -> None:
        outcome = dingtalk.receive(body, timestamp=timestamp, sign_header=sign)
        _process(request, runtime, outcome, _ingest, "channel:dingtalk")

    await _run("dingtalk", handle)
    return Response(status_code=200)


@router.post("/cti")
async def cti_event(request: Request) -> JSONResponse:
    """A call event from the phone system (channels.cti has the contract)."""
    runtime = runtime_of(request.app.state)
    if runtime.cti is None:
        raise _disabled("phone")
    body = await read_capped(request)
    cti = runtime.cti
    timestamp = request.headers.get(cti_channel.TIMESTAMP_HEADER)
    signature = request.headers.get(cti_channel.SIGNATURE_HEADER)

    def handle() -> int | None:
        outcome = cti.receive(body, timestamp=timestamp, signature=signature)
        return _process(request, runtime, outcome, _apply_call, "channel:cti")

    request_id = await _run("phone", handle)
    if request_id is None:
        return JSONResponse({"ok": True, "duplicate": True})
    return JSONResponse({"ok": True, "request_id": request_id})


def _process(
    request: Request,
    runtime: ChannelRuntime,
    outcome: Outcome[T],
    work: Callable[[Session, int, T], R],
    actor: str,
) -> R | None:
    state = request.app.state
    return runtime.process(
        outcome, work, session_factory=state.session_factory, broker=state.broker, actor=actor
    )


async def _run(channel: str, handle: Callable[[], R]) -> R:
    # The adapters may wait on Redis and the inbox on the database: both off the event loop.
    try:
        return await run_in_threadpool(handle)
    except AppError as exc:
        if exc.status_code < 500:
            _refused(channel, exc)
        raise
