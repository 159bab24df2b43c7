"""The worker's history export: every `interval` seconds (an hour by default, the first a minute after
start), the months that are due are written as Parquet (export.export_history: past months once, the
current one refreshed).

Started with the other loops (background.py) by `zhishui serve` and `zhishui worker`. Several processes may run it: each file is
written beside its final name and renamed over it, so two writers of one month leave one whole file.

    loop = ExportLoop(session_factory, clock, data_dir, secret)
    threading.Thread(target=loop.run_forever, args=(stop, 3600.0), name="analytics-export", daemon=True)
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from zhishui.insight.analytics.export import ExportSummary, export_history
from zhishui.kit.clock import Clock

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_SECONDS = 3600.0
STARTUP_DELAY_SECONDS = 60.0


class ExportLoop:
    def __init__(
        self, session_factory: sessionmaker[Session], clock: Clock, data_dir: Path, secret: str
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.data_dir = data_dir
        self.secret = secret

    def run_once(self) -> ExportSummary:
        summary = export_history(
            self.session_factory, self.data_dir, now=self.clock.now(), secret=self.secret
        )
        log.info("analytics export: %s", summary.describe())
        return summary

    def run_forever(self, stop: threading.Event, interval: float = DEFAULT_INTERVAL_SECONDS) -> None:
        # Not at the very start: a server that is starting up (or a test's app) has other work first,
        # and `zhishui demo` writes its snapshots itself right after loading the history.
        if stop.wait(min(STARTUP_DELAY_SECONDS, interval)):
            return
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # nothing half-written is visible (atomic renames); tried again next time
                log.exception("analytics export failed; retrying")
            stop.wait(interval)
