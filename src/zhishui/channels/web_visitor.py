"""The web channel's visitor: an unguessable token in an HttpOnly cookie names one browser.

The inbox stores a hash of the token, not the token: whoever can read the database still cannot
post or read as that visitor. Pure code, no I/O.
"""

from __future__ import annotations

import hashlib
import re
import secrets

COOKIE = "zs_visitor"
MAX_AGE_SECONDS = 30 * 24 * 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")
# What the page's script sends with each message so a double click or a resend is stored once.
CLIENT_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")
TEXT_MAX = 1000


def new_token() -> str:
    return secrets.token_urlsafe(32)


def valid_token(value: str | None) -> str | None:
    return value if value is not None and _TOKEN.fullmatch(value) else None


def visitor_id(token: str) -> str:
    return "v-" + hashlib.sha256(token.encode()).hexdigest()[:40]


def message_id(visitor: str, client_key: str) -> str:
    """The channel message id: unique per visitor and the key their page chose."""
    return f"{visitor}:{client_key}"
