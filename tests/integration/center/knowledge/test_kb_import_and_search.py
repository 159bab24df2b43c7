"""Importing Q&A through the service and finding it again, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import shared_path
from tests.factories import NOW, Tree, org_tree
from zhishui.catalog.service import import_default_catalog
from zhishui.center.knowledge import service
from zhishui.center.knowledge.models import KbArticle
from zhishui.center.knowledge.policy import ArticleStatus
from zhishui.center.knowledge.schemas import ArticlePatch
from zhishui.center.knowledge.search_cache import cache
from zhishui.kit.errors import InvalidInput

SMALL_CSV = (
    "编号,问题,答案,标签\n"
    "A1,个人互换住房是否缴纳土地增值税？,对个人之间互换自有居住用房地产的，经当地税务机关核实，可以免征土地增值税。,土地增值税\n"
    "A2,小规模纳税人季度销售额多少以内免征增值税？,季度销售额未超过30万元的，免征增值税。,增值税、小规模\n"
    "A3,,没有问题的答案,\n"
    "A4,开具红字发票需要什么条件？,\n"
).encode("utf-8-sig")


@pytest.fixture
def tree(session: Session) -> Tree:
    tree = org_tree(session)
    import_default_catalog(session, now=NOW)
    session.flush()
    return tree


def _import(session: Session, bureau: int, data: bytes, source: str = "测试来源") -> service.ImportOut:
    return service.import_csv(session, bureau, data, source=source, staff_id=None, now=NOW)


def _articles(session: Session, bureau: int) -> int:
    return int(session.scalar(select(func.count()).where(KbArticle.org_unit_id == bureau)) or 0)


def test_a_small_file_imports_its_good_rows_and_reports_the_rest_by_line(
    session: Session, tree: Tree
) -> None:
    report = _import(session, tree.county_a.id, SMALL_CSV)
    assert (report.imported, report.updated, report.unchanged) == (2, 0, 0)
    assert [(s.line, s.reason) for s in report.skipped] == [(4, "问题为空"), (5, "答案为空")]
    assert report.encoding == "utf-8-sig"
    assert _articles(session, tree.county_a.id) == 2


def test_importing_the_same_file_again_changes_nothing_and_a_changed_row_is_updated_in_place(
    session: Session, tree: Tree
) -> None:
    _import(session, tree.county_a.id, SMALL_CSV)
    again = _import(session, tree.county_a.id, SMALL_CSV)
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 2)
    changed = SMALL_CSV.replace("30万元".encode(), "45万元".encode())
    third = _import(session, tree.county_a.id, changed)
    assert (third.imported, third.updated, third.unchanged) == (0, 1, 1)
    assert _articles(session, tree.county_a.id) == 2
    hits = service.search(session, tree.county_a.id, "小规模免税额度", 3)
    assert any("45万元" in h.answer for h in hits)
    # The same rows under another source are other articles; in another bureau, that bureau's.
    assert _import(session, tree.county_a.id, SMALL_CSV, source="另一来源").imported == 2
    assert _import(session, tree.county_b.id, SMALL_CSV).imported == 2


def test_a_file_that_cannot_be_read_is_refused_and_writes_nothing(session: Session, tree: Tree) -> None:
    with pytest.raises(InvalidInput, match="编码"):
        _import(session, tree.county_a.id, b"\xff\xfe\xfa\xfb" * 10)
    assert _articles(session, tree.county_a.id) == 0


def test_search_covers_catalog_guides_and_the_bureaus_articles_only(session: Session, tree: Tree) -> None:
    _import(session, tree.county_a.id, SMALL_CSV)
    hits = service.search(session, tree.county_a.id, "两个人换房子用交土地增值税吗", 5)
    assert any(h.kind == "qa" and h.title.startswith("个人互换住房") for h in hits)
    guides = service.search(session, tree.county_a.id, "mmcz", 3)
    assert guides[0].kind == "catalog" and guides[0].id is None and "密码" in guides[0].title
    assert "【" in guides[0].answer  # the full guide text, ready to insert
    # County B has the catalog but none of county A's articles.
    other = service.search(session, tree.county_b.id, "两个人换房子用交土地增值税吗", 10)
    assert other and all(h.kind == "catalog" for h in other)


def test_a_retired_article_leaves_search_and_the_index_is_rebuilt_only_after_a_change(
    session: Session, tree: Tree
) -> None:
    _import(session, tree.county_a.id, SMALL_CSV)
    query = "个人互换住房土地增值税"
    first = service.search(session, tree.county_a.id, query, 5)
    article_id = next(h.id for h in first if h.kind == "qa")
    assert article_id is not None
    builds = cache.builds
    service.search(session, tree.county_a.id, query, 5)
    service.search(session, tree.county_a.id, "增值税", 5)
    assert cache.builds == builds, "the index was rebuilt without any change"
    service.update_article(
        session,
        tree.county_a.id,
        article_id,
        ArticlePatch(status=ArticleStatus.RETIRED),
        staff_id=None,
        now=NOW,
    )
    after = service.search(session, tree.county_a.id, query, 5)
    assert cache.builds == builds + 1
    assert article_id not in {h.id for h in after}


def test_the_shared_12366_file_imports_once_and_is_found_again_by_paraphrases(
    session: Session, tree: Tree
) -> None:
    data = shared_path("data", "public", "12366-kb-2019.csv").read_bytes()
    report = _import(session, tree.county_a.id, data, source="12366 2019 import")
    assert (report.imported, report.updated, report.unchanged) == (36, 0, 0)
    assert [(s.line, s.reason) for s in report.skipped] == [(571, "答案为空")]
    again = _import(session, tree.county_a.id, data, source="12366 2019 import")
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 36)
    assert _articles(session, tree.county_a.id) == 36

    paraphrases = {
        "政府机关和事业单位买房要不要交契税": "国家机关、事业单位承受的房产是否缴纳契税？",
        "两个人把住房换一下要交土地增值税吗": "个人互换住房是否缴纳土地增值税？",
        "别人捐给我们的原材料怎么记账": "接受捐赠原材料的核算",
        "会计差错是什么意思": "什么是会计差错？",
        "银行什么时候要提坏账准备": "金融企业什么情况下需要计提坏账准备，如何计提？",
    }
    for question, title in paraphrases.items():
        top3 = [h.title for h in service.search(session, tree.county_a.id, question, 3)]
        assert title in top3, f"{question} → {top3}"
    # Every question is found again by its own title, first.
    for title in ("合作建房如何缴纳土地增值税？", "存货跌价准备的核算", "金融企业的盈余公积如何核算？"):
        assert service.search(session, tree.county_a.id, title, 1)[0].title == title
