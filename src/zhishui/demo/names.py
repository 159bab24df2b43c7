"""Fictional Chinese names for the demo county: people, companies and shops.

Everything here is made up from common characters; any likeness to a real person or business is
chance. Builders take a `random.Random`, so a seeded generator gives the same county every time.
"""

from __future__ import annotations

import random

COUNTY = "示例县"

# Common surnames, weighted roughly by how often they occur.
SURNAMES = (
    "王" * 8 + "李" * 8 + "张" * 7 + "刘" * 6 + "陈" * 6 + "杨" * 4 + "黄" * 3 + "赵" * 3 + "吴" * 3 + "周" * 3
    + "徐" * 2 + "孙" * 2 + "胡" * 2 + "朱" * 2 + "高" * 2 + "林" * 2 + "何" * 2 + "郭" * 2 + "马" * 2 + "罗" * 2
    + "梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段章钱汤尹黎易常武乔贺赖龚文"
)  # fmt: skip
GIVEN_MALE = "伟强磊军勇杰涛斌明超刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林欣建国志文海晨阳峰"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀玲燕萍红琳雪倩婷颖露瑶怡佳慧莉琴云洁丹蓉梅晶晓嘉悦欢"

TOWNS = ("青溪街道", "云湖街道", "石门镇", "桃岭镇", "白沙镇", "梅林镇", "长汀乡")

_BRAND_CHARS = "宏达恒信永泰华兴盛昌隆鑫源丰瑞祥安康宇诚汇通鼎伟嘉利众博远航明辉金益新锦天"
_INDUSTRIES = (
    "机械", "电子", "纺织", "食品", "建材", "贸易", "物流", "五金", "塑料", "服饰", "文具", "家具", "模具",
    "汽车配件", "农业开发", "水产", "茶业", "竹木制品", "印刷", "包装", "电器", "工艺品", "建筑工程", "环保科技",
    "信息技术", "餐饮管理", "旅游开发", "医疗器械", "新材料", "光电",
)  # fmt: skip
_LEGAL_FORMS = ("有限公司",) * 6 + ("股份有限公司", "有限责任公司")
_SHOPS = (
    "小吃店", "五金店", "便利店", "理发店", "水果店", "农家乐", "汽车修理部", "服装店", "茶叶店", "建材经营部",
    "早餐店", "面馆", "超市", "文具店", "手机维修部", "花店", "烟酒商行", "副食品店", "家电维修部", "粮油店",
)  # fmt: skip


def person_name(rng: random.Random, *, male: bool | None = None) -> str:
    if male is None:
        male = rng.random() < 0.5
    pool = GIVEN_MALE if male else GIVEN_FEMALE
    given = rng.choice(pool) + (rng.choice(pool) if rng.random() < 0.6 else "")
    return rng.choice(SURNAMES) + given


def company_name(rng: random.Random) -> str:
    brand = rng.choice(_BRAND_CHARS) + rng.choice(_BRAND_CHARS)
    return f"{COUNTY}{brand}{rng.choice(_INDUSTRIES)}{rng.choice(_LEGAL_FORMS)}"


def shop_name(rng: random.Random, owner: str) -> str:
    """An individual business, named after its street and its owner in the usual way (王记, 阿明)."""
    town = rng.choice(TOWNS)
    style = rng.random()
    if style < 0.4:
        who = owner[0] + "记"
    elif style < 0.7:
        who = "阿" + owner[-1]
    else:
        who = rng.choice(_BRAND_CHARS) + rng.choice(_BRAND_CHARS)
    return f"{COUNTY}{town}{who}{rng.choice(_SHOPS)}"


_MOBILE_PREFIXES = (
    "134", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159", "182", "183", "187",
    "188", "130", "131", "132", "155", "156", "185", "186", "133", "153", "177", "180", "181", "189", "199",
)  # fmt: skip


def mobile(rng: random.Random) -> str:
    return rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
