"""Routing a visit is a compare-and-set in the database: two desks that both see a person at triage
and send them to different zones at the same moment cannot both succeed (DESIGN habit 5)."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import hall_world, staff
from zhishui.hall import desk, visits
from zhishui.hall.models import Visit, VisitStep
from zhishui.hall.policy import Zone
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.db import make_session_factory
from zhishui.kit.errors import Conflict

# Threads that each hold a PostgreSQL connection: these modules share one xdist worker so two of them
# never run at once and exhaust the server's connection limit.
pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("postgres-threads")]

NOW = dt.datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI)
ROUNDS = 12
Route = Callable[[Session, Visit, Zone], object]


def _by_service(session: Session, visit: Visit, zone: Zone) -> object:
    return visits.send_to(session, visit, zone, now=NOW, staff_id=None)


def _by_desk(session: Session, visit: Visit, zone: Zone) -> object:
    """The triage desk's button (what the JSON API's route and the desk pages call)."""
    return desk.act_at_triage(session, visit, zone.value, now=NOW, staff_id=None)  # type: ignore[arg-type]


@pytest.fixture
def pg_factory(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_engine(postgres_url, pool_size=4, max_overflow=0, pool_timeout=60)
    yield make_session_factory(engine)
    engine.dispose()


def _send_both_ways_at_once(
    factory: sessionmaker[Session], hall_id: int, visit_id: int, route: Route
) -> dict[Zone, str]:
    """Two desks load the visit, both see it at triage, then one sends it to the quick desk and the
    other to self-service in the same instant; each desk's outcome."""
    seen = threading.Barrier(2, timeout=30)
    outcomes: dict[Zone, str] = {}

    def desk_sends(zone: Zone) -> None:
        try:
            with factory() as s:
                visit = visits.visit_in_hall(s, hall_id, visit_id)
                assert visit.zone == Zone.TRIAGE
                seen.wait()
                route(s, visit, zone)
                s.commit()
            outcomes[zone] = "sent"
        except Conflict as exc:
            outcomes[zone] = f"409 {exc.message}"
        except Exception as exc:  # reported, not swallowed: the assertion below shows it
            outcomes[zone] = f"error {type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=desk_sends, args=(z,)) for z in (Zone.QUICK, Zone.SELF)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


@pytest.mark.parametrize("route", [_by_service, _by_desk], ids=["send_to", "triage_desk"])
def test_two_desks_sending_one_visit_to_different_zones_at_once_only_one_wins(
    pg_factory: sessionmaker[Session], route: Route
) -> None:
    with pg_factory() as s:
        hall_id = hall_world(s, NOW, stations=1).hall_id
        ids = [visits.arrive(s, hall_id, matter_codes=["QK-DEC-01"], now=NOW).id for _ in range(ROUNDS)]
        s.commit()

    results = [_send_both_ways_at_once(pg_factory, hall_id, visit_id, route) for visit_id in ids]

    winners: Counter[Zone] = Counter()
    for visit_id, outcome in zip(ids, results, strict=True):
        assert sorted(o.split(" ")[0] for o in outcome.values()) == ["409", "sent"], outcome
        (won,) = [zone for zone, o in outcome.items() if o == "sent"]
        (lost,) = [o for o in outcome.values() if o != "sent"]
        assert lost == "409 该纳税人已被分流、已取号或已结束，请刷新"
        winners[won] += 1
        with pg_factory() as s:
            visit = s.get(Visit, visit_id)
            assert visit is not None
            assert (visit.zone, visit.stage) == (won, "waiting" if won == Zone.QUICK else "present")
            sent = s.execute(
                select(VisitStep.kind).where(VisitStep.visit_id == visit_id, VisitStep.kind.like("sent_%"))
            ).scalars()
            assert list(sent) == [f"sent_{won.value}"], "the loser left no step behind"
    assert sum(winners.values()) == ROUNDS
    with pg_factory() as s:
        assert s.execute(select(func.count()).where(VisitStep.kind.like("sent_%"))).scalar_one() == ROUNDS


def test_a_visit_is_not_sent_to_the_zone_it_is_already_in(pg_factory: sessionmaker[Session]) -> None:
    """A second press of the same button, or a re-route the quick desk has meanwhile acted on, is a
    409 and leaves the visit as the quick desk left it."""
    with pg_factory() as s:
        world = hall_world(s, NOW, stations=1)
        hall_id, clerk = world.hall_id, staff(s, "kuaiban", world.tree.hall_a, "quick_desk").id
        visit = visits.arrive(s, hall_id, matter_codes=["QK-DEC-01"], now=NOW)
        visits.send_to(s, visit, Zone.QUICK, now=NOW, staff_id=None)
        s.commit()
        visit_id = visit.id
    with pg_factory() as s:
        stale = visits.visit_in_hall(s, hall_id, visit_id)  # seen waiting at the quick desk
        with pg_factory() as other:
            started = visits.visit_in_hall(other, hall_id, visit_id)
            visits.zone_action(other, started, Zone.QUICK, "start", now=NOW, staff_id=clerk)
            other.commit()
        with pytest.raises(Conflict, match="已在快办区"):
            visits.send_to(s, stale, Zone.QUICK, now=NOW, staff_id=None)
        with pytest.raises(Conflict, match="已被分流、已取号或已结束"):
            visits.send_to(s, stale, Zone.SELF, now=NOW, staff_id=None)
        s.rollback()
    with pg_factory() as s:
        visit = s.get(Visit, visit_id)
        assert visit is not None and (visit.zone, visit.stage) == (Zone.QUICK, "serving")
