"""Use cases of the matter catalog: import and export, list, and triage. Each flushes; the caller commits."""

from __future__ import annotations

import datetime as dt
import re
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from zhishui.catalog.matcher import CatalogSearch
from zhishui.catalog.models import Matter
from zhishui.catalog.policy import ROUTE_LABELS, Route, TriageResult
from zhishui.catalog.repository import CatalogVersion, MatterRepository
from zhishui.catalog.schemas import MatterOut
from zhishui.kit.errors import InvalidInput

DEFAULT_CATALOG = "default_catalog.yaml"
MAX_QUERY_CHARS = 200
MAX_LIMIT = 20

# The fields of a matter record, in the order they are exported.
RECORD_FIELDS = (
    "code",
    "name",
    "name_en",
    "category",
    "route",
    "online",
    "aliases",
    "materials",
    "guide_menu_path",
    "guide_steps",
    "description",
    "typical_minutes",
    "sort_order",
    "active",
)
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_LIST_ITEM_MAX = 200


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"新增 {len(self.created)} 项，更新 {len(self.updated)} 项，未变 {len(self.unchanged)} 项" + (
            f"，停用 {len(self.deactivated)} 项" if self.deactivated else ""
        )


# ---------------------------------------------------------------- reading and validating records


def parse_catalog_yaml(text: str) -> list[dict[str, Any]]:
    """The matter records of a catalog file (a YAML list of mappings)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput("file", f"事项清单文件不是有效的 YAML：{exc}") from exc
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise InvalidInput(
            "file", "事项清单文件应为事项列表，每个事项包含 code、name、category、route 等字段"
        )
    return [dict(item) for item in data]


def load_default_catalog() -> list[dict[str, Any]]:
    """The default catalog shipped with zhishui (52 matters)."""
    text = resources.files("zhishui.catalog").joinpath(DEFAULT_CATALOG).read_text(encoding="utf-8")
    return parse_catalog_yaml(text)


def _where(position: int, record: Mapping[str, Any]) -> str:
    name = record.get("name") or record.get("code")
    return f"第 {position} 个事项" + (f"（{name}）" if isinstance(name, str) and name else "")


def _text(record: Mapping[str, Any], key: str, where: str, *, required: bool, max_len: int) -> str:
    value = record.get(key)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(key, f"{where}：{key} 应为文本")
    value = value.strip()
    if required and not value:
        raise InvalidInput(key, f"{where}：缺少 {key}")
    if len(value) > max_len:
        raise InvalidInput(key, f"{where}：{key} 不能超过 {max_len} 个字")
    return value


def _text_list(record: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = record.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidInput(key, f"{where}：{key} 应为文本列表")
    items = [item.strip() for item in value if item.strip()]
    if any(len(item) > _LIST_ITEM_MAX for item in items):
        raise InvalidInput(key, f"{where}：{key} 的每一项不能超过 {_LIST_ITEM_MAX} 个字")
    return list(dict.fromkeys(items))


def _flag(record: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = record.get(key, default)
    if not isinstance(value, bool):
        raise InvalidInput(key, f"{where}：{key} 应为 true 或 false")
    return value


def _number(record: Mapping[str, Any], key: str, where: str, default: int, low: int, high: int) -> int:
    value = record.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(key, f"{where}：{key} 应为 {low} 到 {high} 之间的整数")
    return value


def validate_record(record: Mapping[str, Any], position: int) -> dict[str, Any]:
    """One matter record, checked and normalised; ``position`` (1-based) names it in errors."""
    where = _where(position, record)
    unknown = sorted(set(record) - set(RECORD_FIELDS) - {"id", "updated_at", "route_label"})
    if unknown:
        raise InvalidInput(unknown[0], f"{where}：未知字段 {', '.join(unknown)}")
    code = _text(record, "code", where, required=True, max_len=32)
    if not _CODE.match(code):
        raise InvalidInput("code", f"{where}：编码“{code}”只能包含字母、数字、连字符和下划线")
    route = record.get("route")
    if not isinstance(route, str) or route not in {r.value for r in Route}:
        allowed = "、".join(f"{r.value}（{ROUTE_LABELS[r]}）" for r in Route)
        raise InvalidInput("route", f"{where}：办理方式“{route}”无效，应为 {allowed} 之一")
    online = _flag(record, "online", where, default=route == Route.SELF)
    if route == Route.SELF and not online:
        raise InvalidInput("online", f"{where}：全程网上办（self）的事项必须可网上办理（online: true）")
    return {
        "code": code,
        "name": _text(record, "name", where, required=True, max_len=64),
        "name_en": _text(record, "name_en", where, required=False, max_len=128),
        "category": _text(record, "category", where, required=True, max_len=32),
        "route": str(route),
        "online": online,
        "aliases": _text_list(record, "aliases", where),
        "materials": _text_list(record, "materials", where),
        "guide_menu_path": _text(record, "guide_menu_path", where, required=False, max_len=200),
        "guide_steps": _text_list(record, "guide_steps", where),
        "description": _text(record, "description", where, required=False, max_len=2000),
        "typical_minutes": _number(record, "typical_minutes", where, 5, 1, 480),
        "sort_order": _number(record, "sort_order", where, position * 10, -1_000_000, 1_000_000),
        "active": _flag(record, "active", where, default=True),
    }


def validate_catalog(data: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every record valid, and codes and names unique within the file."""
    if not data:
        raise InvalidInput("file", "事项清单为空")
    records = [validate_record(item, i) for i, item in enumerate(data, start=1)]
    for key, label in (("code", "编码"), ("name", "名称")):
        seen: set[str] = set()
        for i, rec in enumerate(records, start=1):
            if rec[key] in seen:
                raise InvalidInput(key, f"{_where(i, rec)}：{label}“{rec[key]}”在清单中重复")
            seen.add(rec[key])
    return records


# ---------------------------------------------------------------- import and export


def import_catalog(
    session: Session,
    data: Sequence[Mapping[str, Any]],
    *,
    now: dt.datetime,
    deactivate_missing: bool = False,
) -> ImportReport:
    """Create or update matters by code. Nothing is written unless the whole file is valid.

    With ``deactivate_missing``, active matters whose code is not in the file are deactivated (never
    deleted: service points and history refer to them).
    """
    records = validate_catalog(data)
    repo = MatterRepository(session)
    codes = {rec["code"] for rec in records}
    for i, rec in enumerate(records, start=1):
        holder = repo.by_name(rec["name"])
        if holder is not None and holder.code != rec["code"] and holder.code not in codes:
            raise InvalidInput(
                "name", f"{_where(i, rec)}：名称已被事项 {holder.code} 使用，请改名或一并导入该事项"
            )
    report = ImportReport()
    for rec in records:
        values = {key: value for key, value in rec.items() if key != "code"}
        _, outcome = repo.upsert(rec["code"], values, now=now)
        getattr(report, outcome).append(rec["code"])
    if deactivate_missing:
        for matter in repo.list_active():
            if matter.code not in codes:
                matter.active = False
                matter.updated_at = now
                report.deactivated.append(matter.code)
    session.flush()
    if report.created or report.updated or report.deactivated:
        _search_cache.forget(session)
    return report


def import_default_catalog(session: Session, now: dt.datetime) -> ImportReport:
    return import_catalog(session, load_default_catalog(), now=now)


def matter_record(matter: Matter) -> dict[str, Any]:
    """A matter as a catalog record (the YAML form)."""
    return {key: _plain(getattr(matter, key)) for key in RECORD_FIELDS}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def export_catalog(session: Session) -> list[dict[str, Any]]:
    """Every matter, active or not, as records that ``import_catalog`` takes back unchanged."""
    return [matter_record(m) for m in MatterRepository(session).list_all()]


def dump_catalog_yaml(records: Sequence[Mapping[str, Any]]) -> str:
    return yaml.safe_dump(list(records), allow_unicode=True, sort_keys=False, width=1000)


def list_matters(session: Session, *, include_inactive: bool = False) -> list[MatterOut]:
    repo = MatterRepository(session)
    matters = repo.list_all() if include_inactive else repo.list_active()
    return [matter_out(m) for m in matters]


def matter_out(matter: Matter) -> MatterOut:
    return MatterOut.model_validate(
        {
            **matter_record(matter),
            "route_label": ROUTE_LABELS[Route(matter.route)],
            "updated_at": matter.updated_at,
        }
    )


# ---------------------------------------------------------------- triage


class _SearchCache:
    """The catalog's search index per database engine, rebuilt only when the catalog changes.

    The version is a small aggregate of the matter table (count, active count, highest id, latest
    ``updated_at``, total name length): a lookup costs one query, a rebuild tens of milliseconds. Any
    edit that sets ``updated_at`` is seen by every process; ``import_catalog`` also drops this
    process's entry at once (a frozen test clock may not move ``updated_at``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: weakref.WeakKeyDictionary[Engine, tuple[CatalogVersion, CatalogSearch]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, session: Session) -> CatalogSearch:
        engine = session.get_bind().engine
        repo = MatterRepository(session)
        version = repo.version()
        entry = self._entries.get(engine)
        if entry is not None and entry[0] == version:
            return entry[1]
        with self._lock:
            entry = self._entries.get(engine)
            if entry is not None and entry[0] == version:
                return entry[1]
            search = CatalogSearch(matter_record(m) for m in repo.list_active())
            self._entries[engine] = (version, search)
            return search

    def forget(self, session: Session) -> None:
        with self._lock:
            self._entries.pop(session.get_bind().engine, None)


_search_cache = _SearchCache()


def catalog_search(session: Session) -> CatalogSearch:
    """The search over the active matters of this session's database (cached)."""
    return _search_cache.get(session)


def check_query(text: str) -> str:
    text = text.strip()
    if not text:
        raise InvalidInput("q", "请输入要办理的事项或遇到的问题")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput("q", f"查询内容不能超过 {MAX_QUERY_CHARS} 个字")
    return text


def triage_text(session: Session, text: str, limit: int = 5) -> TriageResult:
    """The matters that fit what a taxpayer said, best first, and where to send them."""
    query = check_query(text)
    return catalog_search(session).triage(query, max(1, min(limit, MAX_LIMIT)))
