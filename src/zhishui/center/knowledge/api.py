"""JSON API of the knowledge base and canned replies, under /api/v1/center.

Agents (``center.agent``) search, read, give feedback and use replies; ``knowledge.manage`` writes.
Everything is the caller's bureau's: another bureau's article or reply answers 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile, status

from zhishui.center.knowledge import policy, service
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
    ReplyUseIn,
    ReplyUseOut,
)
from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.validators import RowIdPath
from zhishui.web.deps import ClockDep, SessionDep

router = APIRouter(prefix="/api/v1/center", tags=["center-knowledge"], dependencies=[Depends(verify_csrf)])

Agent = Annotated[StaffPrincipal, Depends(require(Permission.CENTER_AGENT))]
Editor = Annotated[StaffPrincipal, Depends(require(Permission.KNOWLEDGE_MANAGE))]


@router.get("/knowledge/search", summary="知识库检索（事项指南与问答）")
def search(
    session: SessionDep,
    staff: Agent,
    q: Annotated[
        str, Query(min_length=1, max_length=service.MAX_QUERY_CHARS, description="纳税人的原话、关键词或拼音")
    ],
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIMIT)] = 10,
) -> list[KnowledgeHit]:
    """The catalog's online guides and the bureau's published articles that fit ``q``, best first,
    each with the full ``answer`` for "insert answer"."""
    return service.search(session, service.staff_bureau(session, staff), q, limit)


@router.get("/knowledge/articles", summary="知识条目列表")
def list_articles(
    session: SessionDep,
    staff: Agent,
    status_: Annotated[policy.ArticleStatus | None, Query(alias="status")] = None,
    q: Annotated[str, Query(max_length=service.MAX_QUERY_CHARS, description="标题或标签包含")] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ArticlePage:
    bureau = service.staff_bureau(session, staff)
    return service.list_articles(session, bureau, status=status_, text=q, page=page, size=size)


@router.get("/knowledge/articles/{article_id}", summary="知识条目详情")
def read_article(article_id: RowIdPath, session: SessionDep, staff: Agent) -> ArticleOut:
    return service.get_article(session, service.staff_bureau(session, staff), article_id)


@router.post("/knowledge/articles", status_code=status.HTTP_201_CREATED, summary="新增知识条目")
def create_article(body: ArticleIn, session: SessionDep, clock: ClockDep, staff: Editor) -> ArticleOut:
    bureau = service.staff_bureau(session, staff)
    return service.create_article(session, bureau, body, staff_id=staff.id, now=clock.now())


@router.patch("/knowledge/articles/{article_id}", summary="修改知识条目（可带版本号防止覆盖他人修改）")
def update_article(
    article_id: RowIdPath, body: ArticlePatch, session: SessionDep, clock: ClockDep, staff: Editor
) -> ArticleOut:
    bureau = service.staff_bureau(session, staff)
    return service.update_article(session, bureau, article_id, body, staff_id=staff.id, now=clock.now())


@router.delete("/knowledge/articles/{article_id}", summary="停用知识条目（不再出现在检索中）")
def retire_article(article_id: RowIdPath, session: SessionDep, clock: ClockDep, staff: Editor) -> ArticleOut:
    bureau = service.staff_bureau(session, staff)
    return service.retire_article(session, bureau, article_id, staff_id=staff.id, now=clock.now())


@router.post("/knowledge/articles/{article_id}/feedback", summary="知识条目是否有用")
def feedback(
    article_id: RowIdPath, body: FeedbackIn, session: SessionDep, clock: ClockDep, staff: Agent
) -> FeedbackOut:
    bureau = service.staff_bureau(session, staff)
    return service.record_feedback(session, bureau, article_id, body, staff_id=staff.id, now=clock.now())


@router.post("/knowledge/import", summary="导入问答 CSV")
async def import_csv(
    session: SessionDep,
    clock: ClockDep,
    staff: Editor,
    file: Annotated[UploadFile, File(description=policy.IMPORT_FORMAT_HELP)],
    source: Annotated[str, Form(max_length=policy.MAX_SOURCE, description="来源名称；默认为文件名")] = "",
) -> ImportOut:
    data = await file.read(policy.MAX_IMPORT_BYTES + 1)
    bureau = service.staff_bureau(session, staff)
    return service.import_csv(
        session, bureau, data, source=source or (file.filename or ""), staff_id=staff.id, now=clock.now()
    )


@router.get("/replies", summary="常用回复（按标题、分类、内容查找）")
def list_replies(
    session: SessionDep,
    staff: Agent,
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ReplyOut]:
    return service.list_replies(session, service.staff_bureau(session, staff), q, limit)


@router.get("/replies/{reply_id}", summary="常用回复详情")
def read_reply(reply_id: RowIdPath, session: SessionDep, staff: Agent) -> ReplyOut:
    return service.get_reply(session, service.staff_bureau(session, staff), reply_id)


@router.post("/replies/{reply_id}/use", summary="使用常用回复：填入占位符并计数")
def use_reply(reply_id: RowIdPath, body: ReplyUseIn, session: SessionDep, staff: Agent) -> ReplyUseOut:
    return service.use_reply(session, service.staff_bureau(session, staff), reply_id, body.values)


@router.post("/replies", status_code=status.HTTP_201_CREATED, summary="新增常用回复")
def create_reply(body: ReplyIn, session: SessionDep, clock: ClockDep, staff: Editor) -> ReplyOut:
    bureau = service.staff_bureau(session, staff)
    return service.create_reply(session, bureau, body, staff_id=staff.id, now=clock.now())


@router.patch("/replies/{reply_id}", summary="修改常用回复")
def update_reply(
    reply_id: RowIdPath, body: ReplyPatch, session: SessionDep, clock: ClockDep, staff: Editor
) -> ReplyOut:
    bureau = service.staff_bureau(session, staff)
    return service.update_reply(session, bureau, reply_id, body, staff_id=staff.id, now=clock.now())


@router.delete("/replies/{reply_id}", status_code=status.HTTP_204_NO_CONTENT, summary="删除常用回复")
def delete_reply(reply_id: RowIdPath, session: SessionDep, staff: Editor) -> Response:
    service.delete_reply(session, service.staff_bureau(session, staff), reply_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
