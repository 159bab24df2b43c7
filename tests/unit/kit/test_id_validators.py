"""Taxpayer ids, resident ids and phones: valid numbers pass, every kind of mistake is named."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc

from zhishui.demo.ids import make_legacy_tax_id, make_resident_id, make_uscc, random_birth_date
from zhishui.kit.validators import (
    BadCheckDigit,
    BadPhonePrefix,
    BadRegionCode,
    IllegalCharacters,
    ImpossibleBirthDate,
    InvalidIdentifier,
    PhoneStr,
    TaxIdStr,
    WrongLength,
    classify_tax_id,
    normalise_phone,
    validate_resident_id,
    validate_uscc,
)

TODAY = dt.date(2026, 11, 30)
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"

seeds = st.integers(min_value=0, max_value=2**32)
birth_dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY)


@st.composite
def usccs(draw: st.DrawFn) -> str:
    rng = random.Random(draw(seeds))
    entity = draw(st.sampled_from("123"))
    return make_uscc(rng, entity=entity)


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    rng = random.Random(draw(seeds))
    region = draw(st.sampled_from(["110101", "330106", "440305", "510104", "330999"]))
    return make_resident_id(rng, born=draw(birth_dates), region=region)


# --- published examples ---------------------------------------------------------------------------


def test_published_uscc_example_is_valid() -> None:
    assert classify_tax_id("91110000600037341L") == ("uscc", "91110000600037341L")


def test_the_standards_resident_id_example_is_valid() -> None:
    # The example number printed in GB 11643-1999.
    assert classify_tax_id("11010519491231002X") == ("resident_id", "11010519491231002X")


def test_lower_case_x_and_spaces_are_normalised() -> None:
    assert classify_tax_id(" 1101 0519 4912 3100 2x ") == ("resident_id", "11010519491231002X")


def test_full_width_characters_are_normalised() -> None:
    assert classify_tax_id("９１１１００００６０００３７３４１Ｌ")[1] == "91110000600037341L"


# --- generated numbers ----------------------------------------------------------------------------


@given(usccs())
def test_generated_usccs_validate_here_and_in_stdnum(code: str) -> None:
    assert validate_uscc(code) == code
    assert stdnum_uscc.is_valid(code)


@given(resident_ids())
def test_generated_resident_ids_validate_here_and_in_stdnum(number: str) -> None:
    assert validate_resident_id(number, today=TODAY) == number
    assert stdnum_ric.calc_check_digit(number) == number[-1]


@given(resident_ids())
def test_resident_ids_classify_as_resident_ids(number: str) -> None:
    assert classify_tax_id(number, today=TODAY) == ("resident_id", number)


@given(usccs())
def test_usccs_classify_as_usccs_unless_they_also_read_as_resident_ids(code: str) -> None:
    scheme, normalised = classify_tax_id(code, today=TODAY)
    assert normalised == code
    assert scheme == "uscc" or stdnum_ric.calc_check_digit(code) == code[-1]


@given(usccs(), st.integers(min_value=0, max_value=17), st.sampled_from(USCC_CHARS))
def test_any_single_character_change_breaks_a_uscc(code: str, position: int, char: str) -> None:
    assume(code[position] != char)
    mutated = code[:position] + char + code[position + 1 :]
    with pytest.raises(InvalidIdentifier):
        validate_uscc(mutated)


@given(resident_ids(), st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_any_single_character_change_breaks_a_resident_id(number: str, position: int, char: str) -> None:
    assume(number[position] != char)
    mutated = number[:position] + char + number[position + 1 :]
    with pytest.raises(InvalidIdentifier):
        validate_resident_id(mutated, today=TODAY)


@given(resident_ids(), st.integers(min_value=0, max_value=16))
def test_swapping_two_neighbouring_digits_breaks_a_resident_id(number: str, position: int) -> None:
    a, b = number[position], number[position + 1]
    assume(a != b)
    swapped = number[:position] + b + a + number[position + 2 :]
    with pytest.raises(InvalidIdentifier):
        validate_resident_id(swapped, today=TODAY)


@given(seeds, st.sampled_from([15, 17, 20]))
def test_legacy_ids_of_15_17_or_20_characters_are_accepted_without_a_check(seed: int, length: int) -> None:
    number = make_legacy_tax_id(random.Random(seed), length)
    assert classify_tax_id(number.lower()) == ("legacy", number)


def test_demo_birth_dates_stay_in_range() -> None:
    rng = random.Random(1)
    lo, hi = dt.date(1950, 1, 1), dt.date(2000, 12, 31)
    assert all(lo <= random_birth_date(rng, lo, hi) <= hi for _ in range(500))


# --- the reasons given ----------------------------------------------------------------------------


def test_wrong_length_says_which_lengths_are_allowed() -> None:
    with pytest.raises(WrongLength) as exc:
        classify_tax_id("1234567890")
    assert str(exc.value) == "长度应为 15、17、18 或 20 位，当前为 10 位"


def test_empty_tax_id_is_refused() -> None:
    with pytest.raises(WrongLength, match="不能为空"):
        classify_tax_id("   ")


def test_illegal_characters_are_named() -> None:
    with pytest.raises(IllegalCharacters) as exc:
        classify_tax_id("91110000-600037341L")
    assert "「-」" in str(exc.value)
    assert exc.value.characters == ["-"]


def test_chinese_characters_are_named() -> None:
    with pytest.raises(IllegalCharacters, match="「税」"):
        classify_tax_id("9111000060003734税L")


def test_letters_a_uscc_never_uses_are_named() -> None:
    code = "91110000600037341L"
    with pytest.raises(IllegalCharacters, match="「O」"):
        classify_tax_id(code[:10] + "O" + code[11:])


def test_uscc_region_code_must_be_digits() -> None:
    with pytest.raises(BadRegionCode):
        validate_uscc("91A10000600037341L")


def test_bad_check_digit_does_not_reveal_the_expected_character() -> None:
    with pytest.raises(BadCheckDigit) as exc:
        classify_tax_id("91110000600037341M")
    assert "校验位不正确" in str(exc.value)
    assert "L" not in str(exc.value)


def test_resident_id_with_a_wrong_check_digit_is_reported_as_a_resident_id() -> None:
    with pytest.raises(BadCheckDigit, match="数字"):
        classify_tax_id("110105194912310021")


def test_impossible_birth_date_is_reported() -> None:
    number = make_resident_id(random.Random(3), born=dt.date(1990, 1, 1))
    first17 = number[:10] + "0230" + number[14:17]  # 30 February
    from zhishui.demo.ids import resident_id_check_char

    broken = first17 + resident_id_check_char(first17)
    with pytest.raises(ImpossibleBirthDate, match="1990 年 02 月 30 日 不存在"):
        validate_resident_id(broken, today=TODAY)


def test_birth_date_in_the_future_is_reported() -> None:
    number = make_resident_id(random.Random(3), born=dt.date(2027, 5, 1))
    with pytest.raises(ImpossibleBirthDate, match="晚于今天"):
        validate_resident_id(number, today=TODAY)


def test_unknown_province_is_reported() -> None:
    number = make_resident_id(random.Random(3), born=dt.date(1980, 5, 1), region="990101")
    with pytest.raises(BadRegionCode, match="99"):
        validate_resident_id(number, today=TODAY)


# --- phones ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    ["13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "+8613812345678", "0086-13812345678",
     "8613812345678", "１３８１２３４５６７８"],
)  # fmt: skip
def test_phones_written_in_common_ways_normalise_to_eleven_digits(written: str) -> None:
    assert normalise_phone(written) == "13812345678"


@given(st.sampled_from("3456789"), st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_every_mainland_mobile_pattern_is_accepted(second: str, rest: str) -> None:
    assert normalise_phone(f"1{second}{rest}") == f"1{second}{rest}"


def test_phone_of_wrong_length_says_so() -> None:
    with pytest.raises(WrongLength, match="应为 11 位数字，当前为 10 位"):
        normalise_phone("1381234567")


def test_phone_with_letters_names_them() -> None:
    with pytest.raises(IllegalCharacters, match="「a」"):
        normalise_phone("1381234567a")


@pytest.mark.parametrize("number", ["12812345678", "23812345678", "02112345678"])
def test_phone_must_start_with_13_to_19(number: str) -> None:
    with pytest.raises(BadPhonePrefix, match="13 至 19"):
        normalise_phone(number)


def test_foreign_country_codes_are_refused() -> None:
    with pytest.raises(BadPhonePrefix, match=r"\+86"):
        normalise_phone("+85291234567")


# --- pydantic types -------------------------------------------------------------------------------


class _Form(BaseModel):
    tax_id: TaxIdStr
    phone: PhoneStr


def test_pydantic_types_normalise() -> None:
    form = _Form(tax_id="91110000600037341l", phone="+86 138-1234-5678")
    assert (form.tax_id, form.phone) == ("91110000600037341L", "13812345678")


def test_pydantic_errors_carry_the_chinese_reason() -> None:
    with pytest.raises(ValidationError) as exc:
        _Form(tax_id="123", phone="12812345678")
    messages = {e["loc"][0]: e["msg"] for e in exc.value.errors()}
    assert messages["tax_id"].endswith("长度应为 15、17、18 或 20 位，当前为 3 位")
    assert messages["phone"].endswith("应以 13 至 19 开头")
