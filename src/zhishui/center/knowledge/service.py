"""Use cases of the knowledge base. Each flushes; the request (or the CLI's unit of work) commits.

Everything is scoped to one bureau: a staff member works with the knowledge of the nearest bureau
above (or at) their unit, so a county's agents and managers share one knowledge base and never see a
neighbouring county's. Every change to searchable content bumps the bureau's revision in the same
transaction (see :mod:`.search_cache`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session

from zhishui.audit.recorder import record
from zhishui.center.knowledge import policy
from zhishui.center.knowledge.models import CannedReply, KbArticle, KbFeedback
from zhishui.center.knowledge.repository import (
    ArticleRepository,
    BureauRepository,
    CannedReplyRepository,
    RevisionRepository,
)
from zhishui.center.knowledge.schemas import (
    ArticleIn,
    ArticleOut,
    ArticlePage,
    ArticlePatch,
    FeedbackIn,
    FeedbackOut,
    ImportOut,
    KnowledgeHit,
    ReplyIn,
    ReplyOut,
    ReplyPatch,
    ReplyUseOut,
    SkippedOut,
)
from zhishui.center.knowledge.search_cache import knowledge_index
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.errors import Conflict, InvalidInput, NotFound, PermissionDenied, TooLarge

MAX_QUERY_CHARS = 200
MAX_LIMIT = 20
MANUAL_SOURCE = "manual"
NO_BUREAU = "您所在的机构不属于任何税务局，无法使用知识库"
CHANGED_MEANWHILE = "该条目已被他人修改，请刷新后再改"


# --- whose knowledge ------------------------------------------------------------------------------


def staff_bureau(session: Session, staff: StaffPrincipal) -> int:
    """The bureau whose knowledge base ``staff`` works with."""
    bureau = BureauRepository(session).bureau_on_path(staff.org_path)
    if bureau is None:
        raise PermissionDenied(NO_BUREAU)
    return bureau.id


def bureau_by_code(session: Session, code: str) -> int:
    """A bureau named by its unit code (the CLI's ``--bureau``)."""
    unit = BureauRepository(session).by_code(code)
    if unit is None:
        raise NotFound(f"机构编码 {code} 不存在")
    bureau = BureauRepository(session).bureau_on_path(unit.path)
    if bureau is None or bureau.id != unit.id:
        raise InvalidInput("bureau", f"{unit.name}（{code}）不是税务局，知识库按税务局维护")
    return bureau.id


# --- search ---------------------------------------------------------------------------------------


def check_query(text: str) -> str:
    text = text.strip()
    if not text:
        raise InvalidInput("q", "请输入要查找的问题或关键词")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput("q", f"查询内容不能超过 {MAX_QUERY_CHARS} 个字")
    return text


def search(session: Session, bureau_id: int, text: str, limit: int = 10) -> list[KnowledgeHit]:
    """The catalog's guides and the bureau's published articles that fit ``text``, best first."""
    query = check_query(text)
    found = knowledge_index(session, bureau_id)
    hits = found.index.search(query, max(1, min(limit, MAX_LIMIT)))
    terms = list(found.index.query_terms(query))
    out = []
    for hit in hits:
        doc = found.documents[hit.doc_id]
        out.append(
            KnowledgeHit(
                kind=doc.kind,
                id=doc.article_id,
                title=doc.title,
                snippet=policy.snippet(doc.answer, terms),
                answer=doc.answer,
                matter_code=doc.matter_code,
                score=round(hit.score, 4),
            )
        )
    return out


# --- import ---------------------------------------------------------------------------------------


def import_csv(
    session: Session,
    bureau_id: int,
    data: bytes,
    *,
    source: str,
    staff_id: int | None,
    now: dt.datetime,
) -> ImportOut:
    """Upsert the Q&A of a CSV file into the bureau's knowledge base, by source and key.

    A file that cannot be read at all is refused (nothing written); rows that fail their checks are
    skipped and listed with their line and reason; the rest are imported, updated, or left alone when
    unchanged. Importing the same file again changes nothing.
    """
    if len(data) > policy.MAX_IMPORT_BYTES:
        raise TooLarge(f"文件过大，不能超过 {policy.MAX_IMPORT_BYTES // 1024} KB")
    try:
        source = policy.check_source(source)
        parsed = policy.parse_import(data)
    except policy.ImportRejected as exc:
        raise InvalidInput("file", str(exc)) from exc
    bureaus = BureauRepository(session)
    matter_ids = bureaus.matter_ids(sorted({r.matter_code for r in parsed.rows if r.matter_code}))
    skipped = list(parsed.skipped)
    values = []
    for row in parsed.rows:
        if row.matter_code and row.matter_code not in matter_ids:
            skipped.append(policy.Skipped(row.line, f"事项编码 {row.matter_code} 不存在"))
            continue
        values.append(
            {
                "external_key": row.external_key,
                "title": row.title,
                "body": row.body,
                "tags": row.tags,
                "matter_id": matter_ids.get(row.matter_code),
            }
        )
    written = ArticleRepository(session).upsert(bureau_id, source, values, staff_id=staff_id, now=now)
    if written:
        RevisionRepository(session).bump(bureau_id)
    imported = sum(1 for revision in written.values() if revision == 1)
    updated = len(written) - imported
    unchanged = len(values) - len(written)
    skipped.sort(key=lambda s: s.line)
    summary = f"新增 {imported} 条，更新 {updated} 条，未变 {unchanged} 条，跳过 {len(skipped)} 条"
    record(
        session,
        "import",
        entity="kb_article",
        detail={
            "bureau_id": bureau_id,
            "source": source,
            "imported": imported,
            "updated": updated,
            "unchanged": unchanged,
            "skipped": len(skipped),
        },
    )
    return ImportOut(
        source=source,
        encoding=parsed.encoding,
        imported=imported,
        updated=updated,
        unchanged=unchanged,
        skipped=[SkippedOut(line=s.line, reason=s.reason) for s in skipped],
        summary=summary,
    )


# --- articles -------------------------------------------------------------------------------------


def _articles_out(session: Session, articles: Sequence[KbArticle]) -> list[ArticleOut]:
    codes = BureauRepository(session).matter_codes([a.matter_id for a in articles if a.matter_id])
    return [
        ArticleOut(
            id=a.id,
            kind=a.kind,
            title=a.title,
            body=a.body,
            matter_code=codes.get(a.matter_id) if a.matter_id else None,
            source=a.source,
            tags=policy.split_tags(a.tags),
            status=a.status,
            revision=a.revision,
            helpful=a.helpful,
            unhelpful=a.unhelpful,
            created_at=a.created_at,
            updated_at=a.updated_at,
        )
        for a in articles
    ]


def _article(session: Session, bureau_id: int, article_id: int) -> KbArticle:
    article = ArticleRepository(session).get_in_bureau(article_id, bureau_id)
    if article is None:  # another bureau's article is "not found", like a missing one
        raise NotFound("知识条目不存在")
    return article


def get_article(session: Session, bureau_id: int, article_id: int) -> ArticleOut:
    return _articles_out(session, [_article(session, bureau_id, article_id)])[0]


def list_articles(
    session: Session,
    bureau_id: int,
    *,
    status: policy.ArticleStatus | None = None,
    text: str = "",
    page: int = 1,
    size: int = 50,
) -> ArticlePage:
    found = ArticleRepository(session).page(
        bureau_id, status=status.value if status else None, text=text.strip(), page=page, size=size
    )
    return ArticlePage(
        items=_articles_out(session, found.items), total=found.total, page=found.page, size=found.size
    )


def _matter_id(session: Session, code: str | None) -> int | None:
    code = (code or "").strip()
    if not code:
        return None
    found = BureauRepository(session).matter_ids([code])
    if code not in found:
        raise InvalidInput("matter_code", f"事项编码 {code} 不存在")
    return found[code]


def _checked_text(title: str, body: str) -> tuple[str, str]:
    title, body = policy.clean_title(title), policy.clean_body(body)
    if not title:
        raise InvalidInput("title", "请填写标题或问题")
    if not body:
        raise InvalidInput("body", "请填写正文或答案")
    return title, body


def _checked_tags(tags: Sequence[str]) -> str:
    stored = policy.normalize_tags(tags)
    if len(stored) > policy.MAX_TAGS or any(len(t) > policy.MAX_TAG for t in policy.split_tags(stored)):
        raise InvalidInput("tags", f"标签过长（每个最多 {policy.MAX_TAG} 字，合计最多 {policy.MAX_TAGS} 字）")
    return stored


def create_article(
    session: Session, bureau_id: int, data: ArticleIn, *, staff_id: int, now: dt.datetime
) -> ArticleOut:
    title, body = _checked_text(data.title, data.body)
    article = KbArticle(
        org_unit_id=bureau_id,
        kind=data.kind.value,
        title=title,
        body=body,
        matter_id=_matter_id(session, data.matter_code),
        source=MANUAL_SOURCE,
        external_key=uuid.uuid4().hex,
        tags=_checked_tags(data.tags),
        status=data.status,
        revision=1,
        helpful=0,
        unhelpful=0,
        created_at=now,
        created_by=staff_id,
        updated_at=now,
        updated_by=staff_id,
    )
    ArticleRepository(session).add(article)
    if article.status == policy.ArticleStatus.PUBLISHED:
        RevisionRepository(session).bump(bureau_id)
    return _articles_out(session, [article])[0]


def update_article(
    session: Session,
    bureau_id: int,
    article_id: int,
    data: ArticlePatch,
    *,
    staff_id: int,
    now: dt.datetime,
) -> ArticleOut:
    """Change an article; with ``data.revision`` the change applies only to the version the editor saw
    (409 otherwise). The write itself is a compare-and-set on the revision, so two editors saving at
    once never silently overwrite each other."""
    article = _article(session, bureau_id, article_id)
    if data.revision is not None and data.revision != article.revision:
        raise Conflict(CHANGED_MEANWHILE, extra={"revision": article.revision})
    values: dict[str, object] = {}
    if data.title is not None or data.body is not None:
        title, body = _checked_text(
            data.title if data.title is not None else article.title,
            data.body if data.body is not None else article.body,
        )
        values.update(title=title, body=body)
    if data.kind is not None:
        values["kind"] = data.kind.value
    if data.matter_code is not None:
        values["matter_id"] = _matter_id(session, data.matter_code)
    if data.tags is not None:
        values["tags"] = _checked_tags(data.tags)
    if data.status is not None:
        values["status"] = data.status.value
    changed = {k: v for k, v in values.items() if getattr(article, k) != v}
    if not changed:
        return _articles_out(session, [article])[0]
    repo = ArticleRepository(session)
    if not repo.update_content(
        article.id, article.revision, {**changed, "updated_at": now, "updated_by": staff_id}
    ):
        raise Conflict(CHANGED_MEANWHILE)
    session.refresh(article)
    RevisionRepository(session).bump(bureau_id)
    record(
        session,
        "update",
        entity="kb_article",
        entity_id=str(article.id),
        detail={"fields": sorted(changed), "status": article.status},
    )
    return _articles_out(session, [article])[0]


def retire_article(
    session: Session, bureau_id: int, article_id: int, *, staff_id: int, now: dt.datetime
) -> ArticleOut:
    """Take an article out of search; it stays for history and can be published again."""
    return update_article(
        session,
        bureau_id,
        article_id,
        ArticlePatch(status=policy.ArticleStatus.RETIRED),
        staff_id=staff_id,
        now=now,
    )


def record_feedback(
    session: Session,
    bureau_id: int,
    article_id: int,
    data: FeedbackIn,
    *,
    staff_id: int | None,
    now: dt.datetime,
) -> FeedbackOut:
    """Count one vote (a single UPDATE, so parallel votes all count) and keep the comment."""
    counters = ArticleRepository(session).count_feedback(article_id, bureau_id, helpful=data.helpful)
    if counters is None:
        raise NotFound("知识条目不存在")
    ArticleRepository(session).add_feedback(
        KbFeedback(
            article_id=article_id,
            helpful=data.helpful,
            comment=data.comment.strip(),
            channel=data.channel,
            staff_id=staff_id,
            created_at=now,
        )
    )
    return FeedbackOut(article_id=article_id, helpful=counters[0], unhelpful=counters[1])


def recent_feedback(session: Session, bureau_id: int, article_id: int) -> Sequence[KbFeedback]:
    _article(session, bureau_id, article_id)
    return ArticleRepository(session).recent_feedback(article_id)


def status_counts(session: Session, bureau_id: int) -> dict[str, int]:
    return ArticleRepository(session).counts_by_status(bureau_id)


# --- canned replies -------------------------------------------------------------------------------


def reply_out(reply: CannedReply) -> ReplyOut:
    return ReplyOut(
        id=reply.id,
        title=reply.title,
        body=reply.body,
        category=reply.category,
        placeholders=policy.placeholders(reply.body),
        usage_count=reply.usage_count,
        updated_at=reply.updated_at,
    )


def _reply(session: Session, bureau_id: int, reply_id: int) -> CannedReply:
    reply = CannedReplyRepository(session).get_in_bureau(reply_id, bureau_id)
    if reply is None:
        raise NotFound("常用回复不存在")
    return reply


def _reply_text(title: str, body: str, category: str) -> tuple[str, str, str]:
    title, body, category = policy.clean_title(title), policy.clean_body(body), policy.clean_title(category)
    if not title:
        raise InvalidInput("title", "请填写回复标题")
    if not body:
        raise InvalidInput("body", "请填写回复内容")
    return title, body, category


def list_replies(session: Session, bureau_id: int, text: str = "", limit: int = 50) -> list[ReplyOut]:
    replies = CannedReplyRepository(session).search(bureau_id, text.strip(), max(1, min(limit, 200)))
    return [reply_out(r) for r in replies]


def get_reply(session: Session, bureau_id: int, reply_id: int) -> ReplyOut:
    return reply_out(_reply(session, bureau_id, reply_id))


def create_reply(
    session: Session, bureau_id: int, data: ReplyIn, *, staff_id: int, now: dt.datetime
) -> ReplyOut:
    title, body, category = _reply_text(data.title, data.body, data.category)
    reply = CannedReply(
        org_unit_id=bureau_id,
        title=title,
        body=body,
        category=category,
        usage_count=0,
        created_at=now,
        created_by=staff_id,
        updated_at=now,
        updated_by=staff_id,
    )
    CannedReplyRepository(session).add(reply)
    return reply_out(reply)


def update_reply(
    session: Session, bureau_id: int, reply_id: int, data: ReplyPatch, *, staff_id: int, now: dt.datetime
) -> ReplyOut:
    reply = _reply(session, bureau_id, reply_id)
    title, body, category = _reply_text(
        data.title if data.title is not None else reply.title,
        data.body if data.body is not None else reply.body,
        data.category if data.category is not None else reply.category,
    )
    reply.title, reply.body, reply.category = title, body, category
    reply.updated_at, reply.updated_by = now, staff_id
    session.flush()
    return reply_out(reply)


def delete_reply(session: Session, bureau_id: int, reply_id: int) -> None:
    session.delete(_reply(session, bureau_id, reply_id))
    session.flush()


def use_reply(session: Session, bureau_id: int, reply_id: int, values: dict[str, str]) -> ReplyUseOut:
    """The reply's text with its placeholders filled, counted as one use."""
    repo = CannedReplyRepository(session)
    if not repo.count_use(reply_id, bureau_id):
        raise NotFound("常用回复不存在")
    reply = _reply(session, bureau_id, reply_id)
    session.refresh(reply)
    filled = {k: v for k, v in values.items() if v.strip()}
    return ReplyUseOut(
        id=reply.id,
        text=policy.render_reply(reply.body, filled),
        missing=[p for p in policy.placeholders(reply.body) if p not in filled],
        usage_count=reply.usage_count,
    )
