"""Triage over the default catalog, pure: what taxpayers and triage staff actually type.

These phrasings were written for this test, apart from the catalog's aliases and from the shared
evaluation set, to keep the search honest about phrasings it has not seen.
"""

from __future__ import annotations

import pytest

from zhishui.catalog.matcher import CatalogSearch
from zhishui.catalog.policy import Route
from zhishui.catalog.service import load_default_catalog


@pytest.fixture(scope="module")
def search() -> CatalogSearch:
    return CatalogSearch(load_default_catalog())


def best(search: CatalogSearch, text: str, n: int = 1) -> list[str]:
    return [search.cards[hit.doc_id].name for hit in search.search(text, n)]


@pytest.mark.parametrize(
    ("said", "matter"),
    [
        ("网上申报的时候一直提示阻断，提交不上去", "申报阻断解除"),
        ("季度的税没按时报，超期了", "逾期申报处理"),
        ("申报的销售额写错了", "申报错误更正"),
        ("票表比对没通过，税控盘锁了", "申报比对异常处理"),
        ("资产负债表报错了", "财务报表报送更正"),
        ("医保费交不进去，说被阻断了", "缴费阻断解除"),
        ("想让银行自动扣税款，要签什么协议", "银税三方协议签订"),
        ("想把社保缴费档次调高一点", "社保费缴费信息变更"),
        ("帮爸妈交明年的医保", "城乡居民医保缴费"),
        ("辞职了社保想自己接着交", "灵活就业人员社保缴费"),
        ("发票用完了要再领一些", "发票领用"),
        ("开票额度满了开不出票", "数电票授信额度调整"),
        ("剩下的空白发票要交回去", "发票验旧缴销"),
        ("我个人出租房子需要开发票", "代开增值税发票"),
        ("客户要退货需要开负数发票", "红字发票开具"),
        ("实名认证一直通不过", "实名信息采集"),
        ("会计辞职了要换人", "办税人员变更"),
        ("登录密码想不起来了", "电子税务局密码重置"),
        ("新开了对公账户要备案", "存款账户账号报告"),
        ("会计核算软件要报备", "财务会计制度备案"),
        ("打印一份税收完税证明", "完税证明开具"),
        ("落户要打印个税记录", "个人所得税纳税记录开具"),
        ("投标需要开具无欠税证明", "无欠税证明开具"),
        ("小规模纳税人增值税怎么申报", "增值税及附加税费申报"),
        ("季度所得税怎么报", "企业所得税季度预缴申报"),
        ("个税汇算要补税", "个人所得税综合所得年度汇算"),
        ("购销合同要交印花税吗", "印花税申报"),
        ("厂房的房产税怎么交", "房产税城镇土地使用税申报"),
        ("小规模要转成一般纳税人", "增值税一般纳税人登记"),
        ("去外省施工需要开外经证吗", "跨区域涉税事项报告"),
        ("残疾人就业的税收优惠怎么享受", "税收优惠备案"),
        ("新能源车购置税怎么办", "车辆购置税申报"),
        ("刚办了营业执照，税务怎么报到", "新办纳税人套餐"),
        ("重复交了税想退回来", "多缴税费退还"),
        ("增值税期末留抵税额能退吗", "留抵退税申请"),
        ("免抵退税申报", "出口退税申报"),
        ("员工工资的个税怎么代扣代缴", "扣缴个人所得税申报"),
        ("公司名字改了税务登记要变", "一照一码户信息变更"),
        ("个体户不干了要关掉", "注销税务登记"),
        ("好几年没报税成了非正常户", "非正常户解除"),
        ("父母把房子赠与给我要交税", "存量房交易税费申报"),
        ("买商品房交契税", "增量房契税申报"),
        ("享受税收协定需要居民证明", "税收居民身份证明开具"),
        ("付给境外的服务费要税务备案", "服务贸易等项目对外支付税务备案"),
        ("收到催缴通知书要补缴税款", "欠税清缴"),
        ("收到处罚告知书想申辩", "税务行政处罚陈述申辩"),
        ("纳税信用被评为D级能修复吗", "纳税信用修复"),
        ("专用发票遗失了", "发票丢失报告"),
        ("房地产开发项目土增税清算", "土地增值税清算申报"),
        ("医保交多了能退吗", "社保费退费申请"),
        ("外地人来这里临时经营要登记吗", "临时税务登记"),
        ("和税务局发生纠纷想调解", "涉税争议调解"),
    ],
)
def test_a_phrasing_not_in_the_catalog_finds_its_matter(
    search: CatalogSearch, said: str, matter: str
) -> None:
    assert best(search, said) == [matter]


@pytest.mark.parametrize(
    ("typed", "matter"),
    [
        ("mmcz", "电子税务局密码重置"),
        ("fply", "发票领用"),
        ("wszm", "完税证明开具"),
        ("zhuxiao", "注销税务登记"),
        ("zhu xiao", "注销税务登记"),
        ("hzfp", "红字发票开具"),
        ("ldts", "留抵退税申请"),
        ("qsqj", "欠税清缴"),
        ("qishui", "增量房契税申报"),
        ("sfxy", "银税三方协议签订"),
        ("ＭＭＣＺ", "电子税务局密码重置"),
    ],
)
def test_triage_staff_can_type_pinyin(search: CatalogSearch, typed: str, matter: str) -> None:
    assert best(search, typed) == [matter]


@pytest.mark.parametrize(
    ("said", "matter"),
    [
        ("公司要注销，剩下的发票怎么缴销", "发票验旧缴销"),
        ("发票不够开了要领", "发票领用"),
        ("变更", "一照一码户信息变更"),
    ],
)
def test_ambiguous_phrasings_keep_the_matter_in_the_first_three(
    search: CatalogSearch, said: str, matter: str
) -> None:
    assert matter in best(search, said, 3)


def test_a_quick_matter_that_can_be_done_at_home_says_so(search: CatalogSearch) -> None:
    result = search.triage("忘记电子税务局密码")
    assert result.route is Route.QUICK and result.online is True


def test_a_studio_matter_routes_to_the_studio(search: CatalogSearch) -> None:
    result = search.triage("公司不开了")
    assert result.route is Route.STUDIO and result.matches[0].name == "注销税务登记"


def test_something_outside_the_catalog_goes_to_a_person(search: CatalogSearch) -> None:
    result = search.triage("今天天气怎么样")
    assert result.route is Route.STUDIO and result.matches == () and result.online is False
