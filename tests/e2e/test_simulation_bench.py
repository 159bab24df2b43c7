"""The simulation bench runs end to end on a small case (timing it is not a test)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO_ROOT


def test_the_simulation_bench_runs_small_and_prints_its_json() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "bench" / "simulation.py"),
            "--json",
            "--customers",
            "2000",
            "--days",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["customers"] == 2000
    assert out["ours_s"] > 0 and out["simpy_s"] > 0 and out["speedup"] > 0
    # The fast path and the event loop run one model on the same streams: the same answer.
    assert out["mean_wait_s"]["ours"] == out["mean_wait_s"]["ours_event_loop"]
    assert out["year_days"] == 1 and out["year_halls"] == 5 and out["year_visitors"] > 0
