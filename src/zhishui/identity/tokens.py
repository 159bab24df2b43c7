"""Random tokens for cookies and codes; only their hashes are stored."""

from __future__ import annotations

import hashlib
import secrets

SESSION_COOKIE = "zs_session"


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
