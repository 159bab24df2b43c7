"""Everything that runs beside the web requests: the outbox worker and the periodic loops.

One list, started inside `zhishui serve` (ZHISHUI_RUN_WORKER, the default) or by `zhishui worker` in a
process of its own when the web processes run without it, so the two can never drift apart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from zhishui.booking.prereview_storage import LocalFileStore
from zhishui.center.tasks import center_handlers
from zhishui.center.workorders.tasks import workorder_handlers
from zhishui.channels.dingtalk import LogWorkNotice, WorkNotice
from zhishui.channels.dingtalk_notice import work_notice_for
from zhishui.channels.senders import ChannelSender
from zhishui.config import Settings
from zhishui.insight.warnings.tasks import warning_handlers
from zhishui.kit.clock import Clock
from zhishui.kit.events import Broker
from zhishui.notify.outbox import Handler, OutboxWorker
from zhishui.notify.providers import Provider
from zhishui.notify.tasks import default_handlers

RunForever = Callable[[threading.Event, float], None]


def default_work_notice(settings: Settings) -> WorkNotice:
    """DingTalk work notices for work orders: the real provider once an app key is configured."""
    return work_notice_for(
        settings.dingtalk_app_key, settings.dingtalk_app_secret, settings.dingtalk_robot_code, LogWorkNotice()
    )


def outbox_handlers(
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: Clock,
    broker: Broker,
    *,
    providers: Mapping[str, Provider],
    senders: Mapping[str, ChannelSender],
    work_notice: WorkNotice,
) -> dict[str, Handler]:
    return {
        **default_handlers(providers),
        **center_handlers(session_factory, clock, senders, broker),
        **workorder_handlers(work_notice, settings.public_url),
        **warning_handlers(work_notice, settings.public_url),
    }


@dataclass
class Background:
    settings: Settings
    session_factory: sessionmaker[Session]
    clock: Clock
    broker: Broker
    file_store: LocalFileStore
    outbox: OutboxWorker

    def loops(self) -> list[tuple[str, RunForever, float]]:
        """(thread name, run_forever, interval in seconds) of everything to run."""
        from zhishui.booking.tasks import BookingLoop
        from zhishui.center.workorders.tasks import WorkOrderLoop
        from zhishui.hall.tasks import AutoModeLoop
        from zhishui.insight.analytics.tasks import ExportLoop
        from zhishui.insight.warnings.tasks import WarningLoop

        s, factory, clock = self.settings, self.session_factory, self.clock
        booking = BookingLoop(factory, clock, self.file_store, retention_days=s.prereview_retention_days)
        return [
            ("outbox", self.outbox.run_forever, s.worker_interval_seconds),
            (
                "hall-auto-mode",
                AutoModeLoop(factory, clock, self.broker).run_forever,
                s.auto_mode_interval_seconds,
            ),
            ("booking", booking.run_forever, s.booking_interval_seconds),
            ("work-orders", WorkOrderLoop(factory, clock).run_forever, s.workorder_interval_seconds),
            (
                "analytics-export",
                ExportLoop(factory, clock, s.data_dir, s.secret_key).run_forever,
                s.analytics_export_interval_seconds,
            ),
            ("warnings", WarningLoop(factory, clock).run_forever, s.warning_interval_seconds),
        ]

    def start(self, stop: threading.Event) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=run, args=(stop, interval), name=name, daemon=True)
            for name, run, interval in self.loops()
        ]
        for thread in threads:
            thread.start()
        return threads
