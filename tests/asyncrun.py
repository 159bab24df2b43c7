"""Run a coroutine to completion from a test, whatever loop the test's thread already has.

The browser tests' Playwright keeps an event loop running in the main thread of an xdist worker, where
`asyncio.run` refuses to start; a fresh thread always has none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout=timeout)
