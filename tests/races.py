"""Parallel tests on real PostgreSQL: release n threads together and collect what each got."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def race(n: int, work: Callable[[int], T]) -> list[T | BaseException]:
    """Run `work(i)` for i in 0..n-1 on n threads released together; each result or raised error."""
    barrier = threading.Barrier(n, timeout=60)

    def run(i: int) -> T | BaseException:
        barrier.wait()
        try:
            return work(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))
