"""The booking storm bench, run tiny against a real server on PostgreSQL: it must end with every
place taken once, none overbooked and no server error (a bench is not a test; this checks it runs)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT, _postgres_available

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("postgres-threads")]


def test_a_tiny_storm_fills_every_place_once() -> None:
    reason = _postgres_available()
    if reason:
        pytest.skip(reason)
    done = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "bench" / "booking_storm.py"),
            "--json",
            "--attempts", "120", "--slots", "10", "--capacity", "2",
            "--concurrency", "30", "--threads", "8", "--workers", "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["capacity"] == 20 and result["confirmed"] == 20
    assert result["rejected_full"] == 100 and result["overbooked"] == 0 and result["errors_5xx"] == 0
    assert result["baseline"]["confirmed"] == 20 and result["baseline"]["overbooked"] == 0
    assert set(result) >= {
        "attempts",
        "capacity",
        "confirmed",
        "rejected_full",
        "overbooked",
        "errors_5xx",
        "seconds",
        "p99_ms",
    }
