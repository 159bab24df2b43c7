"""What devices at service points call: ``POST /api/v1/points/devices/{device_id}/events``.

A device is not signed in: it presents its own key in the ``X-Device-Key`` header (stored hashed,
compared in constant time). No CSRF token: no cookie is involved. The key is checked before the body
is read, so a caller without a valid key learns nothing about the body's problems.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header

from zhishui.kit.validators import RowIdPath
from zhishui.points import service
from zhishui.points.models import Device
from zhishui.points.schemas import EventBatchIn, IngestOut
from zhishui.web.deps import ClockDep, SessionDep

router = APIRouter(prefix="/api/v1/points/devices", tags=["points devices"])


def authenticated_device(
    device_id: RowIdPath,
    session: SessionDep,
    x_device_key: Annotated[str | None, Header(max_length=128)] = None,
) -> Device:
    return service.authenticate_device(session, device_id, x_device_key)


@router.post("/{device_id}/events", summary="设备上报使用事件（设备密钥认证，按事件编号幂等）")
def events(
    batch: EventBatchIn,
    session: SessionDep,
    clock: ClockDep,
    device: Annotated[Device, Depends(authenticated_device)],
) -> IngestOut:
    """A batch of up to 500 events. 200 with how many were new and how many were already stored;
    401 without a key, 403 for a wrong key or a retired device, 422 naming every bad event (nothing
    of the batch is saved)."""
    result = service.record_events(session, device, [e.incoming() for e in batch.events], now=clock.now())
    return IngestOut.of(result)
