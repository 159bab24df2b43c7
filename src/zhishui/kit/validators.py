"""Identifiers people type at a counter: taxpayer ids, resident ids, mobile phones.

Pure functions. Each failure raises a `ValueError` subclass whose message is a precise Chinese reason
(without the field's name: callers prefix it, see kit.http_errors.validation_details). A wrong check
digit is reported as wrong, never with the expected character, so the message cannot be used to
manufacture valid-looking numbers.

- 统一社会信用代码 (GB 32100-2015): 18 characters from "0-9 A-Z without I O S V Z", region code in
  positions 3-8, check character by the weighted sum mod 31 (`stdnum.cn.uscc`).
- 居民身份证号码 (GB 11643-1999): 17 digits and a check character (0-9 or X, ISO 7064 MOD 11-2,
  `stdnum.cn.ric`), with a province code and a birth date that exists.
- Older taxpayer ids of 15, 17 or 20 characters (digits and upper-case letters) carry no check digit
  and are accepted as "legacy" numbers.
- Mainland mobile numbers: 11 digits starting 13-19, optionally written with +86 / 0086 / 86 and
  spaces or dashes; stored as the bare 11 digits.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Annotated, Literal

from fastapi import Path
from pydantic import AfterValidator, Field
from stdnum.cn import ric, uscc

TaxIdScheme = Literal["uscc", "resident_id", "legacy"]

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_EXCLUDED_LETTERS = "IOSVZ"
LEGACY_LENGTHS = (15, 17, 20)
TAX_ID_LENGTHS = (15, 17, 18, 20)

# Province-level codes of GB/T 2260 (the first two digits of a resident id's address code).
PROVINCE_CODES = frozenset(
    {
        "11", "12", "13", "14", "15",
        "21", "22", "23",
        "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46",
        "50", "51", "52", "53", "54",
        "61", "62", "63", "64", "65",
        "71", "81", "82",
    }
)  # fmt: skip
EARLIEST_BIRTH_YEAR = 1880


class InvalidIdentifier(ValueError):
    """Base of every validation failure here; `str(exc)` is the Chinese reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WrongLength(InvalidIdentifier):
    pass


class IllegalCharacters(InvalidIdentifier):
    def __init__(self, message: str, characters: list[str]) -> None:
        super().__init__(message)
        self.characters = characters


class BadCheckDigit(InvalidIdentifier):
    pass


class ImpossibleBirthDate(InvalidIdentifier):
    pass


class BadRegionCode(InvalidIdentifier):
    pass


class BadPhonePrefix(InvalidIdentifier):
    pass


def _lengths_text(lengths: tuple[int, ...]) -> str:
    *head, last = (str(n) for n in lengths)
    return f"{'、'.join(head)} 或 {last}" if head else last


def _quote_chars(chars: list[str]) -> str:
    shown = []
    for ch in chars:
        if ch == " ":
            shown.append("「空格」")
        elif not ch.isprintable():
            shown.append(f"「U+{ord(ch):04X}」")
        else:
            shown.append(f"「{ch}」")
    return "".join(shown)


def _distinct(chars: str) -> list[str]:
    return list(dict.fromkeys(chars))


def normalise_tax_id(value: str) -> str:
    """Full-width letters and digits to half-width, upper case, no white space."""
    value = unicodedata.normalize("NFKC", value)
    return "".join(ch for ch in value if not ch.isspace()).upper()


def _check_alphanumeric(value: str, what: str) -> None:
    bad = _distinct("".join(ch for ch in value if not ("0" <= ch <= "9" or "A" <= ch <= "Z")))
    if bad:
        raise IllegalCharacters(f"含有不允许的字符{_quote_chars(bad)}，{what}只能由数字和大写字母组成", bad)


# --- 统一社会信用代码 -----------------------------------------------------------------------------


def validate_uscc(value: str) -> str:
    """A USCC, normalised; raises an `InvalidIdentifier` saying what is wrong."""
    number = normalise_tax_id(value)
    _check_alphanumeric(number, "统一社会信用代码")
    if len(number) != 18:
        raise WrongLength(f"统一社会信用代码应为 18 位，当前为 {len(number)} 位")
    excluded = _distinct("".join(ch for ch in number if ch in USCC_EXCLUDED_LETTERS))
    if excluded:
        raise IllegalCharacters(
            f"含有不允许的字符{_quote_chars(excluded)}，统一社会信用代码不使用字母 I、O、S、V、Z",
            excluded,
        )
    if not number[2:8].isdigit():
        raise BadRegionCode("第 3 至 8 位应为数字（登记管理机关行政区划码）")
    if number[-1] != uscc.calc_check_digit(number[:17]):
        raise BadCheckDigit("校验位不正确，请核对是否有输错的字符")
    return number


# --- 居民身份证号码 -------------------------------------------------------------------------------


def resident_id_birth_date(number: str) -> dt.date | None:
    """The birth date a resident id states, or None when no such day exists."""
    try:
        return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def validate_resident_id(value: str, *, today: dt.date | None = None) -> str:
    """An 18-character resident id, normalised (a final x becomes X)."""
    number = normalise_tax_id(value)
    if len(number) != 18:
        raise WrongLength(f"居民身份证号码应为 18 位，当前为 {len(number)} 位")
    bad = _distinct("".join(ch for ch in number[:17] if not ch.isdigit()))
    last = number[17]
    if not (last.isdigit() or last == "X") and last not in bad:
        bad.append(last)
    if bad:
        raise IllegalCharacters(
            f"含有不允许的字符{_quote_chars(bad)}，居民身份证号码前 17 位应为数字，最后一位为数字或 X",
            bad,
        )
    if number[:2] not in PROVINCE_CODES:
        raise BadRegionCode(f"前两位「{number[:2]}」不是有效的省级行政区划代码")
    if number[-1] != ric.calc_check_digit(number):
        raise BadCheckDigit("校验位不正确，请核对是否有输错的数字")
    born = resident_id_birth_date(number)
    stated = f"{number[6:10]} 年 {number[10:12]} 月 {number[12:14]} 日"
    if born is None:
        raise ImpossibleBirthDate(f"出生日期 {stated} 不存在")
    today = today or dt.date.today()
    if born > today:
        raise ImpossibleBirthDate(f"出生日期 {stated} 晚于今天")
    if born.year < EARLIEST_BIRTH_YEAR:
        raise ImpossibleBirthDate(f"出生日期 {stated} 早于 {EARLIEST_BIRTH_YEAR} 年，不合常理")
    return number


def _looks_like_resident_id(number: str) -> bool:
    """An 18-digit number (or 17 + X) whose parts read like a resident id's."""
    return (
        number[:17].isdigit()
        and (number[17].isdigit() or number[17] == "X")
        and number[:2] in PROVINCE_CODES
        and number[6:8] in ("18", "19", "20")
        and 1 <= int(number[10:12]) <= 12
    )


# --- any taxpayer id ------------------------------------------------------------------------------


def classify_tax_id(value: str, *, today: dt.date | None = None) -> tuple[TaxIdScheme, str]:
    """Which kind of taxpayer id `value` is, and its normalised form.

    18 characters are a resident id or a USCC and must pass that scheme's checks. An 18-digit number
    can be either; when it passes both (rare), the resident id wins, since its check is the stricter
    of the two (dates, province). 15, 17 and 20 characters are older numbers without a check digit.
    """
    number = normalise_tax_id(value)
    if not number:
        raise WrongLength("不能为空")
    _check_alphanumeric(number, "纳税人识别号")
    if len(number) not in TAX_ID_LENGTHS:
        raise WrongLength(f"长度应为 {_lengths_text(TAX_ID_LENGTHS)} 位，当前为 {len(number)} 位")
    if len(number) in LEGACY_LENGTHS:
        return "legacy", number
    try:
        return "resident_id", validate_resident_id(number, today=today)
    except InvalidIdentifier as as_resident_id:
        try:
            return "uscc", validate_uscc(number)
        except InvalidIdentifier as as_uscc:
            # Explain the failure in the terms of the scheme the person most likely meant.
            raise (as_resident_id if _looks_like_resident_id(number) else as_uscc) from None


def validate_tax_id(value: str) -> str:
    """The normalised taxpayer id, for pydantic's AfterValidator."""
    return classify_tax_id(value)[1]


# --- mobile phones --------------------------------------------------------------------------------

_PHONE_SEPARATORS = re.compile(r"[\s\-()（）]")


def normalise_phone(value: str) -> str:
    """A mainland mobile number as its 11 digits; raises an `InvalidIdentifier` saying what is wrong."""
    raw = _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", value))
    if raw.startswith("+"):
        if not raw.startswith("+86"):
            raise BadPhonePrefix("仅支持中国大陆手机号码（国家代码 +86）")
        raw = raw[3:]
    elif raw.startswith("0086"):
        raw = raw[4:]
    elif raw.startswith("86") and len(raw) == 13:
        raw = raw[2:]
    bad = _distinct("".join(ch for ch in raw if not ch.isdigit()))
    if bad:
        raise IllegalCharacters(f"含有不允许的字符{_quote_chars(bad)}，手机号码只能包含数字", bad)
    if len(raw) != 11:
        raise WrongLength(f"应为 11 位数字，当前为 {len(raw)} 位")
    if raw[0] != "1" or raw[1] not in "3456789":
        raise BadPhonePrefix("应以 13 至 19 开头")
    return raw


TaxIdStr = Annotated[str, AfterValidator(validate_tax_id)]
PhoneStr = Annotated[str, AfterValidator(normalise_phone)]


# Row ids as they arrive from outside: a positive 32-bit integer. Anything larger cannot name a row,
# and would otherwise overflow the database driver (a 500 instead of a 404).
MAX_ROW_ID = 2_147_483_647
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
RowIdPath = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
