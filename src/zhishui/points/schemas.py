"""JSON in and out of the service points' API."""

from __future__ import annotations

import datetime as dt
from typing import Self

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from zhishui.kit.validators import RowId
from zhishui.points import policy
from zhishui.points.service import DeviceState, DeviceUtilisation, IngestResult, PointUtilisation


class EventIn(BaseModel):
    """One event: a session has started_at and ended_at; print, error and heartbeat have `at`
    (or started_at)."""

    id: str = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$", description="设备端事件编号（幂等）"
    )
    kind: str = Field(max_length=16, description="session / print / error / heartbeat")
    started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    at: AwareDatetime | None = None
    matter: str | None = Field(default=None, max_length=20, description="事项编码（可选）")

    @model_validator(mode="after")
    def _one_start(self) -> Self:
        if (self.started_at is None) == (self.at is None):
            raise ValueError("每条事件须有且只有 started_at 或 at 之一")
        return self

    def incoming(self) -> policy.IncomingEvent:
        start = self.started_at or self.at
        assert start is not None
        return policy.IncomingEvent(self.id, self.kind, start, self.ended_at, self.matter or None)


class EventBatchIn(BaseModel):
    events: list[EventIn]


class IngestOut(BaseModel):
    received: int
    accepted: int
    duplicates: int

    @classmethod
    def of(cls, r: IngestResult) -> IngestOut:
        return cls(received=r.received, accepted=r.accepted, duplicates=r.duplicates)


class DeviceCreate(BaseModel):
    point_id: RowId
    kind: str = Field(max_length=24)
    serial: str = Field(min_length=1, max_length=64)
    name: str = Field(default="", max_length=60)


class MoveIn(BaseModel):
    to_point_id: RowId


class DeviceOut(BaseModel):
    id: int
    point_id: int
    kind: str
    serial: str
    name: str
    status: str
    installed_at: dt.datetime
    retired_at: dt.datetime | None


class DeviceCreated(BaseModel):
    device: DeviceOut
    key: str = Field(description="设备密钥：只显示这一次，设备在 X-Device-Key 头中携带")


class KeyOut(BaseModel):
    key: str


class DeviceUtilisationOut(BaseModel):
    device_id: int
    serial: str
    kind: str
    here_now: bool
    busy_seconds: float
    open_seconds: float
    utilisation: float | None
    sessions: int
    sessions_per_day: float | None

    @classmethod
    def of(cls, d: DeviceUtilisation) -> DeviceUtilisationOut:
        return cls(
            device_id=d.device_id,
            serial=d.serial,
            kind=d.kind,
            here_now=d.here_now,
            busy_seconds=d.busy_seconds,
            open_seconds=d.open_seconds,
            utilisation=d.utilisation,
            sessions=d.sessions,
            sessions_per_day=d.sessions_per_day,
        )


class PointUtilisationOut(BaseModel):
    point_id: int
    name: str
    district: str
    busy_seconds: float
    open_seconds: float
    utilisation: float | None
    sessions: int
    open_days: int
    sessions_per_day: float | None
    devices: list[DeviceUtilisationOut]

    @classmethod
    def of(cls, p: PointUtilisation) -> PointUtilisationOut:
        return cls(
            point_id=p.point_id,
            name=p.name,
            district=p.district,
            busy_seconds=p.busy_seconds,
            open_seconds=p.open_seconds,
            utilisation=p.utilisation,
            sessions=p.sessions,
            open_days=p.open_days,
            sessions_per_day=p.sessions_per_day,
            devices=[DeviceUtilisationOut.of(d) for d in p.devices],
        )


class MoveOut(BaseModel):
    device_id: int
    kind: str
    from_point: int
    to_point: int
    from_before: float
    from_after: float
    to_before: float
    to_after: float
    reason: str

    @classmethod
    def of(cls, m: policy.Move) -> MoveOut:
        return cls(
            device_id=m.device_id,
            kind=m.kind,
            from_point=m.from_point,
            to_point=m.to_point,
            from_before=m.from_before,
            from_after=m.from_after,
            to_before=m.to_before,
            to_after=m.to_after,
            reason=m.reason,
        )


class DeviceStateOut(BaseModel):
    device_id: int
    serial: str
    kind: str
    point_id: int
    liveness: str
    last_seen_at: dt.datetime | None
    last_used_at: dt.datetime | None
    unused_since: dt.datetime
    point_open_now: bool

    @classmethod
    def of(cls, s: DeviceState) -> DeviceStateOut:
        return cls(
            device_id=s.device_id,
            serial=s.serial,
            kind=s.kind,
            point_id=s.point_id,
            liveness=s.liveness.value,
            last_seen_at=s.last_seen_at,
            last_used_at=s.last_used_at,
            unused_since=s.unused_since,
            point_open_now=s.point_open_now,
        )


class PlaceOut(BaseModel):
    id: int
    name: str
    kind: str
    address: str
    district: str
    hours: str
    open_now: bool
    matters: list[str]
    latitude: float | None
    longitude: float | None
    distance_km: float | None
