"""The OpenAPI document describes the error bodies this API really sends.

FastAPI documents 422 as its own `HTTPValidationError`; our handlers (kit/http_errors.py) answer with
`ErrorOut` instead, with Chinese messages, so the generated spec is corrected to say so.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel


class FieldError(BaseModel):
    field: str
    message: str


class ErrorOut(BaseModel):
    error: str
    message: str
    field: str | None = None
    detail: list[FieldError] | None = None
    retry_after: int | None = None


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in error_schema.pop("$defs", {}).items():
            schemas[name] = definition
        schemas["HTTPValidationError"] = error_schema
        schemas.pop("ValidationError", None)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
