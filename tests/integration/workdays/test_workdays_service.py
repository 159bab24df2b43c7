"""The working-day calendar on SQLite and PostgreSQL: pre-fill, the loaded calendar, edits, import."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW
from zhishui.kit.db import create_db_engine, make_session_factory
from zhishui.kit.errors import InvalidInput, TooLarge
from zhishui.workdays.models import CalendarDay, CalendarYear
from zhishui.workdays.package import package_exceptions, package_years
from zhishui.workdays.service import (
    IMPORT_MAX_BYTES,
    CalendarImportRejected,
    calendar_warnings,
    ensure_calendar,
    import_calendar,
    load_calendar,
    mark_year_complete,
    set_day,
)

GOOD_2027 = "date,kind,name\n2027-10-01,holiday,国庆节\n2027-10-09,working,国庆节调休上班\n".encode()


def _count(session: Session, model: type) -> int:  # type: ignore[type-arg]
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_pre_fill_stores_only_the_exception_days_of_every_year_the_package_knows(session: Session) -> None:
    years = ensure_calendar(session, NOW)
    assert years == package_years() and years[-1] == 2026
    assert _count(session, CalendarDay) == sum(len(package_exceptions(y)) for y in years)
    assert session.get(CalendarDay, dt.date(2026, 10, 1)) is not None
    assert session.get(CalendarDay, dt.date(2026, 10, 3)) is None  # a weekend holiday: no row needed
    assert session.get(CalendarYear, 2026).complete  # type: ignore[union-attr]
    assert ensure_calendar(session, NOW) == []  # the second start has nothing to do


def test_the_loaded_calendar_answers_across_national_day_and_flags_2027(session: Session) -> None:
    ensure_calendar(session, NOW)
    calendar = load_calendar(session, dt.date(2026, 9, 1), dt.date(2027, 12, 31))
    assert not calendar.is_working_day(dt.date(2026, 10, 5))
    assert calendar.is_working_day(dt.date(2026, 10, 10))
    assert calendar.name(dt.date(2026, 10, 10)) == "国庆节调休上班"
    assert calendar.is_working_day(dt.date(2027, 10, 1))  # no data: a Friday works
    assert calendar.missing_years == [2027]
    assert calendar.warning is not None and "2027 年" in calendar.warning
    assert calendar.add_working_days(dt.date(2026, 9, 30), 1) == dt.date(2026, 10, 8)
    with pytest.raises(ValueError, match="outside the loaded calendar"):
        calendar.is_working_day(dt.date(2028, 1, 3))


def test_a_range_is_loaded_once_per_transaction(session: Session) -> None:
    ensure_calendar(session, NOW)
    whole = load_calendar(session, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert load_calendar(session, dt.date(2026, 10, 1), dt.date(2026, 10, 31)) is whole
    session.commit()
    assert load_calendar(session, dt.date(2026, 10, 1), dt.date(2026, 10, 31)) is not whole


def test_a_manager_sets_a_day_and_the_loaded_calendar_sees_it(session: Session) -> None:
    ensure_calendar(session, NOW)
    before = load_calendar(session, dt.date(2027, 1, 1), dt.date(2027, 12, 31))
    assert before.is_working_day(dt.date(2027, 10, 1))
    row = set_day(session, dt.date(2027, 10, 1), working=False, name="国庆节", staff_id=None, now=NOW)
    assert row is not None and row.source == "manual"
    after = load_calendar(session, dt.date(2027, 1, 1), dt.date(2027, 12, 31))
    assert not after.is_working_day(dt.date(2027, 10, 1)) and after.name(dt.date(2027, 10, 1)) == "国庆节"
    # One edited day does not make the year complete: the warning stays until the year is confirmed.
    year = session.get(CalendarYear, 2027)
    assert year is not None and not year.complete and after.missing_years == [2027]
    mark_year_complete(session, 2027, staff_id=None, now=NOW)
    assert load_calendar(session, dt.date(2027, 1, 1), dt.date(2027, 12, 31)).missing_years == []


def test_setting_a_day_back_to_its_default_removes_its_row(session: Session) -> None:
    ensure_calendar(session, NOW)
    assert set_day(session, dt.date(2026, 10, 5), working=True, name="", staff_id=None, now=NOW) is None
    assert session.get(CalendarDay, dt.date(2026, 10, 5)) is None
    assert load_calendar(session, dt.date(2026, 10, 1), dt.date(2026, 10, 31)).is_working_day(
        dt.date(2026, 10, 5)
    )
    with pytest.raises(InvalidInput):
        set_day(session, dt.date(2026, 10, 6), working=False, name="长" * 41, staff_id=None, now=NOW)


def test_a_restart_does_not_undo_a_managers_edit(session: Session) -> None:
    ensure_calendar(session, NOW)
    set_day(session, dt.date(2026, 10, 7), working=True, name="", staff_id=None, now=NOW)
    session.commit()
    assert ensure_calendar(session, NOW) == []
    assert session.get(CalendarDay, dt.date(2026, 10, 7)) is None


def test_import_replaces_the_years_in_the_file_and_marks_them_complete(session: Session) -> None:
    ensure_calendar(session, NOW)
    set_day(session, dt.date(2027, 5, 3), working=False, name="手工", staff_id=None, now=NOW)
    summary = import_calendar(session, GOOD_2027, staff_id=None, now=NOW)
    assert (summary.years, summary.days, summary.replaced) == ([2027], 2, 1)
    assert session.get(CalendarDay, dt.date(2027, 5, 3)) is None
    imported = session.get(CalendarDay, dt.date(2027, 10, 9))
    assert imported is not None and imported.is_working_day and imported.source == "import"
    year = session.get(CalendarYear, 2027)
    assert year is not None and year.complete and year.source == "import"
    assert session.get(CalendarDay, dt.date(2026, 10, 1)) is not None  # other years untouched


def test_an_import_with_bad_lines_saves_nothing(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s, s.begin():
        ensure_calendar(s, NOW)
    with session_factory() as s:
        before = _count(s, CalendarDay)
    bad = "2027-10-01,holiday,国庆节\n2027-13-01,holiday,\n2027-10-02,maybe,\n".encode()
    with session_factory() as s, pytest.raises(CalendarImportRejected) as refused, s.begin():
        import_calendar(s, bad, staff_id=None, now=NOW)
    assert refused.value.status_code == 422
    assert [p[:6] for p in refused.value.problems] == ["第 2 行：", "第 3 行："]
    assert "未保存任何数据" in refused.value.message
    with session_factory() as s:
        assert _count(s, CalendarDay) == before
        assert s.get(CalendarYear, 2027) is None


def test_an_import_that_is_not_text_or_too_large_is_refused(session: Session) -> None:
    with pytest.raises(CalendarImportRejected, match="编码"):
        import_calendar(session, b"\xff\xfe\x00\xd8\x00\xdc" * 10, staff_id=None, now=NOW)
    with pytest.raises(TooLarge):
        import_calendar(session, b"#" * (IMPORT_MAX_BYTES + 1), staff_id=None, now=NOW)


def test_managers_are_warned_about_next_year_from_october(session: Session) -> None:
    ensure_calendar(session, NOW)
    assert calendar_warnings(session, dt.date(2026, 6, 1)) == []
    warnings = calendar_warnings(session, dt.date(2026, 11, 30))
    assert len(warnings) == 1 and warnings[0].startswith("2027 年")
    import_calendar(session, GOOD_2027, staff_id=None, now=NOW)
    assert calendar_warnings(session, dt.date(2026, 11, 30)) == []


@pytest.mark.postgres
@pytest.mark.xdist_group("postgres-threads")
def test_processes_pre_filling_together_do_not_collide(postgres_url: str) -> None:
    engine = create_db_engine(postgres_url)
    factory = make_session_factory(engine)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def start() -> None:
        try:
            with factory() as s, s.begin():
                barrier.wait()
                ensure_calendar(s, NOW)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with factory() as s:
        assert _count(s, CalendarDay) == sum(len(package_exceptions(y)) for y in package_years())
        assert _count(s, CalendarYear) == len(package_years())
    engine.dispose()
