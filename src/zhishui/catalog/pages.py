"""Catalog pages: the triage desk's search (results as you type) and the catalog's admin pages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhishui.audit.recorder import record
from zhishui.catalog import service
from zhishui.catalog.policy import ROUTE_LABELS, Route
from zhishui.catalog.repository import MatterRepository
from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.errors import InvalidInput, NotFound
from zhishui.web.deps import ClockDep, SessionDep, TemplatesDep

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

Searcher = Annotated[StaffPrincipal, Depends(require(Permission.CATALOG_SEARCH))]
Editor = Annotated[StaffPrincipal, Depends(require(Permission.CATALOG_MANAGE))]

MAX_IMPORT_BYTES = 1_000_000


@router.get("/catalog/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    staff: Searcher,
    q: Annotated[str, Query(max_length=service.MAX_QUERY_CHARS)] = "",
) -> Response:
    result = service.triage_text(session, q) if q.strip() else None
    template = "catalog/_results.html" if request.headers.get("HX-Request") else "catalog/search.html"
    return templates.TemplateResponse(
        request, template, {"q": q, "result": result, "route_labels": ROUTE_LABELS}
    )


@router.get("/catalog/matters/{code}", response_class=HTMLResponse)
def matter_card(
    request: Request, code: str, session: SessionDep, templates: TemplatesDep, staff: Searcher
) -> Response:
    matter = MatterRepository(session).by_code(code)
    if matter is None:
        raise NotFound("事项不存在")
    return templates.TemplateResponse(request, "catalog/matter.html", {"m": service.matter_out(matter)})


@router.get("/admin/catalog", response_class=HTMLResponse)
def admin_list(request: Request, session: SessionDep, templates: TemplatesDep, staff: Editor) -> Response:
    matters = service.list_matters(session, include_inactive=True)
    return templates.TemplateResponse(
        request,
        "catalog/admin_list.html",
        {"matters": matters, "notice": request.query_params.get("notice", "")},
    )


@router.get("/admin/catalog/export")
def admin_export(session: SessionDep, staff: Editor) -> Response:
    records = service.export_catalog(session)
    record(session, "export", entity="matter", detail={"count": len(records)})
    return Response(
        service.dump_catalog_yaml(records),
        media_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="catalog.yaml"'},
    )


@router.post("/admin/catalog/import", response_class=HTMLResponse)
async def admin_import(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: Editor,
    file: Annotated[UploadFile, File()],
) -> Response:
    raw = await file.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        raise InvalidInput("file", "文件过大，事项清单不能超过 1 MB")
    try:
        records = service.parse_catalog_yaml(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidInput("file", "文件不是 UTF-8 编码的 YAML") from exc
    report = service.import_catalog(session, records, now=clock.now())
    return RedirectResponse(f"/admin/catalog?notice=导入完成：{report.summary()}", status_code=303)


def _form_context(record_: dict[str, Any], error: str = "", is_new: bool = False) -> dict[str, Any]:
    return {
        "r": record_,
        "error": error,
        "is_new": is_new,
        "routes": list(Route),
        "route_labels": ROUTE_LABELS,
    }


@router.get("/admin/catalog/new", response_class=HTMLResponse)
def admin_new(request: Request, templates: TemplatesDep, staff: Editor) -> Response:
    blank = {"code": "", "name": "", "route": Route.STUDIO.value, "active": True, "typical_minutes": 10}
    return templates.TemplateResponse(request, "catalog/admin_form.html", _form_context(blank, is_new=True))


@router.get("/admin/catalog/{code}", response_class=HTMLResponse)
def admin_edit(
    request: Request, code: str, session: SessionDep, templates: TemplatesDep, staff: Editor
) -> Response:
    matter = MatterRepository(session).by_code(code)
    if matter is None:
        raise NotFound("事项不存在")
    return templates.TemplateResponse(
        request, "catalog/admin_form.html", _form_context(service.matter_record(matter))
    )


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@router.post("/admin/catalog/save", response_class=HTMLResponse)
def admin_save(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: Editor,
    code: Annotated[str, Form(max_length=32)],
    name: Annotated[str, Form(max_length=64)],
    category: Annotated[str, Form(max_length=32)],
    route: Annotated[str, Form(max_length=16)],
    is_new: Annotated[bool, Form()] = False,
    name_en: Annotated[str, Form(max_length=128)] = "",
    online: Annotated[bool, Form()] = False,
    active: Annotated[bool, Form()] = False,
    aliases: Annotated[str, Form(max_length=5000)] = "",
    materials: Annotated[str, Form(max_length=5000)] = "",
    guide_menu_path: Annotated[str, Form(max_length=200)] = "",
    guide_steps: Annotated[str, Form(max_length=5000)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    typical_minutes: Annotated[int, Form(ge=1, le=480)] = 5,
    sort_order: Annotated[int, Form()] = 0,
) -> Response:
    record_: dict[str, Any] = {
        "code": code.strip(),
        "name": name.strip(),
        "name_en": name_en.strip(),
        "category": category.strip(),
        "route": route,
        "online": online,
        "aliases": _lines(aliases),
        "materials": _lines(materials),
        "guide_menu_path": guide_menu_path.strip(),
        "guide_steps": _lines(guide_steps),
        "description": description.strip(),
        "typical_minutes": typical_minutes,
        "sort_order": sort_order,
        "active": active,
    }
    repo = MatterRepository(session)
    existing = repo.by_code(record_["code"])
    try:
        if is_new and existing is not None:
            raise InvalidInput("code", f"编码“{record_['code']}”已被事项“{existing.name}”使用")
        if not is_new and existing is None:
            raise NotFound("事项不存在")
        # A form save is a one-record import: the same validation and the same upsert.
        service.import_catalog(session, [record_], now=clock.now())
    except InvalidInput as exc:
        context = _form_context(record_, error=exc.message, is_new=is_new)
        return templates.TemplateResponse(request, "catalog/admin_form.html", context, status_code=422)
    return RedirectResponse(f"/admin/catalog?notice=已保存：{record_['name']}", status_code=303)
