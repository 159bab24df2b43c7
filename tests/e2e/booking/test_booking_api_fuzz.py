"""Property-based requests against the taxpayer routes of the booking API, signed in as a taxpayer:
no input may produce a server error (the project-wide fuzz test signs in as staff, so these routes
only answer it 401)."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
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

from tests.e2e.booking.booking_client import booking_app, sign_in_taxpayer
from tests.e2e.helpers import csrf_from
from tests.integration.booking.booking_world import NOW, PHONE
from zhishui.kit import csrf
from zhishui.kit.clock import FrozenClock
from zhishui.kit.db import create_db_engine

pytestmark = pytest.mark.xdist_group("api-fuzz")


@pytest.fixture(scope="module")
def taxpayer_client(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: object
) -> Iterator[TestClient]:
    path = tmp_path_factory.mktemp("booking-fuzz") / "fuzz.db"
    shutil.copy(str(sqlite_template), path)
    url = f"sqlite:///{path}"
    clock = FrozenClock(NOW)
    client, _, _ = booking_app(url, clock)
    with client:
        sign_in_taxpayer(client, PHONE, NOW + dt.timedelta(seconds=0))
        yield client
    create_db_engine(url).dispose()


def test_no_request_makes_the_booking_api_fail(taxpayer_client: TestClient) -> None:
    api = schemathesis.openapi.from_asgi("/openapi.json", taxpayer_client.app).include(
        path_regex="^/api/v1/booking/(halls|bookings|deflections)"
    )
    headers = {csrf.HEADER: csrf_from(taxpayer_client, "/booking/mine")}
    cookies = dict(taxpayer_client.cookies.items())  # after the page: it set the CSRF cookie
    statuses: Counter[int] = Counter()
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 8, "the booking API spec lost operations"
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            response = case.call_and_validate(
                cookies=cookies,
                headers=headers,
                excluded_checks=[negative_data_rejection, positive_data_acceptance, status_code_conformance],
            )
            statuses[response.status_code] += 1

        check()
    # Signed in for real: the routes answered, not just the sign-in and CSRF checks.
    assert statuses[401] == statuses[403] == 0 and statuses[404] > 0, statuses
