"""Property-based requests against our own OpenAPI spec: no input may produce a server error.

Schemathesis generates valid and invalid requests for every /api/v1 operation; each must answer with
a documented 2xx or a 4xx, never a 5xx, and must conform to the response schema it declares.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
    status_code_conformance,
)

from tests.e2e.helpers import csrf_from, login, make_client
from tests.factories import PASSWORD, org_tree, seed_grants, staff, unit
from zhishui.catalog.service import import_default_catalog
from zhishui.kit import csrf
from zhishui.kit.clock import FrozenClock
from zhishui.kit.db import create_db_engine
from zhishui.org.models import UnitKind

pytestmark = pytest.mark.xdist_group("api-fuzz")


@pytest.fixture(scope="module")
def signed_in(tmp_path_factory: pytest.TempPathFactory, sqlite_template: object) -> Iterator[TestClient]:
    import datetime as dt
    import shutil

    from zhishui.kit.clock import SHANGHAI

    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    shutil.copy(str(sqlite_template), path)
    url = f"sqlite:///{path}"
    clock = FrozenClock(dt.datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI))
    # A deployment has a tax center receiving channel traffic (without one, the channels answer 503
    # "not configured", rightly a server-side condition).
    client, _ = make_client(url, clock, center_unit="CA-TC")
    with client:
        with client.app.state.session_factory() as s, s.begin():  # type: ignore[attr-defined]
            tree = org_tree(s)
            unit(s, tree.county_a, UnitKind.TAX_CENTER, "CA-TC", "甲县智税中心")
            seed_grants(s)
            staff(s, "admin", tree.province, "admin")
            import_default_catalog(s, now=clock.now())
        assert login(client, "admin", PASSWORD).status_code == 303
        yield client
    create_db_engine(url).dispose()


def test_no_request_makes_the_api_fail(signed_in: TestClient) -> None:
    # Hypothesis drives each operation directly: schemathesis' own pytest plugin does not support
    # the pytest this project pins.
    api = schemathesis.openapi.from_asgi("/openapi.json", signed_in.app).include(path_regex="^/api/v1/")
    cookies = dict(signed_in.cookies.items())
    headers = {csrf.HEADER: csrf_from(signed_in, "/")}
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 6, "the API spec lost operations"
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(
                cookies=cookies,
                headers=headers,
                # Business rules answer 4xx to schema-valid input (an unknown parent, a taken code).
                excluded_checks=[negative_data_rejection, positive_data_acceptance, status_code_conformance],
            )

        check()
