"""Knowledge-base pages: /center/knowledge (search, list, edit, retire, import) and /center/replies.

Agents read and search; editing, retiring, importing and managing replies need ``knowledge.manage``.
Refusals are shown on the page they came from, in Chinese, with nothing saved.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from zhishui.center.knowledge import policy, service
from zhishui.center.knowledge.schemas import ArticleIn, ArticlePatch, ImportOut, ReplyIn, ReplyPatch
from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.errors import AppError, InvalidInput
from zhishui.kit.validators import RowIdPath
from zhishui.web.deps import ClockDep, SessionDep, TemplatesDep

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
Agent = Annotated[StaffPrincipal, Depends(require(Permission.CENTER_AGENT))]
Editor = Annotated[StaffPrincipal, Depends(require(Permission.KNOWLEDGE_MANAGE))]
PAGE_SIZE = 30
M = TypeVar("M", bound=BaseModel)


_FIELD_LABELS = {
    "title": "标题",
    "body": "内容",
    "category": "分类",
    "tags": "标签",
    "matter_code": "事项编码",
}


def _model(cls: type[M], data: dict[str, Any]) -> M:
    """A form's values as the API's model; a value it refuses becomes a Chinese InvalidInput."""
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err.get("loc") else ""
        limit = (err.get("ctx") or {}).get("max_length")
        reason = (
            "必填"
            if err["type"] in ("string_too_short", "missing")
            else (f"最多 {limit} {'项' if field == 'tags' else '字'}" if limit else "取值不正确")
        )
        raise InvalidInput(field, f"{_FIELD_LABELS.get(field, field)}：{reason}") from exc


def _is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _list_page(
    request: Request,
    templates: Jinja2Templates,
    session: Session,
    staff: StaffPrincipal,
    *,
    q: str = "",
    status: policy.ArticleStatus | None = None,
    page: int = 1,
    notice: str = "",
    report: ImportOut | None = None,
    import_error: str = "",
    status_code: int = 200,
) -> Response:
    bureau = service.staff_bureau(session, staff)
    hits, search_error = _hits(session, bureau, q)
    context: dict[str, Any] = {
        "q": q,
        "hits": hits,
        "search_error": search_error,
        "status": status.value if status else "",
        "articles": service.list_articles(session, bureau, status=status, page=page, size=PAGE_SIZE),
        "counts": service.status_counts(session, bureau),
        "status_labels": {s.value: label for s, label in policy.STATUS_LABELS.items()},
        "kind_labels": {k.value: label for k, label in policy.KIND_LABELS.items()},
        "can_manage": staff.can(Permission.KNOWLEDGE_MANAGE),
        "notice": notice,
        "report": report,
        "import_error": import_error,
        "format_help": policy.IMPORT_FORMAT_HELP,
        "max_kb": policy.MAX_IMPORT_BYTES // 1024,
    }
    return templates.TemplateResponse(request, "center/knowledge/list.html", context, status_code=status_code)


def _hits(session: Session, bureau: int, q: str) -> tuple[list[Any] | None, str]:
    if not q.strip():
        return None, ""
    try:
        return service.search(session, bureau, q, 10), ""
    except AppError as exc:
        return [], exc.message


@router.get("/center/knowledge", response_class=HTMLResponse)
def knowledge_page(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    staff: Agent,
    q: Annotated[str, Query(max_length=service.MAX_QUERY_CHARS)] = "",
    status: Annotated[policy.ArticleStatus | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    notice: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    return _list_page(request, templates, session, staff, q=q, status=status, page=page, notice=notice)


@router.get("/center/knowledge/search", response_class=HTMLResponse)
def knowledge_search(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    staff: Agent,
    q: Annotated[str, Query(max_length=service.MAX_QUERY_CHARS)] = "",
) -> Response:
    if not _is_htmx(request):
        return RedirectResponse(f"/center/knowledge?q={q}", status_code=303)
    hits, error = _hits(session, service.staff_bureau(session, staff), q)
    context = {
        "q": q,
        "hits": hits,
        "search_error": error,
        "can_manage": staff.can(Permission.KNOWLEDGE_MANAGE),
        "kind_labels": {k.value: label for k, label in policy.KIND_LABELS.items()},
    }
    return templates.TemplateResponse(request, "center/knowledge/_hits.html", context)


@router.post("/center/knowledge/import", response_class=HTMLResponse)
async def knowledge_import(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Editor,
    file: Annotated[UploadFile, File()],
    source: Annotated[str, Form(max_length=policy.MAX_SOURCE)] = "",
) -> Response:
    data = await file.read(policy.MAX_IMPORT_BYTES + 1)
    bureau = service.staff_bureau(session, staff)
    try:
        with session.begin_nested():  # a refused file leaves nothing behind
            report = service.import_csv(
                session,
                bureau,
                data,
                source=source or (file.filename or ""),
                staff_id=staff.id,
                now=clock.now(),
            )
    except AppError as exc:
        return _list_page(
            request, templates, session, staff, import_error=exc.message, status_code=exc.status_code
        )
    return _list_page(request, templates, session, staff, report=report, notice=f"导入完成：{report.summary}")


def _form(
    request: Request,
    templates: Jinja2Templates,
    values: dict[str, Any],
    *,
    error: str = "",
    status_code: int = 200,
) -> Response:
    context = {
        "a": values,
        "error": error,
        "kinds": [(k.value, label) for k, label in policy.KIND_LABELS.items()],
        "statuses": [(s.value, label) for s, label in policy.STATUS_LABELS.items()],
    }
    return templates.TemplateResponse(request, "center/knowledge/form.html", context, status_code=status_code)


@router.get("/center/knowledge/new", response_class=HTMLResponse)
def new_article(request: Request, templates: TemplatesDep, staff: Editor) -> Response:
    blank: dict[str, Any] = {
        "id": None,
        "kind": "qa",
        "title": "",
        "body": "",
        "matter_code": "",
        "tags": [],
        "status": "published",
    }
    return _form(request, templates, blank)


@router.get("/center/knowledge/{article_id}", response_class=HTMLResponse)
def edit_article(
    request: Request, article_id: RowIdPath, session: SessionDep, templates: TemplatesDep, staff: Editor
) -> Response:
    bureau = service.staff_bureau(session, staff)
    article = service.get_article(session, bureau, article_id)
    values = article.model_dump()
    values["feedback"] = service.recent_feedback(session, bureau, article_id)
    return _form(request, templates, values)


@router.post("/center/knowledge/save", response_class=HTMLResponse)
def save_article(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Editor,
    title: Annotated[str, Form(max_length=policy.MAX_TITLE * 2)] = "",
    body: Annotated[str, Form(max_length=policy.MAX_BODY * 2)] = "",
    kind: Annotated[policy.ArticleKind, Form()] = policy.ArticleKind.QA,
    status: Annotated[policy.ArticleStatus, Form()] = policy.ArticleStatus.PUBLISHED,
    matter_code: Annotated[str, Form(max_length=32)] = "",
    tags: Annotated[str, Form(max_length=policy.MAX_TAGS * 2)] = "",
    article_id: Annotated[int | None, Form(ge=1, le=2_147_483_647)] = None,
    revision: Annotated[int | None, Form(ge=1)] = None,
) -> Response:
    bureau = service.staff_bureau(session, staff)
    tag_list = policy.split_tags(policy.normalize_tags(tags))
    try:
        with session.begin_nested():
            if article_id is None:
                if status == policy.ArticleStatus.RETIRED:
                    status = policy.ArticleStatus.DRAFT
                data = {"kind": kind, "title": title, "body": body, "tags": tag_list, "status": status.value}
                saved = service.create_article(
                    session,
                    bureau,
                    _model(ArticleIn, {**data, "matter_code": matter_code or None}),
                    staff_id=staff.id,
                    now=clock.now(),
                )
            else:
                saved = service.update_article(
                    session,
                    bureau,
                    article_id,
                    _model(
                        ArticlePatch,
                        {
                            "revision": revision,
                            "kind": kind,
                            "title": title,
                            "body": body,
                            "matter_code": matter_code,
                            "tags": tag_list,
                            "status": status,
                        },
                    ),
                    staff_id=staff.id,
                    now=clock.now(),
                )
    except AppError as exc:
        values = {
            "id": article_id,
            "revision": revision,
            "kind": kind.value,
            "title": title,
            "body": body,
            "matter_code": matter_code,
            "tags": tag_list,
            "status": status.value,
        }
        return _form(request, templates, values, error=exc.message, status_code=exc.status_code)
    return RedirectResponse(f"/center/knowledge?notice=已保存：{saved.title[:40]}", status_code=303)


@router.post("/center/knowledge/{article_id}/retire")
def retire_article(article_id: RowIdPath, session: SessionDep, clock: ClockDep, staff: Editor) -> Response:
    bureau = service.staff_bureau(session, staff)
    article = service.retire_article(session, bureau, article_id, staff_id=staff.id, now=clock.now())
    return RedirectResponse(f"/center/knowledge?notice=已停用：{article.title[:40]}", status_code=303)


# --- canned replies -------------------------------------------------------------------------------


def _replies_page(
    request: Request,
    templates: Jinja2Templates,
    session: Session,
    staff: StaffPrincipal,
    *,
    q: str = "",
    notice: str = "",
    form: dict[str, Any] | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    bureau = service.staff_bureau(session, staff)
    context = {
        "q": q,
        "replies": service.list_replies(session, bureau, q, 200),
        "can_manage": staff.can(Permission.KNOWLEDGE_MANAGE),
        "notice": notice,
        "form": form or {"id": None, "title": "", "body": "", "category": ""},
        "error": error,
    }
    return templates.TemplateResponse(
        request, "center/knowledge/replies.html", context, status_code=status_code
    )


@router.get("/center/replies", response_class=HTMLResponse)
def replies_page(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    staff: Agent,
    q: Annotated[str, Query(max_length=100)] = "",
    notice: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    return _replies_page(request, templates, session, staff, q=q, notice=notice)


@router.get("/center/replies/{reply_id}", response_class=HTMLResponse)
def edit_reply(
    request: Request, reply_id: RowIdPath, session: SessionDep, templates: TemplatesDep, staff: Editor
) -> Response:
    reply = service.get_reply(session, service.staff_bureau(session, staff), reply_id)
    return _replies_page(request, templates, session, staff, form=reply.model_dump())


@router.post("/center/replies/save", response_class=HTMLResponse)
def save_reply(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Editor,
    title: Annotated[str, Form(max_length=policy.MAX_REPLY_TITLE * 2)] = "",
    body: Annotated[str, Form(max_length=policy.MAX_REPLY_BODY * 2)] = "",
    category: Annotated[str, Form(max_length=policy.MAX_CATEGORY * 2)] = "",
    reply_id: Annotated[int | None, Form(ge=1, le=2_147_483_647)] = None,
) -> Response:
    bureau = service.staff_bureau(session, staff)
    try:
        with session.begin_nested():
            if reply_id is None:
                saved = service.create_reply(
                    session,
                    bureau,
                    _model(ReplyIn, {"title": title, "body": body, "category": category}),
                    staff_id=staff.id,
                    now=clock.now(),
                )
            else:
                saved = service.update_reply(
                    session,
                    bureau,
                    reply_id,
                    _model(ReplyPatch, {"title": title, "body": body, "category": category}),
                    staff_id=staff.id,
                    now=clock.now(),
                )
    except AppError as exc:
        form = {"id": reply_id, "title": title, "body": body, "category": category}
        return _replies_page(
            request, templates, session, staff, form=form, error=exc.message, status_code=exc.status_code
        )
    return RedirectResponse(f"/center/replies?notice=已保存：{saved.title}", status_code=303)


@router.post("/center/replies/{reply_id}/delete")
def delete_reply(reply_id: RowIdPath, session: SessionDep, staff: Editor) -> Response:
    service.delete_reply(session, service.staff_bureau(session, staff), reply_id)
    return RedirectResponse("/center/replies?notice=已删除", status_code=303)
