"""The knowledge base's rules under parallel load on real PostgreSQL: an import upserts by key (a unique
constraint and ON CONFLICT, never check-then-insert), and votes count with one UPDATE each."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW, org_tree
from zhishui.center.knowledge import service
from zhishui.center.knowledge.models import KbArticle, KbFeedback, KbRevision
from zhishui.center.knowledge.schemas import FeedbackIn
from zhishui.kit.db import transaction

pytestmark = pytest.mark.xdist_group("postgres-threads")
T = TypeVar("T")
THREADS = 12
ROWS = 60
FILE = (
    "问题,答案\n" + "".join(f"第{i}号问题：如何办理第{i}项业务？,第{i}项业务的答案。\n" for i in range(ROWS))
).encode()


def _fire(factory: sessionmaker[Session], work: Callable[[Session], T], n: int) -> list[T]:
    """``n`` threads, each in its own transaction, released together."""
    barrier = threading.Barrier(n)

    def one(_: int) -> T:
        with transaction(factory) as session:
            barrier.wait(timeout=30)
            return work(session)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_parallel_imports_of_one_file_make_each_article_once(postgres_url: str) -> None:
    engine = create_engine(postgres_url, pool_size=THREADS, max_overflow=0)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with transaction(factory) as s:
        bureau = org_tree(s).county_a.id

    reports = _fire(
        factory,
        lambda s: service.import_csv(s, bureau, FILE, source="并发导入", staff_id=None, now=NOW),
        THREADS,
    )
    with factory() as s:
        rows = s.scalar(select(func.count()).select_from(KbArticle).where(KbArticle.org_unit_id == bureau))
        revision = s.scalar(select(KbRevision.revision).where(KbRevision.org_unit_id == bureau))
    engine.dispose()
    assert rows == ROWS
    assert sum(r.imported for r in reports) == ROWS
    assert sum(r.updated for r in reports) == 0
    assert all(r.imported + r.unchanged == ROWS for r in reports)
    assert revision is not None and revision >= 1


def test_parallel_votes_on_one_article_all_count(postgres_url: str) -> None:
    engine = create_engine(postgres_url, pool_size=THREADS, max_overflow=0)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with transaction(factory) as s:
        bureau = org_tree(s).county_a.id
        service.import_csv(s, bureau, FILE, source="投票", staff_id=None, now=NOW)
        article_id = s.scalar(select(func.min(KbArticle.id)))
    assert article_id is not None

    def vote(s: Session) -> None:
        for i in range(5):
            service.record_feedback(
                s, bureau, article_id, FeedbackIn(helpful=i % 5 != 0), staff_id=None, now=NOW
            )

    _fire(factory, vote, THREADS)
    with factory() as s:
        article = s.get(KbArticle, article_id)
        feedback = s.scalar(select(func.count()).select_from(KbFeedback))
    engine.dispose()
    assert article is not None
    assert (article.helpful, article.unhelpful) == (THREADS * 4, THREADS)
    assert feedback == THREADS * 5
