"""`zhishui demo`'s history step: twelve months loaded into the fresh demo database (demo.history), then
the Parquet snapshots written for the heavy analyses (insight.analytics.export), so the big screen,
the reports and `zhishui insight …` all have a year to show on first start."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable

from zhishui.config import Settings
from zhishui.demo.history import HistoryPlan, HistorySummary, has_history, load_history
from zhishui.insight.analytics import layout
from zhishui.insight.analytics.export import ExportSummary, export_history
from zhishui.kit.clock import SystemClock
from zhishui.kit.db import create_db_engine, make_session_factory, transaction


def load_demo_history(
    settings: Settings, plan: HistoryPlan, say: Callable[[str], None]
) -> tuple[HistorySummary, ExportSummary | None, float]:
    """Load the history unless the database has some, then rewrite the snapshots (the demo database
    is new, so snapshots of an earlier one are removed first). Returns both summaries and seconds."""
    started = time.perf_counter()
    engine = create_db_engine(settings.database_url)
    factory = make_session_factory(engine)
    now = SystemClock().now()
    try:
        with factory() as session:
            if has_history(session, now=now):
                return HistorySummary(skipped=True), None, time.perf_counter() - started
        with transaction(factory) as session:
            summary = load_history(session, now=now, plan=plan, progress=say)
        say("writing the analytics snapshots …")
        shutil.rmtree(layout.root(settings.data_dir), ignore_errors=True)
        exported = export_history(factory, settings.data_dir, now=now, secret=settings.secret_key, full=True)
    finally:
        engine.dispose()
    return summary, exported, time.perf_counter() - started
