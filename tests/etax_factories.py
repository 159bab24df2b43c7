"""Online submissions for tests: `submission(7)` is 网办 number WB…0007, filed `minutes_ago` before NOW."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from tests.center_factories import NOW
from zhishui.center import etax
from zhishui.channels.etax import Submission

USCC = "91330106MA2H3K4P5R"
OTHER_USCC = "91330110MA27Y8QW0H"


def submission(
    n: int,
    *,
    minutes_ago: int = 0,
    matter_code: str = "QK-DEC-01",
    tax_id: str = USCC,
    account: str = "etax_zhang01",
    title: str | None = None,
    tax_office: str | None = None,
    now: dt.datetime = NOW,
) -> Submission:
    return Submission(
        number=f"WB202611300{n:05d}",
        matter_code=matter_code,
        tax_id=tax_id,
        account=account,
        title=title or f"增值税申报更正（第 {n} 件）",
        submitted_at=now - dt.timedelta(minutes=minutes_ago),
        raw={},
        tax_office=tax_office,
    )


def queue(session: Session, center_code: str, count: int, *, now: dt.datetime = NOW) -> list[int]:
    """`count` submissions in the center with code `center_code`, the first one the oldest."""
    return [
        etax.receive_submission(
            session, submission(n, minutes_ago=count - n, tax_office=center_code, now=now), now=now
        ).request_id
        for n in range(count)
    ]
