"""How errors reach people: JSON for the API, a Chinese page for browsers, never a stack trace."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from zhishui.kit.errors import AppError, NotAuthenticated
from zhishui.kit.field_labels import label

log = logging.getLogger(__name__)

_PYDANTIC_MESSAGES = {
    "missing": "必填",
    "string_too_short": "内容过短",
    "string_too_long": "内容过长",
    "int_parsing": "应为整数",
    "float_parsing": "应为数字",
    "bool_parsing": "应为是或否",
    "enum": "取值不在允许范围内",
    "literal_error": "取值不在允许范围内",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "greater_than": "数值过小",
    "less_than": "数值过大",
    "string_pattern_mismatch": "格式不正确",
    "json_invalid": "请求内容不是有效的 JSON",
    "model_attributes_type": "请求内容格式不正确",
    "dict_type": "请求内容格式不正确",
    "list_type": "应为列表",
    "string_type": "应为文本",
}

_STATUS_MESSAGES = {
    404: "页面或记录不存在",
    405: "不支持该请求方式",
    413: "提交的内容过大",
}


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form", "header")]
        field = loc[-1] if loc else ""
        if err.get("type") == "value_error":
            # Our validators raise ValueError with a Chinese message; pydantic prefixes "Value error, ".
            reason = str(err.get("msg", "")).removeprefix("Value error, ")
        else:
            reason = _PYDANTIC_MESSAGES.get(str(err.get("type")), "取值不正确")
        details.append({"field": field, "message": f"{label(field)}：{reason}" if field else reason})
    return details


def _error_page(request: Request, status: int, message: str) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request, "error.html", {"status": status, "message": message}, status_code=status
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        headers = {}
        if "retry_after" in exc.extra:
            headers["Retry-After"] = str(exc.extra["retry_after"])
        if wants_json(request):
            body = {"error": exc.code, "message": exc.message, **exc.extra}
            return JSONResponse(body, status_code=exc.status_code, headers=headers)
        if isinstance(exc, NotAuthenticated):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            login = exc.extra.get("login") or (
                "/my/login" if request.url.path.startswith("/my") else "/login"
            )
            location = f"{login}?next={quote(target)}"
            if request.headers.get("HX-Request"):
                # An HTMX fragment request: send the whole page to the login, not the login into the fragment.
                return Response(status_code=204, headers={"HX-Redirect": location})
            return RedirectResponse(location, status_code=303)
        response = _error_page(request, exc.status_code, exc.message)
        response.headers.update(headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        details = validation_details(exc)
        message = "；".join(d["message"] for d in details) or "提交的内容不正确"
        if wants_json(request):
            return JSONResponse({"error": "invalid", "message": message, "detail": details}, status_code=422)
        return _error_page(request, 422, message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = _STATUS_MESSAGES.get(exc.status_code, str(exc.detail))
        if wants_json(request):
            return JSONResponse({"error": "http", "message": message}, status_code=exc.status_code)
        return _error_page(request, exc.status_code, message)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        message = "系统内部错误，请稍后重试；如持续出现请联系管理员"
        if wants_json(request):
            return JSONResponse({"error": "internal", "message": message}, status_code=500)
        return HTMLResponse(f"<h1>500</h1><p>{message}</p>", status_code=500)
