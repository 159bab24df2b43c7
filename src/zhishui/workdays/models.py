"""Tables of the working-day calendar.

Only exception days are stored: a holiday on a weekday, or a weekend day worked in lieu (调休上班).
Every other day is Monday–Friday working, Saturday–Sunday off. The calendar is national, so it is one
per deployment rather than per bureau.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zhishui.kit.db import Base


class CalendarDay(Base):
    """A day that differs from the Monday–Friday default (or a manager's explicit setting)."""

    __tablename__ = "calendar_day"
    __table_args__ = (CheckConstraint("source IN ('package', 'manual', 'import')", name="source"),)

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    is_working_day: Mapped[bool]
    name: Mapped[str] = mapped_column(String(40), default="")  # 国庆节 · 调休上班
    source: Mapped[str] = mapped_column(String(8))  # package | manual | import (workdays.policy.Source)
    updated_at: Mapped[dt.datetime]
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))


class CalendarYear(Base):
    """A year the calendar has data for. A year without a complete row falls back to Monday–Friday and
    warns managers: the State Council publishes next year's arrangement late in the year."""

    __tablename__ = "calendar_year"
    __table_args__ = (
        CheckConstraint("source IN ('package', 'manual', 'import')", name="source"),
        CheckConstraint("year BETWEEN 1900 AND 2999", name="year_range"),
    )

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(8))
    # False while only a few days were edited by hand: the year still raises the warning.
    complete: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[dt.datetime]
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
