"""The FastAPI application factory."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from zhishui.background import Background, default_work_notice, outbox_handlers
from zhishui.booking.prereview_pages import UploadBodyLimit, upload_limits
from zhishui.booking.prereview_storage import store_for
from zhishui.channels.runtime import ChannelRuntime
from zhishui.channels.senders import ChannelSender, default_senders
from zhishui.config import Settings, get_settings
from zhishui.kit.clock import Clock, SystemClock
from zhishui.kit.db import create_db_engine, make_session_factory, transaction
from zhishui.kit.events import make_broker
from zhishui.kit.http_errors import install_error_handlers
from zhishui.kit.middleware import BodySizeLimit, CsrfCookie, InFlightLimit
from zhishui.kit.openapi import install_openapi
from zhishui.notify.outbox import OutboxWorker
from zhishui.notify.providers import LogProvider, Provider
from zhishui.web.templating import make_templates

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).parent / "web"


def default_providers() -> dict[str, Provider]:
    log_provider = LogProvider()
    return {"sms": log_provider, "wechat": log_provider, "dingtalk": log_provider}


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    providers: Mapping[str, Provider] | None = None,
    senders: Mapping[str, ChannelSender] | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    settings.check_safe()
    engine = create_db_engine(settings.database_url)
    session_factory = make_session_factory(engine)
    clock = clock or SystemClock()
    providers = dict(providers or default_providers())
    broker = make_broker(settings.redis_url)
    # The center's replies by channel (channels.senders): a registry of its own rather than more
    # notify providers, because a reply needs its conversation (DingTalk's session webhook) and
    # must tell a refusal for good (WeChat's 48-hour window) from one worth retrying.
    senders = dict(senders or default_senders(settings, providers))
    work_notice = default_work_notice(settings)
    handlers = outbox_handlers(
        settings,
        session_factory,
        clock,
        broker,
        providers=providers,
        senders=senders,
        work_notice=work_notice,
    )
    worker = OutboxWorker(session_factory, handlers, clock)
    file_store = store_for(settings)  # pre-review uploads, outside the web root

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from zhishui.identity.service import ensure_default_grants, refuse_demo_accounts_outside_development
        from zhishui.workdays.service import ensure_calendar

        refuse_demo_accounts_outside_development(session_factory, settings)
        with transaction(session_factory) as session:
            ensure_default_grants(session, clock.now())
            ensure_calendar(session, clock.now())
        stop = threading.Event()
        threads: list[threading.Thread] = []
        if settings.run_worker:
            background = Background(settings, session_factory, clock, broker, file_store, worker)
            threads = background.start(stop)
        try:
            yield
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=5)
            engine.dispose()

    app = FastAPI(
        title="zhishui 智税",
        version="0.1.0",
        description="Taxpayer service for a tax bureau: smart hall, smart tax center, service points.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.clock = clock
    app.state.broker = broker
    app.state.providers = providers
    app.state.work_notice = work_notice
    app.state.senders = senders
    app.state.channels = ChannelRuntime.build(settings, clock)  # callback adapters, one replay cache
    app.state.worker = worker
    app.state.rate_limiters = {}
    app.state.templates = make_templates(WEB_DIR / "templates")
    app.state.file_store = file_store

    app.add_middleware(CsrfCookie, secure=not settings.is_development)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(UploadBodyLimit, limits=upload_limits(settings))  # outside BodySizeLimit
    app.add_middleware(InFlightLimit, limit=settings.max_in_flight)  # added last: the outermost
    install_error_handlers(app)
    install_openapi(app)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static", check_dir=False), name="static")
    _include_routers(app)
    return app


def _include_routers(app: FastAPI) -> None:
    from zhishui.booking import admin_api as booking_admin_api
    from zhishui.booking import admin_pages as booking_admin_pages
    from zhishui.booking import api as booking_api
    from zhishui.booking import check_in_api as booking_check_in_api
    from zhishui.booking import check_in_pages as booking_check_in_pages
    from zhishui.booking import pages as booking_pages
    from zhishui.booking import prereview_api, prereview_pages
    from zhishui.catalog import api as catalog_api
    from zhishui.catalog import pages as catalog_pages
    from zhishui.center import api as center_api
    from zhishui.center import expert_pages as center_expert_pages
    from zhishui.center import live as center_live
    from zhishui.center import pages as center_pages
    from zhishui.center import supervise_api as center_supervise_api
    from zhishui.center import supervise_pages as center_supervise_pages
    from zhishui.center import timeline_api as center_timeline_api
    from zhishui.center.knowledge import api as knowledge_api
    from zhishui.center.knowledge import pages as knowledge_pages
    from zhishui.center.workorders import api as workorders_api
    from zhishui.center.workorders import pages as workorders_pages
    from zhishui.channels import etax_api as channel_etax_api
    from zhishui.channels import web_api as channel_web_api
    from zhishui.channels import webhooks_api as channel_webhooks_api
    from zhishui.hall import admin_pages as hall_admin_pages
    from zhishui.hall import api_tickets as hall_api_tickets
    from zhishui.hall import api_visits as hall_api_visits
    from zhishui.hall import pages_desk as hall_pages_desk
    from zhishui.hall import pages_screens as hall_pages_screens
    from zhishui.hall import pages_station as hall_pages_station
    from zhishui.identity import admin_pages
    from zhishui.identity import pages as identity_pages
    from zhishui.insight import metrics_api as insight_metrics_api
    from zhishui.insight import report_pages as insight_report_pages
    from zhishui.insight import screen_pages as insight_screen_pages
    from zhishui.insight.outreach import api as outreach_api
    from zhishui.insight.outreach import pages as outreach_pages
    from zhishui.insight.warnings import api as warnings_api
    from zhishui.insight.warnings import pages as warnings_pages
    from zhishui.org import api as org_api
    from zhishui.org import pages as org_pages
    from zhishui.planning import pages as planning_pages
    from zhishui.points import api as points_api
    from zhishui.points import device_api as points_device_api
    from zhishui.points import pages as points_pages
    from zhishui.taxpayers import api as taxpayers_api
    from zhishui.taxpayers import pages as taxpayers_pages
    from zhishui.web import pages as web_pages
    from zhishui.workdays import pages as workdays_pages

    for module in (
        web_pages,
        channel_webhooks_api,
        channel_web_api,
        channel_etax_api,
        identity_pages,
        admin_pages,
        catalog_api,
        catalog_pages,
        workorders_api,
        workorders_pages,
        knowledge_api,
        knowledge_pages,
        center_supervise_api,
        center_supervise_pages,
        center_api,
        center_timeline_api,
        center_live,
        center_expert_pages,
        center_pages,
        org_api,
        org_pages,
        hall_api_visits,
        hall_api_tickets,
        hall_pages_desk,
        hall_pages_station,
        hall_pages_screens,
        hall_admin_pages,
        taxpayers_api,
        taxpayers_pages,
        workdays_pages,
        planning_pages,
        outreach_api,
        outreach_pages,
        insight_metrics_api,
        insight_screen_pages,
        insight_report_pages,
        warnings_api,
        warnings_pages,
        points_device_api,
        points_api,
        points_pages,
        # Before the booking pages: /booking/reviews is not a booking's token.
        prereview_pages,
        prereview_api,
        booking_admin_api,
        booking_admin_pages,
        booking_check_in_api,
        booking_check_in_pages,
        booking_api,
        booking_pages,
    ):
        app.include_router(module.router)
