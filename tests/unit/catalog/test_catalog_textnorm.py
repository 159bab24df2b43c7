"""Normalisation, terms and synonyms of the Chinese search."""

from __future__ import annotations

from zhishui.catalog import textnorm
from zhishui.catalog.textnorm import Kind


def test_full_width_letters_and_digits_become_half_width_and_lower_case() -> None:
    assert textnorm.normalize("  ＣＡ证书　１２３６６ ") == "ca证书 12366"


def test_jiao_meaning_pay_is_spelled_jiao_of_payment_but_submit_and_trade_are_kept() -> None:
    assert textnorm.normalize("社保交不了") == "社保缴不了"
    assert textnorm.normalize("税交多了") == "税缴多了"
    assert textnorm.normalize("申报提交不了") == "申报提交不了"
    assert textnorm.normalize("二手房交易") == "二手房交易"


def test_stop_words_and_question_fillers_are_not_terms() -> None:
    terms = textnorm.terms("请问我想问一下发票丢了怎么办")
    assert "发票" in terms
    for filler in ("请问", "我", "想", "一下", "了", "怎么办", "怎么"):
        assert filler not in terms


def test_character_pairs_across_words_cover_words_jieba_cuts_otherwise() -> None:
    analyzed = textnorm.analyze("被阻断")
    assert "阻断" in {t.text for t in analyzed}
    pairs = {t.text for t in textnorm.analyze("票表比对") if t.kind is Kind.BIGRAM}
    assert pairs <= {"票表", "表比", "比对"} and pairs


def test_pairs_do_not_cross_a_stop_word() -> None:
    terms = textnorm.terms("发票的额度")
    assert "票的" not in terms and "的额" not in terms


def test_a_long_word_gives_its_pieces_with_a_shared_weight() -> None:
    pieces = [t for t in textnorm.analyze("个人所得税") if t.kind is Kind.PIECE]
    assert {t.text for t in pieces} >= {"个人", "所得", "得税", "所得税"}
    assert abs(sum(t.share for t in pieces) - 1.0) < 1e-9
    assert [t.kind for t in textnorm.analyze("发票")] == [Kind.WORD]


def test_colloquial_words_expand_to_the_words_the_bureau_writes() -> None:
    def added(text: str) -> set[str]:
        return {word for word, _ in textnorm.expand(text)}

    assert "申报" in added("报税")
    assert "个人所得税" in added("个税")
    assert "注销" in added("公司不开了")
    assert {"社会保险费", "社保费"} <= added("社保")
    assert "丢失" in added("发票丢了")
    assert {"缴费", "阻断"} <= added("社保交不了")
    assert "退还" in added("多交了")


def test_expansions_add_whole_words_only() -> None:
    words = {word for word, _ in textnorm.expand("个税")}
    assert "个人所得税" in words
    assert "所得" not in words


def test_a_symptom_weighs_more_than_a_plain_synonym() -> None:
    weights = dict(textnorm.expand("公司不开了"))
    assert weights["注销"] > weights["企业"]
