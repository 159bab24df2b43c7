"""Fixtures of the org tests: the two-county bureau of the taxpayer tests, with a few matters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.factories import NOW
from tests.integration.taxpayers.staff_world import World, build_world
from zhishui.catalog.models import Matter


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    w = build_world(db_url)
    with w.db() as s:
        for n, (name, route) in enumerate(
            [("发票领用", "quick"), ("增值税及附加税费申报", "self"), ("注销税务登记", "studio")]
        ):
            s.add(Matter(code=f"T{n}", name=name, category="测试", route=route, updated_at=NOW))
        s.commit()
    yield w
    for c in w.clients:
        c.close()
    w.app.state.engine.dispose()
