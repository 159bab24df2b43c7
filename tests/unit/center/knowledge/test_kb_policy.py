"""Reading Q&A files and checking their rows, snippets and reply placeholders: pure, no database."""

from __future__ import annotations

import pytest

from zhishui.center.knowledge import policy
from zhishui.center.knowledge.policy import ImportRejected, parse_import


def test_a_headerless_file_reads_question_then_answer_and_names_the_line_each_record_starts_on() -> None:
    data = '第一个问题,"答案第一行\n答案第二行"\n第二个问题,第二个答案\n'.encode()
    parsed = parse_import(data)
    assert not parsed.has_header
    assert [(r.line, r.title) for r in parsed.rows] == [(1, "第一个问题"), (3, "第二个问题")]
    assert parsed.rows[0].body == "答案第一行\n答案第二行"


def test_a_header_row_names_the_columns_in_any_order_and_gives_keys_tags_and_matters() -> None:
    data = "编号,答案,问题,标签,事项编码\nK1,可以网上办理,怎么开发票,发票、开票,Q-01\n".encode()
    parsed = parse_import(data)
    assert parsed.has_header
    (row,) = parsed.rows
    assert (row.external_key, row.title, row.body, row.tags, row.matter_code) == (
        "K1",
        "怎么开发票",
        "可以网上办理",
        "发票,开票",
        "Q-01",
    )


def test_utf8_with_bom_and_gb18030_files_read_the_same() -> None:
    text = "title,answer\n个人互换住房是否缴纳土地增值税？,免征\n"
    plain = parse_import(text.encode("utf-8"))
    bom = parse_import(text.encode("utf-8-sig"))
    gb = parse_import(text.encode("gb18030"))
    assert plain.rows == bom.rows == gb.rows
    assert bom.has_header and gb.has_header
    assert gb.encoding == "gb18030"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "空"),
        (b"   \n", "空"),
        (b"\xff\xfe\xff\xfe", "编码"),
        (b"a,b\x00c\n", "二进制"),
        ("问题,答案\n".encode(), "没有可导入"),
        ("问题,说明\n怎么办,这样办\n".encode(), "表头"),
        (b"x" * (policy.MAX_IMPORT_BYTES + 1), "过大"),
    ],
    ids=["empty", "blank", "not-an-encoding", "binary", "header-only", "header-without-answer", "too-large"],
)
def test_files_that_cannot_be_used_at_all_are_refused_with_a_chinese_reason(
    data: bytes, message: str
) -> None:
    with pytest.raises(ImportRejected, match=message):
        parse_import(data)


def test_bad_rows_are_skipped_with_their_line_and_reason_and_the_good_rows_stay() -> None:
    long_title = "问" * (policy.MAX_TITLE + 1)
    long_body = "答" * (policy.MAX_BODY + 1)
    lines = [
        "好问题,好答案",  # 1
        ",没有问题的答案",  # 2
        "没有答案的问题,",  # 3
        "只有一列",  # 4
        f"{long_title},答案",  # 5
        f"问题,{long_body}",  # 6
        "有乱码的问题\ufffd,答案",  # 7
        "另一个好问题,另一个好答案",  # 8
    ]
    parsed = parse_import("\n".join(lines).encode())
    assert [r.line for r in parsed.rows] == [1, 8]
    reasons = {s.line: s.reason for s in parsed.skipped}
    assert reasons[2] == "问题为空"
    assert reasons[3] == "答案为空"
    assert reasons[4] == "答案为空"
    assert reasons[5].startswith("问题过长")
    assert reasons[6].startswith("答案过长")
    assert "无法识别的字符" in reasons[7]


def test_a_question_repeated_in_the_file_keeps_the_last_row_and_skips_the_earlier_one() -> None:
    data = "怎么开发票,旧答案\n其他问题,其他答案\n怎么  开发票,新答案\n".encode()
    parsed = parse_import(data)
    assert [(r.line, r.body) for r in parsed.rows] == [(2, "其他答案"), (3, "新答案")]
    assert [(s.line, "第 3 行" in s.reason) for s in parsed.skipped] == [(1, True)]


def test_the_key_of_a_row_without_one_ignores_width_case_and_spaces() -> None:
    assert policy.title_key("ＡＢＣ 发票？") == policy.title_key("abc发票?")
    assert policy.title_key("发票") != policy.title_key("发票丢了")
    assert len(policy.title_key("问" * 200)) <= policy.MAX_KEY


def test_answers_keep_full_width_indentation_but_lose_trailing_spaces_and_blank_ends() -> None:
    assert (
        policy.clean_body("\r\n\u3000\u3000第一段  \r\n\u3000\u3000第二段\n\n")
        == "\u3000\u3000第一段\n\u3000\u3000第二段"
    )
    assert policy.clean_title("  金融企业的\u3000固定资产\n ") == "金融企业的 固定资产"


def test_tags_split_on_either_comma_width_and_dunhao_and_are_deduplicated() -> None:
    assert policy.normalize_tags("发票，开票、发票, 红字") == "发票,开票,红字"
    assert policy.normalize_tags(["发票", "开票,红字"]) == "发票,开票,红字"
    assert policy.split_tags("") == []


def test_a_snippet_is_cut_around_the_first_matching_term() -> None:
    text = "甲" * 200 + "坏账准备的计提方法" + "乙" * 200
    piece = policy.snippet(text, ["坏账准备", "计提"], width=40)
    assert "坏账准备" in piece
    assert piece.startswith("…") and piece.endswith("…")
    assert policy.snippet("短答案", ["无关"]) == "短答案"
    assert policy.snippet("丙" * 100, ["无关"], width=10) == "丙" * 10 + "…"


def test_reply_placeholders_are_filled_and_missing_ones_stay_visible() -> None:
    body = '{name}您好，您咨询的{matter}可在电子税务局办理。{name}如有疑问请致电 12366。JSON {"a": 1}'
    assert policy.placeholders(body) == ["name", "matter"]
    rendered = policy.render_reply(body, {"name": "张先生"})
    assert rendered.startswith("张先生您好，您咨询的{matter}")
    assert "张先生如有疑问" in rendered
    assert '{"a": 1}' in rendered


def test_the_guide_text_of_a_matter_numbers_its_steps() -> None:
    text = policy.guide_text("电子税务局密码重置", "登录页 > 忘记密码", ["输入手机号", "", "设置新密码"])
    assert text.splitlines() == [
        "【电子税务局密码重置】",
        "办理路径：登录页 > 忘记密码",
        "操作步骤：",
        "1. 输入手机号",
        "2. 设置新密码",
    ]
