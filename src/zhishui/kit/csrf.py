"""CSRF protection for cookie-authenticated requests (double submit with a signed, expiring token).

The `zs_csrf` cookie holds a random value; forms carry `csrf_token` (HTMX sends the `X-CSRF-Token`
header) = that value signed with the app secret and a timestamp. A missing, foreign or expired token
is refused with 403.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

from zhishui.kit.errors import CsrfFailed

COOKIE = "zs_csrf"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
MAX_AGE_SECONDS = 8 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def _signer(request: Request) -> TimestampSigner:
    return TimestampSigner(request.app.state.settings.secret_key, salt="csrf")


def cookie_value(request: Request) -> str:
    """The request's CSRF cookie, or a fresh one the response middleware will set."""
    value = request.cookies.get(COOKIE) or getattr(request.state, "csrf_cookie", None)
    if not value:
        value = secrets.token_urlsafe(24)
        request.state.csrf_cookie = value
    return value


def rotate(request: Request) -> None:
    """A new CSRF secret after sign-in or sign-out, so a token seen before does not carry over."""
    request.state.csrf_cookie = secrets.token_urlsafe(24)
    request.state.csrf_rotated = True


def token(request: Request) -> str:
    if getattr(request.state, "csrf_rotated", False):
        value = request.state.csrf_cookie
    else:
        value = cookie_value(request)
    return _signer(request).sign(value).decode()


async def verify_csrf(request: Request) -> None:
    """Router dependency: every unsafe method must carry a valid token."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(HEADER)
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        field = form.get(FIELD)
        sent = field if isinstance(field, str) else None
    cookie = request.cookies.get(COOKIE)
    if not sent or not cookie:
        raise CsrfFailed("页面已过期或缺少安全令牌，请刷新页面后重试")
    try:
        value = _signer(request).unsign(sent, max_age=MAX_AGE_SECONDS).decode()
    except SignatureExpired as exc:
        raise CsrfFailed("页面停留时间过长，安全令牌已过期，请刷新页面后重试") from exc
    except BadSignature as exc:
        raise CsrfFailed("安全令牌无效，请刷新页面后重试") from exc
    if not hmac.compare_digest(value, cookie):
        raise CsrfFailed("安全令牌与当前会话不符，请刷新页面后重试")
