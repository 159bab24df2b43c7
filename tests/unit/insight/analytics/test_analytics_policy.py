"""The snapshot rules: months to write, the analysis window, the phone key, online-capable matters,
and files replaced whole."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from zhishui.insight.analytics.layout import month_file, write_table
from zhishui.insight.analytics.policy import (
    add_months,
    months_between,
    months_to_write,
    online_capable,
    phone_key,
    window,
)

D = dt.date


def test_past_months_are_written_once_and_the_months_still_settling_every_time() -> None:
    plan = months_to_write(D(2026, 8, 14), D(2026, 11, 5), frozenset({"2026-08"}))
    # October ended less than 7 days ago: rewritten with November; September is missing, August exists.
    assert plan.refresh == ("2026-10", "2026-11")
    assert plan.missing == ("2026-09",)
    assert plan.months == ("2026-09", "2026-10", "2026-11")
    settled = months_to_write(D(2026, 8, 14), D(2026, 11, 8), frozenset({"2026-08", "2026-09", "2026-10"}))
    assert (settled.refresh, settled.missing) == (("2026-11",), ())


def test_nothing_to_write_without_history() -> None:
    assert months_to_write(None, D(2026, 11, 5), frozenset()).months == ()


def test_the_window_is_whole_months_back_from_as_of_both_ends_included() -> None:
    assert window(D(2026, 11, 30), 12) == (D(2025, 12, 1), D(2026, 11, 30))
    assert window(D(2026, 3, 31), 1) == (D(2026, 3, 1), D(2026, 3, 31))
    assert add_months(D(2026, 3, 31), -1) == D(2026, 2, 28)
    assert add_months(D(2024, 3, 31), -1) == D(2024, 2, 29)
    assert months_between(D(2025, 11, 30), D(2026, 2, 1)) == ["2025-11", "2025-12", "2026-01", "2026-02"]


def test_a_phone_key_is_stable_negative_and_depends_on_the_secret() -> None:
    a = phone_key("138 0013 8000", "secret-1")
    assert a is not None and a < 0
    assert phone_key("13800138000", "secret-1") == a
    assert phone_key("13800138000", "secret-2") != a
    assert phone_key("13800138001", "secret-1") != a
    assert phone_key(None, "secret-1") is None
    assert phone_key("", "secret-1") is None


def test_online_capable_is_the_catalogs_online_flag_or_the_fully_online_route() -> None:
    assert online_capable("self", False)
    assert online_capable("quick", True)
    assert not online_capable("quick", False)
    assert not online_capable("studio", False)


def test_writers_of_one_month_at_once_leave_one_whole_file(tmp_path: Path) -> None:
    target = month_file(tmp_path, "visits", "2026-11")
    tables = [pa.table({"n": list(range(k * 1000, k * 1000 + 1000))}) for k in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda t: write_table(target, t), tables))
    written = pq.read_table(target)
    assert any(written.equals(t) for t in tables)
    assert [p.name for p in target.parent.iterdir()] == ["data.parquet"]  # no temporary file left
