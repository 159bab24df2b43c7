"""Masking of personal data for displays, logs and exports (张*, 138****1234)."""

from __future__ import annotations


def mask_name(name: str) -> str:
    """Keep the first character of a person's name; for long names (companies) keep the ends."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) <= 3:
        return name[0] + "*" * (len(name) - 1)
    if len(name) <= 6:
        return name[0] + "*" * (len(name) - 2) + name[-1]
    # Company names: the start (place / brand) and the legal form at the end identify enough.
    return name[:2] + "*" * (len(name) - 6) + name[-4:]


def mask_phone(phone: str) -> str:
    digits = phone.strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_id(value: str) -> str:
    """Taxpayer ids and resident ids: the first 4 and last 4 characters."""
    value = value.strip()
    if len(value) <= 8:
        return value[:1] + "*" * max(len(value) - 1, 0)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]
