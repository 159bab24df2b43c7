"""Pure rules of the knowledge base: reading a Q&A file, checking its rows, snippets, reply placeholders.

No database and no web here: the service hands in bytes and gets back checked rows and the reasons
for the rows it must skip, line by line.
"""

from __future__ import annotations

import csv
import enum
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

MAX_IMPORT_BYTES = 768 * 1024  # below the app's 1 MB body limit, so the refusal names the file
MAX_IMPORT_ROWS = 5000
MAX_TITLE = 200
MAX_BODY = 20_000
MAX_TAGS = 300
MAX_TAG = 30
MAX_KEY = 64
MAX_SOURCE = 64
MAX_COMMENT = 500
MAX_REPLY_TITLE = 100
MAX_REPLY_BODY = 4000
MAX_CATEGORY = 32

ENCODINGS = ("utf-8-sig", "gb18030")  # UTF-8 with or without BOM; GB18030 as Excel saves it in China

# Column names a header row may use (compared lower-cased and without spaces).
TITLE_COLUMNS = frozenset({"title", "question", "问题", "标题", "题目", "咨询问题"})
ANSWER_COLUMNS = frozenset({"answer", "body", "答案", "回答", "答复", "内容", "解答"})
KEY_COLUMNS = frozenset({"key", "id", "external_key", "编号", "序号"})
TAG_COLUMNS = frozenset({"tags", "tag", "标签", "关键词", "关键字"})
MATTER_COLUMNS = frozenset({"matter", "matter_code", "事项编码", "事项"})

IMPORT_FORMAT_HELP = (
    "CSV 文件，UTF-8（可带 BOM）或 GB18030 编码。可以没有表头，此时第 1 列为问题、第 2 列为答案；"
    "有表头时需包含“问题/title”和“答案/answer”列，可选“编号/key”“标签/tags”“事项编码/matter”列。"
    "再次导入同一来源时按编号（没有编号时按问题）更新，不会重复。"
)

_SPACES = re.compile(r"[ \t\u3000\xa0]+")
_TAG_SPLIT = re.compile(r"[,，、;；|\s]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]{0,30})\}")


class ArticleKind(enum.StrEnum):
    GUIDE = "guide"  # 办税指南
    QA = "qa"  # 问答


class ArticleStatus(enum.StrEnum):
    PUBLISHED = "published"
    DRAFT = "draft"
    RETIRED = "retired"


KIND_LABELS = {ArticleKind.GUIDE: "办税指南", ArticleKind.QA: "问答"}
STATUS_LABELS = {
    ArticleStatus.PUBLISHED: "已发布",
    ArticleStatus.DRAFT: "草稿",
    ArticleStatus.RETIRED: "已停用",
}


class ImportRejected(ValueError):
    """The whole file cannot be read; the message is a Chinese reason. Nothing is imported."""


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One checked row: where it started in the file and the values to upsert."""

    line: int
    external_key: str
    title: str
    body: str
    tags: str
    matter_code: str


@dataclass(frozen=True, slots=True)
class Skipped:
    line: int
    reason: str


@dataclass
class ParsedFile:
    rows: list[ImportRow] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    encoding: str = ""
    has_header: bool = False


# --- text ----------------------------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was read with; ImportRejected if it is not text in one of
    the accepted encodings."""
    if not data.strip():
        raise ImportRejected("文件是空的")
    if b"\x00" in data:
        raise ImportRejected("文件不是文本格式的 CSV（含有二进制内容），请另存为 CSV 后再导入")
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise ImportRejected("无法识别文件编码，请另存为 UTF-8 或 GB18030 编码的 CSV 后再导入")


def clean_title(text: str) -> str:
    """One line: whitespace (full-width too) collapsed to single spaces, ends trimmed."""
    return _SPACES.sub(" ", " ".join(text.split())).strip()


def clean_body(text: str) -> str:
    """Line breaks normalised, trailing spaces and blank ends trimmed; leading full-width indentation,
    the way 12366 answers are written, is kept."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def normalize_tags(raw: str | Iterable[str]) -> str:
    """Tags as stored: split on commas (either width), 、 or spaces, deduplicated, joined by commas."""
    parts = (
        _TAG_SPLIT.split(raw) if isinstance(raw, str) else [p for item in raw for p in _TAG_SPLIT.split(item)]
    )
    tags = list(dict.fromkeys(p.strip() for p in parts if p.strip()))
    return ",".join(tags)


def split_tags(stored: str) -> list[str]:
    return [t for t in stored.split(",") if t]


def title_key(title: str) -> str:
    """The external key of a row without one: the question itself, normalised (width, case, spaces),
    hashed, so the same question from the same source is one article however it was spaced."""
    folded = unicodedata.normalize("NFKC", title).lower()
    folded = re.sub(r"\s+", "", folded)
    return "t:" + hashlib.sha256(folded.encode("utf-8")).hexdigest()[:40]


def _problem_with_text(value: str) -> str:
    if "\ufffd" in value:
        return "含有无法识别的字符（文件中可能混有其他编码）"
    if _CONTROL.search(value):
        return "含有控制字符"
    return ""


# --- rows ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Columns:
    title: int
    answer: int
    key: int | None = None
    tags: int | None = None
    matter: int | None = None


def _header_columns(cells: list[str]) -> _Columns | None:
    """The columns a header row names, or None when the row is data (no title and answer names)."""
    names = [re.sub(r"\s+", "", c.lstrip("\ufeff")).lower() for c in cells]

    def find(options: frozenset[str]) -> int | None:
        return next((i for i, n in enumerate(names) if n in options), None)

    title, answer = find(TITLE_COLUMNS), find(ANSWER_COLUMNS)
    if title is None or answer is None:
        if title is not None or answer is not None:
            raise ImportRejected("表头需同时包含“问题（title）”和“答案（answer）”两列")
        return None
    return _Columns(title, answer, find(KEY_COLUMNS), find(TAG_COLUMNS), find(MATTER_COLUMNS))


def _cell(cells: list[str], index: int | None) -> str:
    return cells[index] if index is not None and index < len(cells) else ""


def check_row(cells: list[str], columns: _Columns, line: int) -> ImportRow | Skipped:
    """One data row, checked and normalised, or the reason it is skipped."""
    raw_title, raw_body = _cell(cells, columns.title), _cell(cells, columns.answer)
    for label, value in (("问题", raw_title), ("答案", raw_body)):
        problem = _problem_with_text(value)
        if problem:
            return Skipped(line, f"{label}{problem}")
    title, body = clean_title(raw_title), clean_body(raw_body)
    if not title and not body:
        return Skipped(line, "空行")
    if not title:
        return Skipped(line, "问题为空")
    if not body:
        return Skipped(line, "答案为空")
    if len(title) > MAX_TITLE:
        return Skipped(line, f"问题过长（{len(title)} 字，最多 {MAX_TITLE} 字）")
    if len(body) > MAX_BODY:
        return Skipped(line, f"答案过长（{len(body)} 字，最多 {MAX_BODY} 字）")
    key = clean_title(_cell(cells, columns.key))
    if len(key) > MAX_KEY:
        return Skipped(line, f"编号过长（最多 {MAX_KEY} 个字符）")
    tags = normalize_tags(_cell(cells, columns.tags))
    if len(tags) > MAX_TAGS or any(len(t) > MAX_TAG for t in split_tags(tags)):
        return Skipped(line, f"标签过长（每个最多 {MAX_TAG} 字，合计最多 {MAX_TAGS} 字）")
    matter = clean_title(_cell(cells, columns.matter))
    return ImportRow(
        line=line,
        external_key=key or title_key(title),
        title=title,
        body=body,
        tags=tags,
        matter_code=matter,
    )


def parse_import(data: bytes) -> ParsedFile:
    """Every row of a Q&A file: the rows to import and the skipped ones with their reasons.

    Raises ImportRejected when the file as a whole cannot be used (too large, not text, unreadable
    CSV, no rows, too many rows). A key repeated in the file keeps its last row; earlier ones are
    skipped, naming the line that wins.
    """
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportRejected(f"文件过大，不能超过 {MAX_IMPORT_BYTES // 1024} KB")
    text, encoding = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    out = ParsedFile(encoding=encoding)
    columns: _Columns | None = None
    by_key: dict[str, ImportRow] = {}
    previous_end = 0
    try:
        for cells in reader:
            line = previous_end + 1  # a record may span lines: name the line it starts on
            previous_end = reader.line_num
            if columns is None:
                header = _header_columns(cells)
                out.has_header = header is not None
                columns = header or _Columns(title=0, answer=1)
                if header is not None:
                    continue
            if not any(c.strip() for c in cells):
                continue
            if len(by_key) + len(out.skipped) >= MAX_IMPORT_ROWS:
                raise ImportRejected(f"文件行数过多，一次最多导入 {MAX_IMPORT_ROWS} 条")
            checked = check_row(cells, columns, line)
            if isinstance(checked, Skipped):
                out.skipped.append(checked)
                continue
            earlier = by_key.pop(checked.external_key, None)
            if earlier is not None:
                out.skipped.append(Skipped(earlier.line, f"与第 {line} 行重复（同一问题或编号），以后者为准"))
            by_key[checked.external_key] = checked
    except csv.Error as exc:
        raise ImportRejected(f"第 {previous_end + 1} 行附近的 CSV 格式有误（如引号不成对）：{exc}") from exc
    out.rows = sorted(by_key.values(), key=lambda r: r.line)
    out.skipped.sort(key=lambda s: s.line)
    if not out.rows and not out.skipped:
        raise ImportRejected("文件中没有可导入的问答")
    return out


def check_source(source: str) -> str:
    source = clean_title(source)
    if not source:
        raise ImportRejected("请填写来源名称")
    if len(source) > MAX_SOURCE:
        raise ImportRejected(f"来源名称不能超过 {MAX_SOURCE} 字")
    return source


# --- search results -------------------------------------------------------------------------------


def snippet(text: str, terms: Iterable[str], width: int = 80) -> str:
    """About ``width`` characters of ``text`` around the first place one of ``terms`` occurs (the
    longest terms tried first), whitespace collapsed; the start of the text when none occurs."""
    flat = clean_title(text)
    if len(flat) <= width:
        return flat
    lowered = flat.lower()
    at = -1
    for term in sorted({t for t in terms if len(t) >= 2}, key=len, reverse=True):
        at = lowered.find(term.lower())
        if at >= 0:
            break
    start = 0 if at < 0 else max(0, min(at - width // 4, len(flat) - width))
    piece = flat[start : start + width]
    return ("…" if start > 0 else "") + piece + ("…" if start + width < len(flat) else "")


def guide_text(name: str, menu_path: str, steps: Iterable[str], description: str = "") -> str:
    """A catalog matter's online guide as one answer an agent can send."""
    lines = [f"【{name}】"]
    if description:
        lines.append(description)
    if menu_path:
        lines.append(f"办理路径：{menu_path}")
    numbered = [f"{i}. {s}" for i, s in enumerate((s for s in steps if s), start=1)]
    if numbered:
        lines.append("操作步骤：")
        lines.extend(numbered)
    return "\n".join(lines)


# --- canned replies -------------------------------------------------------------------------------


def placeholders(body: str) -> list[str]:
    """The ``{name}``-style placeholders of a reply, in order of first appearance."""
    return list(dict.fromkeys(_PLACEHOLDER.findall(body)))


def render_reply(body: str, values: Mapping[str, str]) -> str:
    """The reply with its placeholders filled; a placeholder without a value stays as written, so the
    agent sees what is missing instead of a silent gap. Other braces are left alone."""
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), body)
