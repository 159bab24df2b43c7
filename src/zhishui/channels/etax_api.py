"""The e-tax system's endpoint for online submissions (网办): ``POST
/api/v1/center/channels/etax/submissions`` (channels.etax has the contract).

Signed, not signed in: no CSRF token, no session; the shared secret ZHISHUI_ETAX_SECRET is the
credential. A new submission is queued in its own transaction; a failure releases its replay key so
the e-tax system's retry is processed rather than acknowledged as a duplicate of nothing.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from zhishui.center import etax as queue
from zhishui.channels import etax
from zhishui.channels.runtime import prepare_session, runtime_of
from zhishui.channels.webhooks import Outcome
from zhishui.channels.webhooks_api import read_capped
from zhishui.config import Settings
from zhishui.kit.db import transaction
from zhishui.kit.errors import AppError, NotFound

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/center/channels/etax", tags=["center channels"])


def _receive(request: Request, body: bytes) -> JSONResponse:
    settings: Settings = request.app.state.settings
    runtime = runtime_of(request.app.state)
    adapter = etax.EtaxCallbacks(settings.etax_secret, clock=runtime.clock, replay=runtime.replay)
    outcome: Outcome[etax.Submission] = adapter.receive(
        body,
        timestamp=request.headers.get(etax.TIMESTAMP_HEADER),
        signature=request.headers.get(etax.SIGNATURE_HEADER),
    )
    state = request.app.state
    try:
        with transaction(state.session_factory) as session:
            prepare_session(session, broker=state.broker, clock=runtime.clock, actor="channel:etax")
            if not outcome.should_process:
                # A retry within the replay window: answer with what the first delivery queued.
                found = queue.find_submission(session, outcome.item, default_center=settings.center_unit)
                return JSONResponse({"ok": True, "duplicate": True, "request_id": found})
            received = queue.receive_submission(
                session, outcome.item, now=runtime.clock.now(), default_center=settings.center_unit
            )
    except BaseException:
        if outcome.should_process:
            for key in outcome.dedup_keys:
                try:
                    runtime.replay.release(key)
                except Exception:
                    log.exception("could not release replay key %s", key)
        raise
    return JSONResponse(
        {"ok": True, "duplicate": not received.created, "request_id": received.request_id},
        status_code=201 if received.created else 200,
    )


@router.post("/submissions", summary="电子税务局推送网办业务（签名校验）")
async def submission(request: Request) -> JSONResponse:
    """One online submission from the e-tax system: 201 with the queued request, 200 for a number
    already queued; 403 for a bad signature or a stale timestamp, 400 for a malformed body, 422 when
    no tax center can take it."""
    settings: Settings = request.app.state.settings
    if not settings.etax_secret:
        raise NotFound("该渠道未启用", code="channel_disabled", extra={"channel": etax.CHANNEL})
    body = await read_capped(request)
    try:
        return await run_in_threadpool(_receive, request, body)
    except AppError as exc:
        if exc.status_code < 500:
            log.warning("e-tax submission refused: %s (%s)", exc.code, exc.message)
        raise
