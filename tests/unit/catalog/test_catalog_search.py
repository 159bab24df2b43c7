"""The reusable search engine: BM25F over weighted fields, bigrams, synonyms, phrases, pinyin."""

from __future__ import annotations

import random

import pytest

from zhishui.catalog.search import Field, Index

DOCS = [
    ("pwd", {"title": "电子税务局密码重置", "body": "忘记登录密码时，通过人脸识别重新设置"}),
    ("invoice", {"title": "发票领用", "body": "纸质发票的申领，可邮寄到家"}),
    ("lost", {"title": "发票丢失报告", "body": "发票遗失或被盗后向税务机关报告"}),
    ("close", {"title": "注销税务登记", "body": "停止经营后清税，办理税务注销"}),
    ("iit", {"title": "个人所得税纳税记录开具", "body": "个税纳税记录可在个人所得税 App 开具"}),
    ("body-only", {"title": "其他事项", "body": "这里顺便提到密码"}),
]
FIELDS = {"title": Field(weight=3.0, phrases=True), "body": Field(weight=1.0)}


@pytest.fixture(scope="module")
def index() -> Index:
    return Index(DOCS, FIELDS)


def ids(index: Index, query: str, limit: int = 3) -> list[str]:
    return [hit.doc_id for hit in index.search(query, limit)]


def test_a_word_in_the_heavier_field_ranks_first(index: Index) -> None:
    assert ids(index, "密码")[:2] == ["pwd", "body-only"]


def test_colloquial_words_find_the_formal_ones(index: Index) -> None:
    assert ids(index, "个税证明")[0] == "iit"
    assert ids(index, "公司不开了")[0] == "close"
    assert ids(index, "发票丢了怎么办")[0] == "lost"


def test_character_bigrams_match_words_the_segmenter_cuts_otherwise(index: Index) -> None:
    assert ids(index, "密码重")[0] == "pwd"


def test_pinyin_initials_find_the_title(index: Index) -> None:
    assert ids(index, "mmcz")[0] == "pwd"
    assert ids(index, "fply")[0] == "invoice"
    assert ids(index, "zhuxiao")[0] == "close"


def test_pinyin_and_chinese_in_one_query_add_up(index: Index) -> None:
    assert ids(index, "fp 丢了")[0] == "lost"


def test_nothing_found_is_an_empty_list(index: Index) -> None:
    assert index.search("天气预报") == []
    assert index.search("") == []
    assert index.search("怎么办") == []


def test_limit_caps_the_hits_and_scores_come_best_first(index: Index) -> None:
    hits = index.search("发票", 1)
    assert len(hits) == 1
    hits = index.search("发票", 10)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert index.search("发票", 0) == []


def test_a_plain_number_weight_is_a_field_of_that_weight() -> None:
    ix = Index(DOCS, {"title": 2.0})
    assert ix.fields["title"].weight == 2.0 and not ix.fields["title"].phrases
    assert [h.doc_id for h in ix.search("密码")] == ["pwd"]


def test_pruned_top_hits_equal_an_exhaustive_ranking() -> None:
    rng = random.Random(7)
    vocabulary = [
        "发票",
        "申报",
        "缴费",
        "社保",
        "注销",
        "登记",
        "证明",
        "退税",
        "密码",
        "个人",
        "企业",
        "所得税",
        "增值税",
        "印花税",
        "房产",
        "契税",
        "医保",
    ]
    docs = [
        (
            f"d{i}",
            {"title": "".join(rng.sample(vocabulary, 2)), "body": "，".join(rng.choices(vocabulary, k=30))},
        )
        for i in range(300)
    ]
    ix = Index(docs, FIELDS)
    for _ in range(40):
        query = "".join(rng.sample(vocabulary, rng.randint(1, 4)))
        every = ix.search(query, limit=len(docs))
        top = ix.search(query, limit=5)
        assert [h.doc_id for h in top] == [h.doc_id for h in every[:5]]
        assert [round(h.score, 9) for h in top] == [round(h.score, 9) for h in every[:5]]
