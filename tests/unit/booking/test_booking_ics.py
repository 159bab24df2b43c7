"""The iCalendar writer: CRLF, 75-octet folding that never splits a character, escaping, UTC times."""

from __future__ import annotations

import datetime as dt

import pytest

from zhishui.booking.ics import Event, calendar, escape_text, fold, utc_stamp
from zhishui.kit.clock import SHANGHAI


def _unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def test_a_short_line_is_left_alone_and_ends_in_crlf() -> None:
    assert fold("VERSION:2.0") == "VERSION:2.0\r\n"


def test_an_ascii_line_is_folded_at_75_octets_with_a_leading_space() -> None:
    line = "DESCRIPTION:" + "x" * 200
    folded = fold(line)
    parts = folded.removesuffix("\r\n").split("\r\n")
    assert len(parts[0].encode()) == 75
    assert all(p.startswith(" ") and len(p.encode()) <= 75 for p in parts[1:])
    assert folded.replace("\r\n ", "").removesuffix("\r\n") == line


def test_chinese_text_is_folded_between_characters() -> None:
    line = "SUMMARY:" + "办税服务厅预约" * 20
    folded = fold(line)
    for part in folded.removesuffix("\r\n").split("\r\n"):
        raw = part.encode("utf-8")
        assert len(raw) <= 75
        raw.decode("utf-8")  # no character cut in half
    assert folded.replace("\r\n ", "").removesuffix("\r\n") == line


def test_a_line_of_exactly_75_octets_is_not_folded() -> None:
    line = "X" * 75
    assert fold(line) == line + "\r\n"
    assert fold(line + "Y") == line + "\r\n Y\r\n"


def test_text_values_are_escaped() -> None:
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"


def test_times_are_written_in_utc() -> None:
    assert utc_stamp(dt.datetime(2026, 12, 1, 9, 30, tzinfo=SHANGHAI)) == "20261201T013000Z"
    with pytest.raises(ValueError):
        utc_stamp(dt.datetime(2026, 12, 1, 9, 30))


def test_the_calendar_has_one_event_with_the_required_properties() -> None:
    start = dt.datetime(2026, 12, 1, 9, 30, tzinfo=SHANGHAI)
    text = calendar(
        Event(
            uid="booking-ACEF3479@zhishui",
            stamp=dt.datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI),
            start=start,
            end=start + dt.timedelta(minutes=30),
            summary="办税预约：增值税申报（预约码 ACEF-3479）",
            location="示例县税务局青溪办税服务厅, 学府路 88 号",
        )
    )
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    lines = _unfold(text)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR" and lines[-1] == ""
    assert "VERSION:2.0" in lines and "BEGIN:VEVENT" in lines and "END:VEVENT" in lines
    assert "UID:booking-ACEF3479@zhishui" in lines
    assert "DTSTAMP:20261130T013000Z" in lines
    assert "DTSTART:20261201T013000Z" in lines and "DTEND:20261201T020000Z" in lines
    assert "LOCATION:示例县税务局青溪办税服务厅\\, 学府路 88 号" in lines
    assert all(len(raw.encode()) <= 75 for raw in text.split("\r\n"))
