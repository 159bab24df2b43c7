"""The calendar import file: `date,working|holiday,name`, with line-numbered Chinese errors."""

from __future__ import annotations

import datetime as dt

from zhishui.workdays.policy import decode_import, export_lines, parse_import

GOOD = """# 2027 national holidays
date,kind,name
2027-10-01,holiday,国庆节
2027-10-09,working,

2027-02-06, 上班 ,春节调休
"""


def test_a_good_file_gives_one_row_per_exception_day() -> None:
    parsed = parse_import(GOOD)
    assert parsed.problems == []
    assert [(r.day, r.is_working_day, r.name, r.line) for r in parsed.rows] == [
        (dt.date(2027, 10, 1), False, "国庆节", 3),
        (dt.date(2027, 10, 9), True, "调休上班", 4),  # a worked Saturday without a name gets one
        (dt.date(2027, 2, 6), True, "春节调休", 6),
    ]
    assert parsed.years == [2027]


def test_every_bad_line_is_reported_with_its_number() -> None:
    parsed = parse_import(
        "2027-10-01,holiday,国庆节\n"
        "2027-02-30,holiday,\n"
        "2027/10/02,holiday\n"
        "2027-10-03,maybe,\n"
        "2027-10-04\n"
        "2027-10-01,working,\n"
        "2027-10-05,holiday," + "长" * 41 + "\n"
        "0999-01-01,holiday\n"
    )
    assert len(parsed.problems) == 7
    assert parsed.problems[0].startswith("第 2 行：日期“2027-02-30”无效")
    assert parsed.problems[1].startswith("第 3 行：")
    assert "第二列“maybe”无法识别" in parsed.problems[2]
    assert parsed.problems[3].startswith("第 5 行：") and "实际有 1 列" in parsed.problems[3]
    assert parsed.problems[4] == "第 6 行：日期 2027-10-01 与第 1 行重复"
    assert "名称超过 40 个字" in parsed.problems[5]
    assert "年份 999 超出范围" in parsed.problems[6]


def test_an_empty_file_is_refused_with_the_format() -> None:
    parsed = parse_import("# nothing\n\n")
    assert parsed.rows == [] and "没有任何日期" in parsed.problems[0] and "working" in parsed.problems[0]


def test_files_saved_by_chinese_excel_decode() -> None:
    text = "2027-10-01,holiday,国庆节\n"
    assert decode_import(text.encode("gb18030")) == text
    assert decode_import(b"\xef\xbb\xbf" + text.encode()) == text


def test_export_and_import_give_the_same_days() -> None:
    days = [(dt.date(2027, 10, 1), False, "国庆节"), (dt.date(2027, 10, 9), True, "调休上班")]
    parsed = parse_import(export_lines(days))
    assert parsed.problems == [] and [(r.day, r.is_working_day, r.name) for r in parsed.rows] == days
