"""Heavy history analyses: Parquet snapshots of the history written by the worker (export.py), read
with DuckDB (queries.py). The Python API other packages call is analyses.py, re-exported here."""

from zhishui.insight.analytics.analyses import (
    MatterCount,
    MonthlyKpi,
    OfflineReason,
    ReasonCount,
    RepeatVisitor,
    monthly_kpis,
    offline_reasons,
    repeat_visitors,
)

__all__ = [
    "MatterCount",
    "MonthlyKpi",
    "OfflineReason",
    "ReasonCount",
    "RepeatVisitor",
    "monthly_kpis",
    "offline_reasons",
    "repeat_visitors",
]
