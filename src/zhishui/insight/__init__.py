"""Insight: the bureau's service metrics, the big-screen dashboard, reports, early warnings, outreach
and service-point devices (the "data-driven service" part of the brief).

The top-level modules hold the metrics (`metrics_policy` defines each figure once; `metrics_repository`
reads the rows; `metrics` is the service other packages call) and the pages built on them; the
analytics, outreach and warning work live in sub-packages of their own.
"""
