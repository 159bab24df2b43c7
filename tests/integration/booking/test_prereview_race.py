"""Pre-review under parallel load on PostgreSQL: two reviewers deciding the same pre-review at the same
instant (one wins, the other gets a 409, one SMS leaves), and two first submissions for one booking (one
pre-review, one set of files; the loser's files are removed with its rollback)."""

from __future__ import annotations

import io
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.booking_factories import NOW, PHONE, add_booking, pdf_bytes, png_bytes, prereview_world
from tests.integration.booking.test_prereview_service import principal
from zhishui.booking import prereview as service
from zhishui.booking.models import PreReview, PreReviewFile
from zhishui.booking.prereview_policy import UploadLimits
from zhishui.booking.prereview_storage import LocalFileStore
from zhishui.kit.db import make_session_factory
from zhishui.kit.errors import Conflict
from zhishui.notify.models import OutboxMessage

# Threads that each hold a PostgreSQL connection: these modules share one xdist worker so two of them
# never run at once and exhaust the server's connection limit.
pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("postgres-threads")]

ROUNDS = 10
LIMITS = UploadLimits(max_file_bytes=64 * 1024, max_files=5)


@pytest.fixture
def pg_factory(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_engine(postgres_url, pool_size=4, max_overflow=0, pool_timeout=60)
    yield make_session_factory(engine)
    engine.dispose()


def _at_once(work: list[Callable[[Session], object]], factory: sessionmaker[Session]) -> list[str]:
    """Run each piece of work in its own thread and transaction, released together; each outcome."""
    gate = threading.Barrier(len(work), timeout=30)
    outcomes: list[str] = [""] * len(work)

    def run(i: int) -> None:
        try:
            with factory() as s:
                gate.wait()
                work[i](s)
                s.commit()
            outcomes[i] = "ok"
        except Conflict as exc:
            outcomes[i] = f"409 {exc.message}"
        except Exception as exc:  # reported, not swallowed: the assertion shows it
            outcomes[i] = f"error {type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def test_two_reviewers_deciding_at_once_one_wins_and_one_message_leaves(
    pg_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    store = LocalFileStore(tmp_path / "uploads")
    with pg_factory() as s:
        world = prereview_world(s)
        pre_ids = []
        for i in range(ROUNDS):
            booking = add_booking(s, world.hall_a, world.queue_a, phone=f"1380013{i:04d}")
            pre = service.submit_materials(
                s, store, token=booking.token, phone=booking.phone,
                uploads=[service.Upload("a.pdf", None, io.BytesIO(pdf_bytes()))], limits=LIMITS, now=NOW,
            )  # fmt: skip
            pre_ids.append(pre.id)
        s.commit()
        first, second = principal(s, world.reviewer_a), principal(s, world.reviewer_a2)

    tally: Counter[str] = Counter()
    for pre_id in pre_ids:
        outcomes = _at_once(
            [
                lambda s, p=pre_id: service.review(s, first, p, "approve", now=NOW),
                lambda s, p=pre_id: service.review(s, second, p, "return", reason="合同缺页", now=NOW),
            ],
            pg_factory,
        )
        assert sorted(o[:3] for o in outcomes) == ["409", "ok"], outcomes
        assert any("请刷新后查看" in o for o in outcomes)
        tally[("approve", "return")[outcomes.index("ok")]] += 1

    with pg_factory() as s:
        statuses = Counter(s.execute(select(PreReview.status)).scalars())
        assert statuses == {"approved": tally["approve"], "returned": tally["return"]}
        messages = s.execute(select(OutboxMessage.payload)).scalars().all()
        per_phone = Counter(m["to"] for m in messages)
        assert len(per_phone) == ROUNDS and set(per_phone.values()) == {1}  # one decision, one SMS each


def test_two_first_submissions_at_once_make_one_pre_review_and_keep_one_set_of_files(
    pg_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    store = LocalFileStore(tmp_path / "uploads")
    with pg_factory() as s:
        world = prereview_world(s)
        tokens = [add_booking(s, world.hall_a, world.queue_a, phone=PHONE).token for _ in range(ROUNDS)]
        s.commit()

    def submit(token: str, name: str, data: bytes) -> Callable[[Session], object]:
        return lambda s: service.submit_materials(
            s, store, token=token, phone=PHONE,
            uploads=[service.Upload(name, len(data), io.BytesIO(data))], limits=LIMITS, now=NOW,
        )  # fmt: skip

    for token in tokens:
        outcomes = _at_once(
            [submit(token, "一.pdf", pdf_bytes()), submit(token, "二.png", png_bytes())], pg_factory
        )
        assert sorted(o[:3] for o in outcomes) == ["409", "ok"], outcomes
        assert any("正在审核中" in o for o in outcomes)

    with pg_factory() as s:
        assert s.execute(select(func.count()).select_from(PreReview)).scalar_one() == ROUNDS
        names = set(s.execute(select(PreReviewFile.stored_name)).scalars())
    assert len(names) == ROUNDS  # one file per booking: the winner's
    on_disk = {p.name for p in store.root.rglob("*") if p.is_file()}
    assert on_disk == names  # the losers wrote nothing, or removed what they wrote
