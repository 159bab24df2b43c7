"""The analytics bench runs end to end on a small case (timing it is not a test)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO_ROOT


def test_the_analytics_bench_runs_small_and_duckdb_and_pandas_agree() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "analytics.py"), "--json", "--events", "20000"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["events"] == 20000
    assert out["ours_s"] > 0 and out["pandas_s"] > 0 and out["speedup"] > 0
    # The two engines computed the same repeat visitors and the same KPI cells.
    assert out["agree"] is True and out["checks"] == {"repeat_visitors": True, "kpis": True}
    assert out["repeat_visitors"] > 0
    assert out["kpi_rows"] == 5 * 12  # five halls, twelve months
