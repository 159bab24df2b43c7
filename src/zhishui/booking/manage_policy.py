"""Pure rules of the bureau side of appointments: the settings and template forms, overlapping
templates, the notice of a cancellation, and the load heatmap's cells.

No database, no web (booking.manage calls these; booking.policy holds the rules both sides share).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from zhishui.booking.policy import BookingRules, TemplateSpec, format_booking_code
from zhishui.kit.clock import SHANGHAI

WEEKDAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")

# --- the settings form -----------------------------------------------------------------------------

# field → (its label on the page, the smallest and the largest value)
SETTING_FIELDS: dict[str, tuple[str, int, int]] = {
    "window_days": ("可提前预约天数", 0, 60),
    "close_minutes_before": ("截止预约（时段开始前分钟数）", 0, 1440),
    "daily_limit": ("每人每天最多预约次数", 1, 10),
    "checkin_early_minutes": ("最早提前签到（分钟）", 0, 240),
    "late_grace_minutes": ("迟到宽限（分钟）", 0, 240),
    "no_show_limit": ("未到次数上限 N", 1, 50),
    "no_show_window_days": ("统计未到的天数 M", 1, 365),
    "restriction_days": ("暂停预约天数 K", 0, 365),
}


def _int_field(raw: object, text: str, low: int, high: int) -> tuple[int | None, str | None]:
    value = raw.strip() if isinstance(raw, str) else ""
    if not value:
        return None, f"{text}：请填写"
    try:
        number = int(value)
    except ValueError:
        return None, f"{text}：应为整数"
    if number < low:
        return None, f"{text}：数值过小，最小为 {low}"
    if number > high:
        return None, f"{text}：数值过大，最大为 {high}"
    return number, None


def read_settings(form: Mapping[str, object]) -> tuple[dict[str, int], list[str]]:
    """The settings form's numbers, and a Chinese reason for each one missing or out of range."""
    values: dict[str, int] = {}
    errors: list[str] = []
    for name, (text, low, high) in SETTING_FIELDS.items():
        number, error = _int_field(form.get(name), text, low, high)
        if error:
            errors.append(error)
        elif number is not None:
            values[name] = number
    return values, errors


def rules_from(values: Mapping[str, int]) -> BookingRules:
    return BookingRules(**{name: values[name] for name in SETTING_FIELDS})


# --- the template form -----------------------------------------------------------------------------

MIN_SLOT_MINUTES = 5
MAX_SLOT_MINUTES = 240
MAX_CAPACITY = 200


@dataclass(frozen=True)
class TemplateInput:
    """A slot template as the manager filled it in, checked."""

    queue_id: int
    weekdays: tuple[int, ...]
    working_days_only: bool
    start_time: dt.time
    end_time: dt.time
    slot_minutes: int
    capacity: int
    valid_from: dt.date | None
    valid_until: dt.date | None
    active: bool = True

    def spec(self, template_id: int | None = None) -> TemplateSpec:
        return TemplateSpec(
            queue_id=self.queue_id,
            start_time=self.start_time,
            end_time=self.end_time,
            slot_minutes=self.slot_minutes,
            capacity=self.capacity,
            weekdays=frozenset(self.weekdays),
            working_days_only=self.working_days_only,
            valid_from=self.valid_from,
            valid_until=self.valid_until,
            template_id=template_id,
        )


def _time(raw: object, text: str) -> tuple[dt.time | None, str | None]:
    value = raw.strip() if isinstance(raw, str) else ""
    if not value:
        return None, f"{text}：请填写"
    try:
        parsed = dt.time.fromisoformat(value)
    except ValueError:
        return None, f"{text}：应为“时:分”，如 09:00"
    if parsed.second or parsed.microsecond or parsed.tzinfo is not None:
        return None, f"{text}：应为“时:分”，如 09:00"
    return parsed, None


def _date(raw: object, text: str) -> tuple[dt.date | None, str | None]:
    value = raw.strip() if isinstance(raw, str) else ""
    if not value:
        return None, None
    try:
        return dt.date.fromisoformat(value), None
    except ValueError:
        return None, f"{text}：应为日期，如 2026-12-01"


def read_template(
    form: Mapping[str, object], weekdays: Sequence[str], queue_ids: Iterable[int]
) -> tuple[TemplateInput | None, list[str]]:
    """The template form checked field by field: the template, or every reason it cannot be saved.

    `weekdays` are the ticked weekday boxes (0 = Monday); `queue_ids` the hall's active queues.
    """
    errors: list[str] = []
    queue_id: int | None = None
    raw_queue = form.get("queue_id")
    raw_queue = raw_queue.strip() if isinstance(raw_queue, str) else ""
    if not raw_queue:
        errors.append("队列：请选择")
    elif not raw_queue.isdigit() or int(raw_queue) not in set(queue_ids):
        errors.append("队列：不属于本厅或已停用")
    else:
        queue_id = int(raw_queue)

    days: set[int] = set()
    for raw in weekdays:
        if not raw.isdigit() or not 0 <= int(raw) <= 6:
            errors.append("适用星期：取值不正确")
            break
        days.add(int(raw))
    working_days_only = form.get("working_days_only") == "true"
    if not days and not working_days_only:
        errors.append("适用日期：请勾选“仅工作日”或至少一个星期")

    start, error = _time(form.get("start_time"), "开始时间")
    errors.extend([error] if error else [])
    end, error = _time(form.get("end_time"), "结束时间")
    errors.extend([error] if error else [])
    minutes, error = _int_field(
        form.get("slot_minutes"), "每个时段（分钟）", MIN_SLOT_MINUTES, MAX_SLOT_MINUTES
    )
    errors.extend([error] if error else [])
    capacity, error = _int_field(form.get("capacity"), "每个时段可约人数", 1, MAX_CAPACITY)
    errors.extend([error] if error else [])
    if start is not None and end is not None:
        if start >= end:
            errors.append("结束时间应晚于开始时间")
        elif minutes is not None:
            span = (dt.datetime.combine(dt.date.min, end) - dt.datetime.combine(dt.date.min, start)).seconds
            if span < minutes * 60:
                errors.append(f"开始至结束不足一个时段（{minutes} 分钟）")

    valid_from, error = _date(form.get("valid_from"), "生效日期")
    errors.extend([error] if error else [])
    valid_until, error = _date(form.get("valid_until"), "截止日期")
    errors.extend([error] if error else [])
    if valid_from and valid_until and valid_until < valid_from:
        errors.append("截止日期不能早于生效日期")

    if errors:
        return None, errors
    assert queue_id is not None and start is not None and end is not None
    assert minutes is not None and capacity is not None
    return (
        TemplateInput(
            queue_id=queue_id,
            weekdays=tuple(sorted(days)),
            working_days_only=working_days_only,
            start_time=start,
            end_time=end,
            slot_minutes=minutes,
            capacity=capacity,
            valid_from=valid_from,
            valid_until=valid_until,
            active=form.get("active", "true") == "true",
        ),
        [],
    )


def days_text(weekdays: Iterable[int], working_days_only: bool) -> str:
    """Which days a template serves, as the manager reads it: 工作日, 周一、周三（仅工作日）, 每天."""
    days = sorted(set(weekdays))
    if not days:
        return "工作日" if working_days_only else "每天"
    if days == [0, 1, 2, 3, 4]:
        named = "周一至周五"
    elif days == list(range(7)):
        named = "周一至周日"
    else:
        named = "、".join(WEEKDAY_NAMES[d] for d in days)
    return f"{named}（仅工作日）" if working_days_only else named


def template_text(spec: TemplateSpec) -> str:
    return f"{days_text(spec.weekdays, spec.working_days_only)} {spec.start_time:%H:%M}–{spec.end_time:%H:%M}"


def overlapping(candidate: TemplateSpec, others: Iterable[TemplateSpec]) -> TemplateSpec | None:
    """An active template of the same queue whose hours overlap the candidate's on some day both
    may serve, if any. Overlapping templates would cut a queue's day into overlapping slots.

    The working-day flag is not used to separate two templates: a swapped working Saturday serves
    both a working-days template and a Saturday one.
    """
    for other in others:
        if other.queue_id != candidate.queue_id or other.template_id == candidate.template_id:
            continue
        if candidate.weekdays and other.weekdays and not candidate.weekdays & other.weekdays:
            continue
        if not (candidate.start_time < other.end_time and other.start_time < candidate.end_time):
            continue
        starts_after = candidate.valid_from and other.valid_until and candidate.valid_from > other.valid_until
        ends_before = candidate.valid_until and other.valid_from and candidate.valid_until < other.valid_from
        if starts_after or ends_before:
            continue
        return other
    return None


# --- what the taxpayer is told ---------------------------------------------------------------------

MAX_REASON = 100


def clean_reason(raw: str) -> str:
    """A cancellation or block reason as it goes into a text message: one line, not too long."""
    return " ".join(raw.split())[:MAX_REASON]


def _when(starts_at: dt.datetime, ends_at: dt.datetime) -> str:
    start, end = starts_at.astimezone(SHANGHAI), ends_at.astimezone(SHANGHAI)
    return f"{start.month}月{start.day}日 {start:%H:%M}–{end:%H:%M}"


def bureau_cancel_sms(
    *, hall: str, starts_at: dt.datetime, ends_at: dt.datetime, code: str, reason: str, rebook_url: str
) -> str:
    """The text telling a taxpayer the bureau cancelled their booking: which one, why, how to rebook."""
    return (
        f"【智税】很抱歉，您预约的{hall} {_when(starts_at, ends_at)}（预约码 {format_booking_code(code)}）"
        f"因“{reason}”已由税务机关取消，当日预约次数已退还。"
        f"请重新预约其他时段：{rebook_url}，或拨打 12366 咨询。"
    )


def blackout_block_reason(reason: str) -> str:
    """What a slot blocked by a closed day says (removing the closed day reopens exactly these)."""
    return clean_reason(f"闭厅：{reason}" if reason else "闭厅")


# --- the load heatmap ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadSlot:
    """A slot as the staff calendar sees it."""

    id: int
    queue_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    booked: int
    blocked: bool


@dataclass
class Cell:
    """One day and time of day: the slots of every queue shown there, added up."""

    x: int
    y: int
    start: str
    end: str
    booked: int = 0
    capacity: int = 0
    blocked: int = 0
    slot_ids: list[int] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        """Load of the cell: booked over capacity; a cell without places counts as full."""
        return round(self.booked / self.capacity, 3) if self.capacity else 1.0

    @property
    def all_blocked(self) -> bool:
        return bool(self.slot_ids) and self.blocked == len(self.slot_ids)


def day_label(day: dt.date) -> str:
    return f"{day.month}月{day.day}日 {WEEKDAY_NAMES[day.weekday()]}"


@dataclass(frozen=True)
class LoadGrid:
    days: list[dt.date]
    times: list[str]  # slot starts ("09:00"), the x axis
    cells: list[Cell]


def load_grid(slots: Iterable[LoadSlot], first: dt.date, last: dt.date) -> LoadGrid:
    """The heatmap of `first`..`last`: x = time of day a slot starts, y = day, one cell per pair that
    has slots (slots of several queues starting together share a cell)."""
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    row = {day: i for i, day in enumerate(days)}
    local = [(s, s.starts_at.astimezone(SHANGHAI), s.ends_at.astimezone(SHANGHAI)) for s in slots]
    local = [item for item in local if item[1].date() in row]
    times = sorted({f"{start:%H:%M}" for _, start, _ in local})
    column = {t: i for i, t in enumerate(times)}
    cells: dict[tuple[int, int], Cell] = {}
    for slot, start, end in sorted(local, key=lambda item: (item[1], item[0].queue_id, item[0].id)):
        key = (column[f"{start:%H:%M}"], row[start.date()])
        cell = cells.setdefault(key, Cell(x=key[0], y=key[1], start=f"{start:%H:%M}", end=f"{end:%H:%M}"))
        cell.end = max(cell.end, f"{end:%H:%M}")
        cell.booked += slot.booked
        cell.capacity += slot.capacity
        cell.blocked += int(slot.blocked)
        cell.slot_ids.append(slot.id)
    return LoadGrid(days=days, times=times, cells=sorted(cells.values(), key=lambda c: (c.y, c.x)))
