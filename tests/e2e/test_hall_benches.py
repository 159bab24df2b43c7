"""The hall benches start: they import and print their usage (running them is not a test)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


@pytest.mark.parametrize("script", ["queue.py", "display_latency.py", "booking_storm.py"])
def test_the_bench_script_imports_and_prints_its_usage(script: str) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / script), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert "--json" in done.stdout and "--workers" in done.stdout
