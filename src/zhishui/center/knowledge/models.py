"""Tables of the knowledge base: articles (guides and Q&A), their feedback, canned replies."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhishui.kit.db import Base


class KbArticle(Base):
    """A guide or a question with its answer, owned by one bureau.

    ``(org_unit_id, source, external_key)`` is unique: a re-import of the same source upserts by key
    instead of adding a copy (articles written by hand get a random key). ``revision`` counts content
    changes: an upsert reads it back to tell inserted (1) from updated rows, and edits compare it.
    """

    __tablename__ = "kb_article"
    __table_args__ = (
        UniqueConstraint("org_unit_id", "source", "external_key"),
        CheckConstraint("kind IN ('guide', 'qa')", name="kind_known"),
        CheckConstraint("status IN ('published', 'draft', 'retired')", name="status_known"),
        CheckConstraint("helpful >= 0 AND unhelpful >= 0", name="counters_non_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # guide | qa
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    matter_id: Mapped[int | None] = mapped_column(ForeignKey("matter.id", ondelete="SET NULL"), index=True)
    source: Mapped[str] = mapped_column(String(64))
    external_key: Mapped[str] = mapped_column(String(64))
    tags: Mapped[str] = mapped_column(String(300), default="")  # comma-separated, normalised
    status: Mapped[str] = mapped_column(String(16), default="published")
    revision: Mapped[int] = mapped_column(Integer, default=1)
    helpful: Mapped[int] = mapped_column(Integer, default=0)
    unhelpful: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime]
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))


class KbFeedback(Base):
    """Whether an article helped: from an agent (``staff_id``) or a taxpayer on a channel."""

    __tablename__ = "kb_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_article.id", ondelete="CASCADE"), index=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(String(500), default="")
    channel: Mapped[str] = mapped_column(String(16))  # staff | wechat | dingtalk | phone | web
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime]


class KbRevision(Base):
    """One counter per bureau, bumped in the transaction of every change to its searchable articles.

    Search indexes are cached per process; each search reads this one row (by primary key) and
    rebuilds only when it moved, so a change made through any process is seen by all of them.
    """

    __tablename__ = "kb_revision"

    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id", ondelete="CASCADE"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)


class CannedReply(Base):
    """A reply agents reuse, with placeholders such as ``{name}`` filled in when it is used."""

    __tablename__ = "canned_reply"
    __table_args__ = (CheckConstraint("usage_count >= 0", name="usage_non_negative"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32), default="")
    usage_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime]
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
