"""A small iCalendar (RFC 5545) writer for "add to calendar": one VEVENT in a VCALENDAR.

Pure functions. Times are written in UTC (`…Z`), so no VTIMEZONE is needed; text values are escaped
(backslash, semicolon, comma, newline); every content line ends in CRLF and is folded so that no line
is longer than 75 octets, never inside a UTF-8 character (Chinese text is three octets a character).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

CRLF = "\r\n"
MAX_OCTETS = 75
PRODID = "-//zhishui//booking//ZH"


@dataclass(frozen=True)
class Event:
    uid: str
    stamp: dt.datetime
    start: dt.datetime
    end: dt.datetime
    summary: str
    location: str = ""
    description: str = ""
    url: str = ""


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 §3.3.11)."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def utc_stamp(at: dt.datetime) -> str:
    """A DATE-TIME in UTC form (…T…Z); naive times are refused rather than guessed."""
    if at.tzinfo is None:
        raise ValueError("naive datetime")
    return at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def fold(line: str) -> str:
    """One content line, folded (§3.1): pieces of at most 75 octets, each continuation starting with
    a space that counts toward its 75; ends with CRLF."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    limit = MAX_OCTETS
    for ch in line:
        octets = len(ch.encode("utf-8"))
        if size + octets > limit:
            pieces.append("".join(current))
            current, size, limit = [], 0, MAX_OCTETS - 1
        current.append(ch)
        size += octets
    pieces.append("".join(current))
    return (CRLF + " ").join(pieces) + CRLF


def _lines(event: Event) -> Iterable[str]:
    yield "BEGIN:VCALENDAR"
    yield "VERSION:2.0"
    yield f"PRODID:{PRODID}"
    yield "CALSCALE:GREGORIAN"
    yield "METHOD:PUBLISH"
    yield "BEGIN:VEVENT"
    yield f"UID:{escape_text(event.uid)}"
    yield f"DTSTAMP:{utc_stamp(event.stamp)}"
    yield f"DTSTART:{utc_stamp(event.start)}"
    yield f"DTEND:{utc_stamp(event.end)}"
    yield f"SUMMARY:{escape_text(event.summary)}"
    if event.location:
        yield f"LOCATION:{escape_text(event.location)}"
    if event.description:
        yield f"DESCRIPTION:{escape_text(event.description)}"
    if event.url:
        yield f"URL:{event.url}"
    yield "END:VEVENT"
    yield "END:VCALENDAR"


def calendar(event: Event) -> str:
    """The whole file as text (encode as UTF-8 to serve it)."""
    return "".join(fold(line) for line in _lines(event))
