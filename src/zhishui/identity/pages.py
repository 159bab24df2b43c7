"""Signing in and out: staff by username and password, taxpayers by a code sent to their phone."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhishui.config import Settings
from zhishui.identity import service
from zhishui.identity.deps import CurrentTaxpayer, OptionalStaff, optional_taxpayer
from zhishui.identity.policy import OTP_LENGTH, code_format_problem, mobile_problem, safe_next
from zhishui.identity.principal import TaxpayerPrincipal
from zhishui.identity.tokens import SESSION_COOKIE
from zhishui.kit import csrf
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.errors import AppError, TooManyRequests
from zhishui.kit.masking import mask_phone
from zhishui.web.deps import ClockDep, SessionDep, SettingsDep, TemplatesDep, client_ip

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

OptionalTaxpayer = Annotated[TaxpayerPrincipal | None, Depends(optional_taxpayer)]
FormText = Annotated[str, Form()]


def set_session_cookie(response: Response, new_session: service.NewSession, settings: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        new_session.token,
        max_age=new_session.max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=not settings.is_development,
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=not settings.is_development
    )


def _user_agent(request: Request) -> str:
    return request.headers.get("user-agent", "")


def _error_headers(error: AppError) -> dict[str, str]:
    if isinstance(error, TooManyRequests):
        return {"Retry-After": str(error.retry_after)}
    return {}


# --- staff ----------------------------------------------------------------------------------------


def _login_page(
    request: Request,
    templates: TemplatesDep,
    *,
    username: str = "",
    next_: str = "/",
    error: AppError | None = None,
) -> Response:
    return templates.TemplateResponse(
        request,
        "identity/login.html",
        {"username": username, "next": next_, "error": error.message if error else ""},
        status_code=error.status_code if error else 200,
        headers=_error_headers(error) if error else None,
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, templates: TemplatesDep, staff: OptionalStaff, next: str = "/") -> Response:
    target = safe_next(next)
    if staff is not None:
        return RedirectResponse(target, status_code=303)
    return _login_page(request, templates, next_=target)


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    username: FormText = "",
    password: FormText = "",
    next: FormText = "/",
) -> Response:
    target = safe_next(next)
    outcome = service.sign_in_staff(
        session,
        username=username,
        password=password,
        ip=client_ip(request),
        user_agent=_user_agent(request),
        now=clock.now(),
        settings=settings,
        previous_token=request.cookies.get(SESSION_COOKIE),
    )
    if outcome.new_session is None:
        # Answered, not raised: the failed attempt and its audit entry must be committed.
        assert outcome.error is not None
        return _login_page(request, templates, username=username.strip(), next_=target, error=outcome.error)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, outcome.new_session, settings)
    csrf.rotate(request)
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep) -> Response:
    service.sign_out(
        session, token=request.cookies.get(SESSION_COOKIE), ip=client_ip(request), now=clock.now()
    )
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, settings)
    csrf.rotate(request)
    return response


# --- taxpayers ------------------------------------------------------------------------------------


def _my_login_page(
    request: Request,
    templates: TemplatesDep,
    *,
    step: str = "phone",
    phone: str = "",
    next_: str = "/my",
    notice: str = "",
    error: AppError | None = None,
    field: str = "",
    status_code: int | None = None,
) -> Response:
    context: dict[str, Any] = {
        "step": step,
        "phone": phone,
        "masked_phone": mask_phone(phone) if step == "code" else "",
        "next": next_,
        "notice": notice,
        "error": error.message if error else "",
        "error_field": field,
        "code_length": OTP_LENGTH,
    }
    return templates.TemplateResponse(
        request,
        "identity/my_login.html",
        context,
        status_code=status_code or (error.status_code if error else 200),
        headers=_error_headers(error) if error else None,
    )


@router.get("/my/login", response_class=HTMLResponse)
def my_login_form(
    request: Request, templates: TemplatesDep, taxpayer: OptionalTaxpayer, next: str = "/my"
) -> Response:
    target = safe_next(next, "/my")
    if taxpayer is not None:
        return RedirectResponse(target, status_code=303)
    return _my_login_page(request, templates, next_=target)


@router.post("/my/login/code", response_class=HTMLResponse)
def my_login_code(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    phone: FormText = "",
    next: FormText = "/my",
) -> Response:
    target = safe_next(next, "/my")
    number, problem = mobile_problem(phone)
    if problem:
        error = AppError(problem)
        return _my_login_page(
            request, templates, phone=phone, next_=target, error=error, field="phone", status_code=422
        )
    try:
        service.request_otp(session, phone=number, ip=client_ip(request), now=clock.now(), settings=settings)
    except TooManyRequests as exc:
        # Nothing was written before the refusal; show it on the form rather than on an error page.
        return _my_login_page(request, templates, phone=number, next_=target, error=exc, field="phone")
    minutes = max(1, settings.otp_ttl_seconds // 60)
    notice = f"验证码已发送至 {mask_phone(number)}，{minutes} 分钟内有效。"
    return _my_login_page(request, templates, step="code", phone=number, next_=target, notice=notice)


@router.post("/my/login/verify", response_class=HTMLResponse)
def my_login_verify(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    phone: FormText = "",
    code: FormText = "",
    next: FormText = "/my",
) -> Response:
    target = safe_next(next, "/my")
    number, problem = mobile_problem(phone)
    if problem:
        error = AppError(problem)
        return _my_login_page(
            request, templates, phone=phone, next_=target, error=error, field="phone", status_code=422
        )
    code = code.strip()
    if code_problem := code_format_problem(code):
        error = AppError(f"验证码：{code_problem}")
        return _my_login_page(
            request,
            templates,
            step="code",
            phone=number,
            next_=target,
            error=error,
            field="code",
            status_code=422,
        )
    outcome = service.verify_otp(
        session,
        phone=number,
        code=code,
        ip=client_ip(request),
        user_agent=_user_agent(request),
        now=clock.now(),
        settings=settings,
        previous_token=request.cookies.get(SESSION_COOKIE),
    )
    if outcome.new_session is None:
        # Answered, not raised: the spent attempt must be committed.
        assert outcome.error is not None
        dead = outcome.error.code in ("code_dead", "no_code")
        return _my_login_page(
            request,
            templates,
            step="phone" if dead else "code",
            phone=number,
            next_=target,
            error=outcome.error,
            field="code",
        )
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, outcome.new_session, settings)
    csrf.rotate(request)
    return response


@router.get("/my", response_class=HTMLResponse)
def my_home(request: Request, templates: TemplatesDep, taxpayer: CurrentTaxpayer) -> Response:
    return templates.TemplateResponse(
        request, "identity/my_home.html", {"masked_phone": mask_phone(taxpayer.phone)}
    )


@router.post("/my/logout")
def my_logout(request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep) -> Response:
    service.sign_out(
        session, token=request.cookies.get(SESSION_COOKIE), ip=client_ip(request), now=clock.now()
    )
    response = RedirectResponse("/my/login", status_code=303)
    clear_session_cookie(response, settings)
    csrf.rotate(request)
    return response
