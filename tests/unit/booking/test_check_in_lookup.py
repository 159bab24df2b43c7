"""What the kiosk's one field takes: a phone, a booking code as typed, or what a QR scanner types."""

from __future__ import annotations

import pytest

from zhishui.booking.check_in import Lookup, LookupKind, parse_lookup
from zhishui.kit.errors import InvalidInput

TOKEN = "q1W2e3R4t5Y6u7I8o9P0a1S2d3F4g5H6j7K8l9Z0x1C"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("13800138000", Lookup(LookupKind.PHONE, "13800138000")),
        (" 138 0013 8000 ", Lookup(LookupKind.PHONE, "13800138000")),
        ("+86 138-0013-8000", Lookup(LookupKind.PHONE, "13800138000")),
        ("ACEF-3479", Lookup(LookupKind.CODE, "ACEF3479")),
        ("acef 3479", Lookup(LookupKind.CODE, "ACEF3479")),
        (TOKEN, Lookup(LookupKind.TOKEN, TOKEN)),
        (f"https://tax.example.cn/booking/b/{TOKEN}", Lookup(LookupKind.TOKEN, TOKEN)),
        (f"https://tax.example.cn/booking/b/{TOKEN}/", Lookup(LookupKind.TOKEN, TOKEN)),
        (f"http://10.0.0.5:8000/booking?token={TOKEN}", Lookup(LookupKind.TOKEN, TOKEN)),
        ("https://tax.example.cn/booking/code/ACEF-3479", Lookup(LookupKind.CODE, "ACEF3479")),
    ],
)
def test_a_phone_a_code_or_a_scanned_link_is_recognised(typed: str, expected: Lookup) -> None:
    assert parse_lookup(typed) == expected


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("   ", "请输入预约码或手机号码，或扫描预约二维码"),
        ("ACEF-34790", "无法识别"),
        ("ACEF-3O79", "无法识别"),  # a look-alike letter O is not guessed at
        ("12345678901", "手机号码应以 13 至 19 开头"),
        ("https://tax.example.cn/booking/b/", "无法识别"),
        ("https://tax.example.cn/booking/b/short", "无法识别"),
        ("x" * 400, "无法识别"),
        ("<script>", "无法识别"),
    ],
)
def test_anything_else_is_refused_in_chinese(typed: str, message: str) -> None:
    with pytest.raises(InvalidInput) as bad:
        parse_lookup(typed)
    assert message in bad.value.message and bad.value.field == "q"
