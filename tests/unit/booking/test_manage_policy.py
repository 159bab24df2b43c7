"""The bureau side's pure rules: the settings and template forms, overlaps, the notice, the heatmap."""

from __future__ import annotations

import datetime as dt

from zhishui.booking.manage_policy import (
    SETTING_FIELDS,
    LoadSlot,
    blackout_block_reason,
    bureau_cancel_sms,
    clean_reason,
    days_text,
    load_grid,
    overlapping,
    read_settings,
    read_template,
    rules_from,
)
from zhishui.booking.policy import BookingRules, TemplateSpec
from zhishui.kit.clock import SHANGHAI

DEFAULTS = {name: str(getattr(BookingRules(), name)) for name in SETTING_FIELDS}
GOOD_TEMPLATE = {
    "queue_id": "3",
    "working_days_only": "true",
    "start_time": "09:00",
    "end_time": "12:00",
    "slot_minutes": "30",
    "capacity": "2",
}


def test_the_default_settings_read_back_as_the_default_rules() -> None:
    values, errors = read_settings(DEFAULTS)
    assert errors == []
    assert rules_from(values) == BookingRules()


def test_each_bad_setting_is_named_in_chinese_and_good_ones_still_read() -> None:
    values, errors = read_settings(
        {**DEFAULTS, "window_days": "", "daily_limit": "0", "late_grace_minutes": "三"}
    )
    assert errors == [
        "可提前预约天数：请填写",
        "每人每天最多预约次数：数值过小，最小为 1",
        "迟到宽限（分钟）：应为整数",
    ]
    assert values["close_minutes_before"] == 60 and "window_days" not in values
    _, errors = read_settings({**DEFAULTS, "restriction_days": "999"})
    assert errors == ["暂停预约天数 K：数值过大，最大为 365"]


def test_a_good_template_form_reads_as_a_template() -> None:
    data, errors = read_template({**GOOD_TEMPLATE, "valid_from": "2026-12-01"}, ["0", "2"], [3, 4])
    assert errors == [] and data is not None
    assert (data.queue_id, data.weekdays, data.working_days_only) == (3, (0, 2), True)
    assert (data.start_time, data.end_time, data.valid_from, data.valid_until) == (
        dt.time(9),
        dt.time(12),
        dt.date(2026, 12, 1),
        None,
    )


def test_a_bad_template_form_lists_every_reason() -> None:
    form = {
        "queue_id": "9",
        "start_time": "12:00",
        "end_time": "9点",
        "slot_minutes": "1",
        "capacity": "0",
        "valid_from": "2026-12-31",
        "valid_until": "2026-12-01",
    }
    data, errors = read_template(form, ["7"], [3])
    assert data is None
    assert errors == [
        "队列：不属于本厅或已停用",
        "适用星期：取值不正确",
        "适用日期：请勾选“仅工作日”或至少一个星期",
        "结束时间：应为“时:分”，如 09:00",
        "每个时段（分钟）：数值过小，最小为 5",
        "每个时段可约人数：数值过小，最小为 1",
        "截止日期不能早于生效日期",
    ]
    _, errors = read_template({**GOOD_TEMPLATE, "end_time": "09:20"}, [], [3])
    assert errors == ["开始至结束不足一个时段（30 分钟）"]
    _, errors = read_template({**GOOD_TEMPLATE, "end_time": "08:00"}, [], [3])
    assert errors == ["结束时间应晚于开始时间"]


def _spec(start: str, end: str, *, queue: int = 1, days: tuple[int, ...] = (), **kw: object) -> TemplateSpec:
    return TemplateSpec(
        queue_id=queue,
        start_time=dt.time.fromisoformat(start),
        end_time=dt.time.fromisoformat(end),
        slot_minutes=30,
        capacity=2,
        weekdays=frozenset(days),
        **kw,  # type: ignore[arg-type]
    )


def test_templates_overlap_only_on_a_queue_day_and_hour_they_share() -> None:
    base = _spec("09:00", "12:00", template_id=1)
    assert overlapping(_spec("11:00", "13:00"), [base]) is base
    assert overlapping(_spec("12:00", "13:00"), [base]) is None  # touching is fine
    assert overlapping(_spec("11:00", "13:00", queue=2), [base]) is None
    saturday = _spec("09:00", "12:00", days=(5,), template_id=2)
    assert overlapping(_spec("10:00", "11:00", days=(0,)), [saturday]) is None
    # A working-days template with no weekdays may serve a swapped Saturday: it overlaps.
    assert overlapping(_spec("10:00", "11:00"), [saturday]) is saturday
    ended = _spec("09:00", "12:00", template_id=3, valid_until=dt.date(2026, 12, 31))
    assert overlapping(_spec("09:00", "12:00", valid_from=dt.date(2027, 1, 1)), [ended]) is None
    assert overlapping(_spec("09:00", "12:00", template_id=3), [ended]) is None  # itself, being edited


def test_days_are_described_as_a_manager_says_them() -> None:
    assert days_text([], True) == "工作日"
    assert days_text([], False) == "每天"
    assert days_text([0, 1, 2, 3, 4], False) == "周一至周五"
    assert days_text([5, 2], True) == "周三、周六（仅工作日）"


def test_the_notice_says_which_booking_why_and_where_to_book_again() -> None:
    text = bureau_cancel_sms(
        hall="甲县第一办税服务厅",
        starts_at=dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC),
        ends_at=dt.datetime(2026, 12, 1, 1, 30, tzinfo=dt.UTC),
        code="ACEF3479",
        reason=clean_reason("  系统\n升级 "),
        rebook_url="https://zs.example/booking",
    )
    assert "甲县第一办税服务厅 12月1日 09:00–09:30（预约码 ACEF-3479）" in text
    assert "因“系统 升级”已由税务机关取消" in text
    assert "https://zs.example/booking" in text
    assert blackout_block_reason("培训") == "闭厅：培训"
    assert len(clean_reason("长" * 300)) == 100


def _slot(i: int, day: int, hhmm: str, *, queue: int = 1, booked: int = 0, blocked: bool = False) -> LoadSlot:
    start = dt.datetime.combine(dt.date(2026, 12, day), dt.time.fromisoformat(hhmm), tzinfo=SHANGHAI)
    return LoadSlot(i, queue, start, start + dt.timedelta(minutes=30), 2, booked, blocked)


def test_the_heatmap_adds_up_queues_per_day_and_time_and_marks_blocked_cells() -> None:
    grid = load_grid(
        [
            _slot(1, 1, "09:00", booked=1),
            _slot(2, 1, "09:00", queue=2, booked=2),
            _slot(3, 2, "14:00", blocked=True),
            _slot(4, 9, "09:00"),  # outside the range
        ],
        dt.date(2026, 12, 1),
        dt.date(2026, 12, 3),
    )
    assert grid.times == ["09:00", "14:00"]
    assert grid.days == [dt.date(2026, 12, 1), dt.date(2026, 12, 2), dt.date(2026, 12, 3)]
    first, second = grid.cells
    assert (first.x, first.y, first.booked, first.capacity, first.ratio, first.slot_ids) == (
        0,
        0,
        3,
        4,
        0.75,
        [1, 2],
    )
    assert not first.all_blocked
    assert (second.x, second.y, second.all_blocked, second.end) == (1, 1, True, "14:30")
