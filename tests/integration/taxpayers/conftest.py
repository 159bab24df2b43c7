"""Fixtures of the taxpayer tests: a two-county bureau with signed-in staff."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.taxpayers.staff_world import World, build_world


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    w = build_world(db_url)
    yield w
    for c in w.clients:
        c.close()
    w.app.state.engine.dispose()
