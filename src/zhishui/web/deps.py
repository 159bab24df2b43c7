"""Typed dependencies every route uses: the request's session, clock, settings and templates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from zhishui.audit.recorder import Actor, set_actor
from zhishui.config import Settings
from zhishui.kit.clock import Clock
from zhishui.kit.db import transaction


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: commit when the route returns, roll back on any error.

    Declared with scope="function" so the commit happens before the response is sent: a failed commit
    is the client's error response, not a silent loss after a 200.
    """
    state = request.app.state
    with transaction(state.session_factory) as session:
        session.info["broker"] = state.broker
        session.info["clock"] = state.clock
        # Links in SMS and QR codes: the configured address, else (development) the one asked at.
        public_url = state.settings.public_url or str(request.base_url)
        session.info["public_url"] = public_url.rstrip("/")
        set_actor(session, Actor("anonymous", ip=client_ip(request)))
        yield session


# Dependencies that only read app state are `async`: FastAPI runs a plain `def` dependency in the
# thread pool, a hop that costs more than the work under load.
async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_templates(request: Request) -> Jinja2Templates:
    templates: Jinja2Templates = request.app.state.templates
    return templates


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
