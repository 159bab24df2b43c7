"""The demo county's online submissions (网办): the center's queue that hall stations in back-office
mode and the center's agents take from, filed over the last working hours."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhishui.catalog.models import Matter
from zhishui.center.etax import receive_submission
from zhishui.channels.etax import Submission
from zhishui.org.models import OrgUnit
from zhishui.taxpayers.models import Taxpayer

SUBMISSIONS = 40


def seed_submissions(
    session: Session, rng: random.Random, center: OrgUnit, county: OrgUnit, *, now: dt.datetime
) -> int:
    """File SUBMISSIONS online submissions of the county's taxpayers into the center's queue."""
    online = (
        session.execute(select(Matter).where(Matter.online, Matter.active).order_by(Matter.sort_order))
        .scalars()
        .all()
    )
    taxpayers = session.execute(
        select(Taxpayer.tax_id, Taxpayer.name)
        .where(Taxpayer.org_unit_id == county.id)
        .order_by(Taxpayer.id)
        .limit(400)
    ).all()
    if not online or not taxpayers:
        return 0
    day = now.strftime("%Y%m%d")
    for n in range(SUBMISSIONS):
        matter = rng.choice(online)
        tax_id, name = rng.choice(taxpayers)
        submission = Submission(
            number=f"WB{day}{n + 1:06d}",
            matter_code=matter.code,
            tax_id=tax_id,
            account=f"etax_{tax_id[-8:].lower()}",
            title=f"{matter.name}（{name}）"[:120],
            submitted_at=now - dt.timedelta(minutes=rng.randint(5, 60 * 24 * 3)),
            raw={},
            tax_office=center.code,
        )
        receive_submission(session, submission, now=now)
    return SUBMISSIONS
