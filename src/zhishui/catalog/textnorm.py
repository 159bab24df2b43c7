"""Chinese text normalisation for search: one quiet jieba tokenizer, stop words, terms and synonyms.

Text becomes *terms*: the words jieba finds (precise mode), without stop words; the character pairs
and dictionary words inside long words (as jieba's search mode); and the character pairs across
neighbouring words, so a word jieba does not know, or cuts differently in the query and in the
document, still matches. Character pairs and two-character words share one term space.

Queries are also *expanded* with a small table of colloquial phrasings (报税 → 申报, 交 → 缴, 个税 →
个人所得税 ...), adding whole words only. Documents are not expanded: the expansion is applied once, on
the query side.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
import unicodedata
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import jieba

# Question fillers and function words. They are dropped and break runs of character pairs.
_STOP_LINES = (
    "的 了 吗 呢 啊 吧 呀 哦 嘛 么 哈 噢 呗 着 和 与 及 或 或者 还是 就 都 也 又 再 很 太 挺 我 我们 你 你们 您 他",
    "她 它 他们 她们 咱 咱们 自己 本人 俺 人家 这 那 这个 那个 这些 那些 这样 那样 这里 那里 这边 那边 哪 哪个 哪些 哪里 哪儿",
    "什么 啥 怎么 怎样 怎么样 怎么办 怎么弄 咋 咋办 咋弄 如何 为什么 为啥 是否 能否 可否 多少 几 请问 请 问 问下 问一下 一下",
    "麻烦 您好 你好 谢谢 谢了 在吗 有没有 是不是 能不能 可不可以 要不要 想 想要 要 需要 得要 应该 可以 能 能够 会 该 必须 打算",
    "准备 希望 是 有 在 把 被 给 让 向 从 于 为 以 因为 所以 但是 但 然后 如果 的话 就是 还有 已经 刚刚 个 一个 一张 份",
    "一份 一次 一点 些 一些 一起 等 等等 啥的 之类 现在 今天 明天 昨天 马上 刚才 时候 的时候 之后 以后 之前 以前 办 办理 弄",
    "搞 做 处理 操作 来 去 过来 上门 帮 帮忙 帮我 告诉 知道 说 看看 看 找",
)
STOP_WORDS: frozenset[str] = frozenset(word for line in _STOP_LINES for word in line.split())

# Fillers cut out before segmentation, so they never glue to a content word (jieba reads 要开 or 税想 as
# words) and always break runs of bigrams.
_FILLERS = re.compile(
    "怎么办|怎么样|怎么弄|怎么|咋办|咋弄|如何|为什么|为啥|请问|麻烦问一下|问一下|我想|我要|想要|需要|"
    "能不能|可不可以|是不是|有没有|要不要|一下|一张|一个|一份|的时候|应该|可以吗|行不行|谢谢"
)

# Words jieba's general dictionary does not know or cuts badly; added to our own tokenizer only. (Text
# is normalised first, so 交 meaning pay is already 缴.)
_DOMAIN_LINES = (
    "数电票 全电发票 数电发票 红字发票 红字信息表 专票 普票 验旧 缴销 代开 留抵 留抵退税 汇算 汇算清缴 非正常户 一照一码",
    "跨区域 三方协议 完税证明 纳税记录 无欠税证明 欠税 滞纳金 契税 印花税 土地增值税 土增税 车购税 购置税 个税 社保费",
    "医保 城乡居民医保 灵活就业 办税员 办税人员 实名认证 实名采集 存量房 增量房 二手房 外经证 清税 注销 阻断 申报表",
    "财务报表 财报 电子税务局 授信额度 一般纳税人 小规模 纳税信用 陈述申辩 对外支付 付汇 税收居民 出口退税 多缴 退费",
    "缴费 报不了 扣不了 不开了 缴不了",
)
DOMAIN_WORDS: tuple[str, ...] = tuple(word for line in _DOMAIN_LINES for word in line.split())

_TOKENIZER: Any = None
_TOKENIZER_LOCK = threading.Lock()


def tokenizer() -> Any:
    """Our own jieba tokenizer (not jieba's global one), built once, quietly, caching under the temp dir."""
    global _TOKENIZER
    if _TOKENIZER is not None:
        return _TOKENIZER
    with _TOKENIZER_LOCK:
        if _TOKENIZER is None:
            jieba.setLogLevel(logging.WARNING)
            cache_dir = Path(tempfile.gettempdir()) / "zhishui-jieba"
            cache_dir.mkdir(parents=True, exist_ok=True)
            tok = jieba.Tokenizer()
            tok.tmp_dir = str(cache_dir)
            tok.initialize()
            for word in DOMAIN_WORDS:
                tok.add_word(word)
            _TOKENIZER = tok
    return _TOKENIZER


_SPACE = re.compile(r"\s+")


# 交 as in 缴 (pay), not as in 提交 (submit), 交易 (trade), 交通 ...
_PAY_JIAO = r"(?<![提递移转成外社结])交(?!易|通|付|房|接|流|换|叉|代|往|给)"
_PAY = r"(?:" + _PAY_JIAO + r"|缴)"

# Variant spellings of one word, written one way on both sides (documents and queries).
_VARIANTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(_PAY_JIAO), "缴"),
    (re.compile("登陆"), "登录"),
    (re.compile("帐"), "账"),
    (re.compile("其它"), "其他"),
)


def normalize(text: str) -> str:
    """Full-width to half-width (NFKC), lower case, one space for runs of white space, one spelling
    for variant spellings (交税 and 缴税 are both 缴税)."""
    text = _SPACE.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()
    for pattern, canonical in _VARIANTS:
        text = pattern.sub(canonical, text)
    return text


def is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def _is_content(token: str) -> bool:
    return any(is_cjk(ch) or ch.isalnum() for ch in token)


class Kind(Enum):
    """What a term is; a query weighs the kinds differently (see ``search.Index``)."""

    WORD = "word"  # a whole word as jieba cuts it
    PIECE = "piece"  # a bigram or dictionary word inside a longer word (养老, 老保, 保险 in 养老保险)
    CHAR = "char"  # a one-character word (退, 票): vague on its own
    BIGRAM = "bigram"  # two characters across two words of a run (阻断 in 被 | 阻 | 断)


@dataclass(frozen=True, slots=True)
class Term:
    """A term of a text; ``share`` is 1 / how many pieces its word gave, so that the pieces of a long
    word together weigh no more than those of a short one; ``word`` is the word a piece came from."""

    text: str
    kind: Kind
    share: float = 1.0
    word: str = ""


def _pieces(word: str, freq: dict[str, int]) -> list[str]:
    """The character bigrams of a word of three or more characters, and the dictionary words of three
    characters inside a word of four or more (jieba's search mode), each once."""
    if len(word) < 3:
        return []
    bigrams = (word[i : i + 2] for i in range(len(word) - 1) if is_cjk(word[i]) and is_cjk(word[i + 1]))
    trigrams = (word[i : i + 3] for i in range(len(word) - 2) if len(word) > 3 and freq.get(word[i : i + 3]))
    return list(dict.fromkeys([*bigrams, *trigrams]))


def analyze(text: str) -> list[Term]:
    """The search terms of a text, in order, with repeats: jieba words without stop words, the pieces
    of long words, and the character pairs across the words of each run of content words.

    A two-character word and the same two characters met as a pair are one term, so a word the
    segmenter cuts differently in a query (被阻|断 or 被|阻断) still meets the document's word.
    """
    text = _FILLERS.sub(" ", normalize(text))
    if not text:
        return []
    tok = tokenizer()
    freq: dict[str, int] = tok.FREQ
    out: list[Term] = []
    previous = ""  # the last content word of the current run
    for word in tok.cut(text):
        if word in STOP_WORDS or not _is_content(word) or (len(word) == 1 and word.isascii()):
            previous = ""
            continue
        if previous and is_cjk(previous[-1]) and is_cjk(word[0]):
            out.append(Term(previous[-1] + word[0], Kind.BIGRAM))
        pieces = _pieces(word, freq)
        out.extend(Term(piece, Kind.PIECE, 1.0 / len(pieces), word) for piece in pieces)
        out.append(Term(word, Kind.CHAR if len(word) == 1 else Kind.WORD))
        previous = word
    return out


def terms(text: str) -> list[str]:
    """The search terms of a text (words, pieces and character pairs), in order, with repeats."""
    return [term.text for term in analyze(text)]


def words(text: str) -> list[str]:
    """The whole words of a text (precise mode: no sub-words, no bigrams), without stop words."""
    text = _FILLERS.sub(" ", normalize(text))
    return [
        w
        for w in tokenizer().cut(text)
        if w not in STOP_WORDS and _is_content(w) and not (len(w) == 1 and w.isascii())
    ]


@dataclass(frozen=True, slots=True)
class Synonym:
    """When ``pattern`` occurs in a query, the query is also searched for ``adds`` with ``weight``."""

    pattern: re.Pattern[str]
    adds: tuple[str, ...]
    weight: float = 0.5


def _syn(pattern: str, *adds: str, weight: float = 0.5) -> Synonym:
    return Synonym(re.compile(pattern, re.S), adds, weight)


def _both(first: str, second: str) -> str:
    """A pattern for a text that says both things, in either order."""
    return f"^(?=.*(?:{first}))(?=.*(?:{second}))"


# Colloquial phrasings taxpayers use, mapped to the words the bureau writes. Generic only: matter-specific
# phrasings belong in the catalog's aliases, where the bureau can edit them.
_CLAUSE = r"[^,，。;；!！?？]{0,10}?"  # a few characters within the same clause
_FAIL = r"(?:失败|不成功|没成功|不进去|不上去|报错|出错|卡住|不让|不允许|被拦|拦截|阻断)"

SYNONYMS: tuple[Synonym, ...] = (
    # declaring
    _syn(r"报税|报个?税|纳税申报", "申报"),
    _syn(r"报不了|报不上|报不进|申报不了|提交不了|提交不上", "申报 阻断", weight=2.0),
    _syn(r"(?:申报|报税)" + _CLAUSE + _FAIL + "|" + _FAIL + _CLAUSE + r"(?:申报|报税)", "申报 阻断"),
    _syn(
        r"漏报|漏申报|忘报|忘记报|忘了报|忘记申报|忘了申报|没报|未报|没申报|未申报|晚报|迟报|补报|补申报|"
        r"过期|超期|逾期",
        "逾期 申报",
        weight=1.5,
    ),
    _syn(r"阻断|拦截|被拦|锁死", "阻断", weight=2.0),
    _syn(r"重报|重新报|再报一次|重新申报", "重新 申报 更正"),
    _syn(
        r"错了|填错|写错|输错|打错|算错|报错|弄错|搞错|有误|不对|填多|填少|报多|报少|多报|少报|漏填",
        "错误 更正",
        weight=0.7,
    ),
    # paying
    _syn(_PAY + r"(?:不了|不上|不进|不成功)|扣不了|扣款失败|扣费失败", "缴费 阻断", weight=2.0),
    _syn(_PAY + _CLAUSE + _FAIL, "缴费 阻断"),
    _syn(_PAY, "缴纳"),
    _syn(_PAY + r"税|纳税款|" + _PAY + r"钱", "缴纳 税款"),
    _syn(_PAY + r"费|交款", "缴费"),
    _syn(f"多{_PAY}|{_PAY}多|多扣|{_PAY}重|重复{_PAY}|多付|误{_PAY}|{_PAY}错", "多缴 退还", weight=1.0),
    _syn(r"退钱|退回|退款|退给|返还|返钱", "退还 退税"),
    _syn(_both("欠(?!条|款)|拖欠|没缴清|未缴", "税"), "欠税", weight=1.0),
    _syn(r"退(?!货|役|休)", "退还", weight=0.5),
    _syn(r"钱", "税款", weight=0.3),
    # social insurance
    _syn(r"社保|社会保险", "社会保险费 社保费"),
    _syn(r"医保|医疗保险", "医疗保险 医保"),
    _syn(r"养老保险|养老金|养老", "社会保险费 养老保险"),
    # who
    _syn(r"个税|个人所得税|个人税", "个人所得税"),
    _syn(r"公司|单位|厂|企业|店", "企业", weight=0.4),
    _syn(r"个体户|个体工商户|小店|门店|摊位", "个体工商户"),
    _syn(r"老板|法人|法定代表人|负责人", "法定代表人", weight=0.5),
    _syn(r"会计|财务|出纳", "财务 办税人员", weight=0.4),
    _syn(r"外国|国外|境外|海外|外商", "境外"),
    # what happened
    _syn(r"不开了|不干了|不做了|不经营了|关门|关掉|倒闭|散伙|歇业|停止经营|撤销", "注销", weight=1.5),
    _syn(r"丢了|丢失|弄丢|遗失|找不到|不见了|被偷|被盗|烧了|毁了", "丢失 遗失", weight=1.0),
    _syn(r"忘了|忘记|想不起", "忘记"),
    _syn(r"名字|名称|叫法|抬头", "名称"),
    _syn(r"改名|更名|换名|名字改|名称改|名字变|名称变", "名称 变更", weight=1.0),
    _syn(r"改一下|改了|修改|更改|改成|改掉|调整|换成|换了|换个|变了|变更|变动|迁", "变更", weight=0.6),
    _syn(r"登不上|登录不了|登陆不了|进不去|登不进|登录失败|登陆失败", "登录 密码 重置"),
    _syn(r"罚款|处罚|罚了|罚我", "处罚"),
    # invoices
    _syn(r"开票|开发票|开张票|开个票|出票", "开具 发票"),
    _syn(r"票(?!据)", "发票", weight=0.5),
    _syn(r"领(?!导|域|先|悟|会|带|土)", "领用", weight=0.6),
    _syn(r"(?:领|拿|取|买|购)" + _CLAUSE + r"票", "领用 发票"),
    _syn(_both("个人|自然人|私人|我自己", "票"), "代开 发票", weight=1.0),
    _syn(_both("错|重开|作废|退货|折让|冲", "票"), "红字 发票", weight=1.0),
    _syn(r"专票", "增值税专用发票"),
    _syn(r"普票", "增值税普通发票"),
    _syn(r"全电|数电|电子发票", "数电票"),
    # things and channels
    _syn(r"证明|凭证|单子|证书", "证明", weight=0.5),
    _syn(r"房子|房屋|住房|房产", "房屋 房产", weight=0.5),
    _syn(_both("卖|出售|转让|过户|赠与|继承", "房"), "二手房 交易 过户", weight=1.0),
    _syn(
        "^(?!.*临时)"  # temporary business from elsewhere is a temporary registration
        + _both(
            "外地|外省|外市|外县|异地|隔壁|别的(?:县|市|省|地方)|其他(?:县|市|省|地方)",
            "工程|项目|施工|经营|生意|业务",
        ),
        "跨区域",
        weight=0.7,
    ),
    _syn(_both("临时", "经营|生意|登记|施工|摆摊|营业"), "临时 登记", weight=1.0),
    _syn(r"车子|汽车|轿车|买车", "车辆"),
    _syn(r"网上|在线|线上|网厅|电子税务局|网页|官网|app|手机上", "电子税务局 网上", weight=0.5),
)


def expand(text: str) -> list[tuple[str, float]]:
    """The words a query's colloquial phrasings stand for, with their weights (the query not included).

    Only whole words are added (个人所得税, not also 个人, 所得, 所得税 ...): an expansion stands for one
    concept and must not outweigh what the taxpayer actually said.
    """
    text = normalize(text)
    out: dict[str, float] = {}
    for syn in SYNONYMS:
        if syn.pattern.search(text):
            for add in (word for phrase in syn.adds for word in phrase.split()):
                parts = words(add)
                for word in parts:  # a phrase cut into several words is still one concept
                    out[word] = max(out.get(word, 0.0), syn.weight / len(parts))
    return list(out.items())
