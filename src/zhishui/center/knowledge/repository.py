"""Every query of the knowledge base.

Imports upsert with one ``INSERT … ON CONFLICT (org_unit_id, source, external_key) DO UPDATE`` per
chunk (PostgreSQL and SQLite), so parallel imports of the same file never make copies; counters move
by a single ``UPDATE … SET n = n + 1``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from zhishui.catalog.models import Matter
from zhishui.center.knowledge.models import CannedReply, KbArticle, KbFeedback, KbRevision
from zhishui.kit.repository import Page, Repository
from zhishui.org.models import OrgUnit, UnitKind

BUREAU_KINDS = (UnitKind.PROVINCE_BUREAU, UnitKind.CITY_BUREAU, UnitKind.COUNTY_BUREAU)
_UPSERT_CHUNK = 200


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class BureauRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def bureau_on_path(self, path: str) -> OrgUnit | None:
        """The deepest bureau on a materialised path (the unit itself when it is a bureau)."""
        ids = [int(p) for p in path.strip("/").split("/") if p]
        if not ids:
            return None
        stmt = (
            select(OrgUnit)
            .where(OrgUnit.id.in_(ids), OrgUnit.kind.in_(BUREAU_KINDS))
            .order_by(func.length(OrgUnit.path).desc())
            .limit(1)
        )
        return self.session.execute(stmt).scalars().first()

    def by_code(self, code: str) -> OrgUnit | None:
        return self.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalars().one_or_none()

    def matter_ids(self, codes: Sequence[str]) -> dict[str, int]:
        if not codes:
            return {}
        rows = self.session.execute(select(Matter.code, Matter.id).where(Matter.code.in_(set(codes))))
        return {code: matter_id for code, matter_id in rows}

    def matter_codes(self, ids: Sequence[int]) -> dict[int, str]:
        if not ids:
            return {}
        rows = self.session.execute(select(Matter.id, Matter.code).where(Matter.id.in_(set(ids))))
        return {matter_id: code for matter_id, code in rows}


@dataclass(frozen=True, slots=True)
class IndexedArticle:
    """What the search index needs of an article (no ORM object: indexes outlive sessions)."""

    id: int
    kind: str
    title: str
    body: str
    tags: str
    matter_code: str | None


class ArticleRepository(Repository[KbArticle]):
    model = KbArticle
    not_found_message = "知识条目不存在"

    def in_bureau(self, bureau_id: int) -> Select[KbArticle]:
        return select(KbArticle).where(KbArticle.org_unit_id == bureau_id)

    def get_in_bureau(self, article_id: int, bureau_id: int) -> KbArticle | None:
        return self.get_one_or_none(self.in_bureau(bureau_id).where(KbArticle.id == article_id))

    def page(
        self,
        bureau_id: int,
        *,
        status: str | None,
        text: str,
        page: int,
        size: int,
    ) -> Page[KbArticle]:
        stmt = self.in_bureau(bureau_id)
        if status:
            stmt = stmt.where(KbArticle.status == status)
        if text:
            pattern = _like(text)
            stmt = stmt.where(
                or_(KbArticle.title.like(pattern, escape="\\"), KbArticle.tags.like(pattern, escape="\\"))
            )
        return self.paginate(
            stmt.order_by(KbArticle.updated_at.desc(), KbArticle.id.desc()), page=page, size=size
        )

    def published_for_index(self, bureau_id: int) -> list[IndexedArticle]:
        rows = self.session.execute(
            select(KbArticle.id, KbArticle.kind, KbArticle.title, KbArticle.body, KbArticle.tags, Matter.code)
            .outerjoin(Matter, Matter.id == KbArticle.matter_id)
            .where(KbArticle.org_unit_id == bureau_id, KbArticle.status == "published")
            .order_by(KbArticle.id)
        )
        return [IndexedArticle(*row) for row in rows]

    def upsert(
        self,
        bureau_id: int,
        source: str,
        rows: Sequence[dict[str, Any]],
        *,
        staff_id: int | None,
        now: dt.datetime,
    ) -> dict[str, int]:
        """Insert or update articles by ``(bureau, source, external_key)``; rows whose content is
        unchanged are not touched. Returns ``external_key -> revision`` of the rows written: revision 1
        is a new article, a higher one an updated article; keys missing were unchanged."""
        insert = _insert(self.session)
        table = KbArticle.__table__
        written: dict[str, int] = {}
        for start in range(0, len(rows), _UPSERT_CHUNK):
            values = [
                {
                    "org_unit_id": bureau_id,
                    "kind": "qa",
                    "source": source,
                    "status": "published",
                    "revision": 1,
                    "helpful": 0,
                    "unhelpful": 0,
                    "created_at": now,
                    "created_by": staff_id,
                    "updated_at": now,
                    "updated_by": staff_id,
                    **row,
                }
                for row in rows[start : start + _UPSERT_CHUNK]
            ]
            # On the Table, not the mapped class: an ORM-annotated dialect insert has no cache key.
            stmt = insert(table).values(values)
            new = stmt.excluded
            changed = or_(
                table.c.title != new.title,
                table.c.body != new.body,
                table.c.tags != new.tags,
                table.c.matter_id.is_distinct_from(new.matter_id),
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[table.c.org_unit_id, table.c.source, table.c.external_key],
                set_={
                    "title": new.title,
                    "body": new.body,
                    "tags": new.tags,
                    "matter_id": new.matter_id,
                    "revision": table.c.revision + 1,
                    "updated_at": new.updated_at,
                    "updated_by": new.updated_by,
                },
                where=changed,
            ).returning(table.c.external_key, table.c.revision)
            written.update({key: revision for key, revision in self.session.execute(stmt)})
        return written

    def update_content(self, article_id: int, expected_revision: int, values: dict[str, Any]) -> bool:
        """Compare-and-set on the revision: False when someone else changed the article first."""
        result = self.session.execute(
            update(KbArticle)
            .where(KbArticle.id == article_id, KbArticle.revision == expected_revision)
            .values(revision=KbArticle.revision + 1, **values)
            .execution_options(synchronize_session=False),
            execution_options={"preserve_rowcount": True},
        )
        return int(result.rowcount) == 1  # type: ignore[attr-defined]

    def count_feedback(self, article_id: int, bureau_id: int, *, helpful: bool) -> tuple[int, int] | None:
        """One more helpful (or unhelpful) vote in one statement; the new counters, or None when the
        article is not the bureau's."""
        column = KbArticle.helpful if helpful else KbArticle.unhelpful
        row = self.session.execute(
            update(KbArticle)
            .where(KbArticle.id == article_id, KbArticle.org_unit_id == bureau_id)
            .values({column: column + 1})
            .returning(KbArticle.helpful, KbArticle.unhelpful)
            .execution_options(synchronize_session=False)
        ).first()
        return None if row is None else (int(row[0]), int(row[1]))

    def add_feedback(self, feedback: KbFeedback) -> KbFeedback:
        self.session.add(feedback)
        self.session.flush()
        return feedback

    def recent_feedback(self, article_id: int, limit: int = 20) -> Sequence[KbFeedback]:
        return (
            self.session.execute(
                select(KbFeedback)
                .where(KbFeedback.article_id == article_id)
                .order_by(KbFeedback.created_at.desc(), KbFeedback.id.desc())
                .limit(limit)
            )
            .scalars()
            .all()
        )

    def counts_by_status(self, bureau_id: int) -> dict[str, int]:
        rows = self.session.execute(
            select(KbArticle.status, func.count())
            .where(KbArticle.org_unit_id == bureau_id)
            .group_by(KbArticle.status)
        )
        return {status: int(n) for status, n in rows}


class RevisionRepository:
    """The per-bureau change counter the search caches compare against."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def current(self, bureau_id: int) -> int:
        value = self.session.execute(
            select(KbRevision.revision).where(KbRevision.org_unit_id == bureau_id)
        ).scalar_one_or_none()
        return int(value or 0)

    def bump(self, bureau_id: int) -> None:
        table = KbRevision.__table__
        stmt = _insert(self.session)(table).values(org_unit_id=bureau_id, revision=1)
        self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[table.c.org_unit_id], set_={"revision": table.c.revision + 1}
            )
        )


class CannedReplyRepository(Repository[CannedReply]):
    model = CannedReply
    not_found_message = "常用回复不存在"

    def get_in_bureau(self, reply_id: int, bureau_id: int) -> CannedReply | None:
        return self.get_one_or_none(
            select(CannedReply).where(CannedReply.id == reply_id, CannedReply.org_unit_id == bureau_id)
        )

    def search(self, bureau_id: int, text: str, limit: int) -> Sequence[CannedReply]:
        """The bureau's replies whose title, category or body contains ``text``, most used first."""
        stmt = select(CannedReply).where(CannedReply.org_unit_id == bureau_id)
        if text:
            pattern = _like(text)
            stmt = stmt.where(
                or_(
                    CannedReply.title.like(pattern, escape="\\"),
                    CannedReply.category.like(pattern, escape="\\"),
                    CannedReply.body.like(pattern, escape="\\"),
                )
            )
        return self.list(
            stmt.order_by(CannedReply.usage_count.desc(), CannedReply.title, CannedReply.id).limit(limit)
        )

    def count_use(self, reply_id: int, bureau_id: int) -> bool:
        result = self.session.execute(
            update(CannedReply)
            .where(CannedReply.id == reply_id, CannedReply.org_unit_id == bureau_id)
            .values(usage_count=CannedReply.usage_count + 1)
            .execution_options(synchronize_session=False),
            execution_options={"preserve_rowcount": True},
        )
        return int(result.rowcount) == 1  # type: ignore[attr-defined]
