"""Rules of the history snapshots and the heavy analyses. Pure: no database, no files, no DuckDB.

- Months are local (Asia/Shanghai) calendar months, named "YYYY-MM"; a row belongs to the month of
  its local date (a visit to the month it arrived in, even when it finished after midnight).
- A month is written once when it has settled, and rewritten on every run while it may still change
  (`months_to_write`): visits finish, offline reasons and ratings arrive after the day is over.
- Phones never reach the Parquet files: a keyed hash (`phone_key`) stands in for them, stable for one
  secret, so the same phone counts as one visitor without being readable by whoever opens a file.
  After changing ZHISHUI_SECRET_KEY, rewrite every month (`zhishui insight export --full`), or one
  phone would count as two people across the change.
- "Can be done online or remotely" is the catalog's say (`online_capable`).
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

# A month stays "open" (rewritten on every export) until this long after it ends: a visit that
# crossed midnight, a reason recorded the next morning, a rating given a few days later.
SETTLE_DAYS = 7

DEFAULT_MIN_VISITS = 3
DEFAULT_MONTHS = 12


def month_name(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_start(name: str) -> dt.date:
    year, _, month = name.partition("-")
    return dt.date(int(year), int(month), 1)


def next_month(day: dt.date) -> dt.date:
    """The first day of the month after `day`'s."""
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole months, clamped to the end of a shorter month (31 March − 1 → 28/29 Feb)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def months_between(first: dt.date, last: dt.date) -> list[str]:
    """Month names from `first`'s month to `last`'s, both included; empty when last < first."""
    out = []
    cursor = dt.date(first.year, first.month, 1)
    while cursor <= last:
        out.append(month_name(cursor))
        cursor = next_month(cursor)
    return out


@dataclass(frozen=True)
class WritePlan:
    """What one export run writes: `refresh` months are rewritten, `missing` ones written once."""

    refresh: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def months(self) -> tuple[str, ...]:
        return tuple(sorted({*self.refresh, *self.missing}))


def months_to_write(
    first_day: dt.date | None, today: dt.date, existing: frozenset[str], *, settle_days: int = SETTLE_DAYS
) -> WritePlan:
    """The months from the first day with data to today: those still settling are rewritten, the
    settled ones are written only when their file is missing (past months are written once)."""
    if first_day is None or first_day > today:
        return WritePlan((), ())
    refresh, missing = [], []
    for name in months_between(first_day, today):
        settles_on = next_month(month_start(name)) + dt.timedelta(days=settle_days)
        if today < settles_on:
            refresh.append(name)
        elif name not in existing:
            missing.append(name)
    return WritePlan(tuple(refresh), tuple(missing))


def window(as_of: dt.date, months: int) -> tuple[dt.date, dt.date]:
    """The last `months` months up to `as_of`, as (first day, last day) both included: for 30 Nov 2026
    and 12 months, 1 Dec 2025 – 30 Nov 2026."""
    if months < 1:
        raise ValueError("months must be at least 1")
    return add_months(as_of, -months) + dt.timedelta(days=1), as_of


def phone_key(phone: str | None, secret: str) -> int | None:
    """The stand-in for a phone in the snapshots: HMAC-SHA256 under the deployment's secret, 63 bits,
    negated. Keyed, because China's mobile numbers are few enough to hash them all in minutes; an
    integer, because the analyses group millions of visits by it; negative, so that it never equals a
    taxpayer id and one column can name who a visit counts for (`coalesce(taxpayer_id, phone_key)`).
    Two phones share a key with odds of about 1 in 10^7 for a million phones: negligible here."""
    if not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit())
    if not digits:
        return None
    digest = hmac.new(secret.encode(), digits.encode(), hashlib.sha256).digest()
    return -(int.from_bytes(digest[:8], "big") >> 1) - 1


def online_capable(route: str, online: bool) -> bool:
    """A matter the taxpayer could have done without coming in: the catalog marks it online, or its
    route is the fully-online one (self-service in the hall, the online guide at home)."""
    return online or route == "self"
