"""Finding phrases by what staff type on a Latin keyboard: initials, full pinyin, or a mix."""

from __future__ import annotations

import pytest

from zhishui.catalog.pinyin_index import MAX_SLOTS, PinyinIndex, cuts, slots


@pytest.fixture(scope="module")
def index() -> PinyinIndex:
    ix = PinyinIndex()
    for doc, phrase in enumerate(
        ["电子税务局密码重置", "发票领用", "完税证明开具", "注销税务登记", "契税", "清税"]
    ):
        ix.add(doc, phrase)
    ix.freeze()
    return ix


def test_slots_hold_every_reading_of_a_polyphonic_character() -> None:
    readings = slots("密码重置")
    assert readings[0] == ["mi"] and readings[1] == ["ma"]
    assert {"zhong", "chong"} <= set(readings[2])


def test_latin_words_in_a_phrase_are_slots_and_digits_are_dropped() -> None:
    assert [r[0] for r in slots("CA证书12366")] == ["ca", "zheng", "shu"]


@pytest.mark.parametrize(
    ("typed", "doc"),
    [
        ("mmcz", 0),
        ("fply", 1),
        ("wszm", 2),
        ("zhuxiao", 3),
        ("zxswdj", 3),
        ("mimachongzhi", 0),
        ("fapiaoly", 1),
    ],
)
def test_initials_full_pinyin_and_mixes_find_the_phrase(index: PinyinIndex, typed: str, doc: int) -> None:
    found = index.search(typed)
    assert doc in found
    assert max(found, key=lambda d: found[d]) == doc


def test_letters_must_follow_consecutive_syllables(index: PinyinIndex) -> None:
    assert 0 not in index.search("dzmm")  # 电子 … 密码 skips 税务局


def test_one_letter_finds_nothing(index: PinyinIndex) -> None:
    assert index.search("m") == {}


def test_a_whole_phrase_scores_above_part_of_a_longer_one(index: PinyinIndex) -> None:
    found = index.search("swdj")
    assert found[3] < 1.0


def test_full_pinyin_prefers_the_exact_reading(index: PinyinIndex) -> None:
    found = index.search("qishui")
    assert found[4] > found[5]  # 契税 qi shui before 清税 qing shui


def test_cuts_count_the_syllables_covered_and_the_letters_left_untyped() -> None:
    assert list(cuts("qishui", [["qi"], ["shui"]], 0)) == [(2, 0)]
    assert list(cuts("qishui", [["qing"], ["shui"]], 0)) == [(2, 2)]
    assert (4, 8) in list(cuts("mmcz", [["mi"], ["ma"], ["zhong", "chong"], ["zhi"]], 0))
    assert list(cuts("mmcz", [["mi"], ["ma"], ["zhong", "chong"], ["zhi"]], 1)) == []


def test_a_sentence_is_too_long_to_be_typed_as_pinyin() -> None:
    ix = PinyinIndex()
    ix.add(0, "税" * (MAX_SLOTS + 1))
    ix.add(1, "税" * MAX_SLOTS)
    assert set(ix.search("ss")) == {1}
