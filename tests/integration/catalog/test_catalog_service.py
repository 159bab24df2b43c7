"""Catalog use cases on a real database: import by code, validation in Chinese, export, triage cache."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from zhishui.catalog import service
from zhishui.catalog.models import Matter
from zhishui.catalog.policy import Route
from zhishui.kit.clock import FrozenClock
from zhishui.kit.errors import InvalidInput


def _import(factory: sessionmaker[Session], data: list[dict[str, Any]], clock: FrozenClock, **kw: Any) -> Any:
    with factory() as s:
        report = service.import_catalog(s, data, now=clock.now(), **kw)
        s.commit()
    return report


def test_the_default_catalog_imports_once_and_again_changes_nothing(
    session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    with session_factory() as s:
        first = service.import_default_catalog(s, clock.now())
        s.commit()
    assert len(first.created) == 52 and not first.updated
    clock.advance(dt.timedelta(days=1))
    with session_factory() as s:
        again = service.import_default_catalog(s, clock.now())
        s.commit()
        stamps = set(s.execute(select(Matter.updated_at)).scalars())
    assert len(again.unchanged) == 52 and not again.created and not again.updated
    assert len(stamps) == 1  # nothing was touched the second time


def test_an_edited_record_updates_its_matter_by_code(
    session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    data = service.load_default_catalog()
    _import(session_factory, data, clock)
    edited = copy.deepcopy(data)
    edited[0]["aliases"] = [*edited[0]["aliases"], "申报阻断了咋整"]
    edited[0]["typical_minutes"] = 2
    report = _import(session_factory, edited, clock)
    assert report.updated == [edited[0]["code"]] and len(report.unchanged) == 51
    with session_factory() as s:
        matter = s.execute(select(Matter).where(Matter.code == edited[0]["code"])).scalar_one()
    assert "申报阻断了咋整" in matter.aliases and matter.typical_minutes == 2


def test_export_gives_back_what_was_imported(
    session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    data = service.load_default_catalog()
    _import(session_factory, data, clock)
    with session_factory() as s:
        exported = service.export_catalog(s)
    assert [r["code"] for r in exported] == [r["code"] for r in data]
    assert exported[3]["aliases"] == data[3]["aliases"]
    text = service.dump_catalog_yaml(exported)
    assert service.parse_catalog_yaml(text) == exported
    assert len(_import(session_factory, exported, clock).unchanged) == 52


def test_deactivate_missing_keeps_the_rows_but_hides_them(
    session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    data = service.load_default_catalog()
    _import(session_factory, data, clock)
    report = _import(session_factory, data[:50], clock, deactivate_missing=True)
    assert report.deactivated == [data[50]["code"], data[51]["code"]]
    with session_factory() as s:
        assert len(service.list_matters(s)) == 50
        assert len(service.list_matters(s, include_inactive=True)) == 52


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"route": "window"}, "办理方式“window”无效"),
        ({"name": ""}, "缺少 name"),
        ({"category": None}, "缺少 category"),
        ({"code": "含 空格"}, "只能包含字母、数字"),
        ({"online": "yes"}, "应为 true 或 false"),
        ({"aliases": "领票"}, "应为文本列表"),
        ({"typical_minutes": 0}, "1 到 480 之间的整数"),
        ({"colour": "red"}, "未知字段 colour"),
    ],
)
def test_an_invalid_record_is_refused_in_chinese_and_nothing_is_written(
    session_factory: sessionmaker[Session], clock: FrozenClock, change: dict[str, Any], message: str
) -> None:
    data = service.load_default_catalog()
    data[1] = {**data[1], **change}
    with session_factory() as s, pytest.raises(InvalidInput) as caught:
        service.import_catalog(s, data, now=clock.now())
    assert message in caught.value.message and "第 2 个事项" in caught.value.message
    with session_factory() as s:
        assert s.execute(select(Matter)).first() is None


def test_duplicate_codes_or_names_in_a_file_are_refused(clock: FrozenClock) -> None:
    data = service.load_default_catalog()
    with pytest.raises(InvalidInput, match="编码“QK-DEC-01”在清单中重复"):
        service.validate_catalog([*data, {**data[1], "code": "QK-DEC-01"}])
    with pytest.raises(InvalidInput, match="名称“申报阻断解除”在清单中重复"):
        service.validate_catalog([*data, {**data[1], "code": "NEW-1", "name": "申报阻断解除"}])


def test_a_name_held_by_another_matter_in_the_database_is_refused(
    session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    data = service.load_default_catalog()
    _import(session_factory, data, clock)
    newcomer = {**data[0], "code": "LOCAL-01"}
    with session_factory() as s, pytest.raises(InvalidInput, match="名称已被事项 QK-DEC-01 使用"):
        service.import_catalog(s, [newcomer], now=clock.now())


def test_self_matters_must_be_online() -> None:
    record = {"code": "X-1", "name": "某事项", "category": "申报纳税", "route": "self", "online": False}
    with pytest.raises(InvalidInput, match="必须可网上办理"):
        service.validate_record(record, 1)


def test_triage_uses_the_database_catalog_and_sees_edits_at_once(
    session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    data = service.load_default_catalog()
    _import(session_factory, data, clock)
    with session_factory() as s:
        result = service.triage_text(s, "mmcz")
    assert result.route is Route.QUICK and result.matches[0].name == "电子税务局密码重置"
    with session_factory() as s:
        assert all(m.code != "QK-REG-03" for m in service.triage_text(s, "叫号机坏了").matches)

    edited = copy.deepcopy(data)
    idx = next(i for i, r in enumerate(edited) if r["code"] == "QK-REG-03")
    edited[idx]["aliases"] = [*edited[idx]["aliases"], "叫号机坏了"]
    _import(session_factory, edited, clock)  # same frozen time: updated_at does not move
    with session_factory() as s:
        assert service.triage_text(s, "叫号机坏了").matches[0].code == "QK-REG-03"

    _import(session_factory, [r for r in edited if r["code"] != "QK-REG-03"], clock, deactivate_missing=True)
    with session_factory() as s:
        assert all(m.code != "QK-REG-03" for m in service.triage_text(s, "mmcz").matches)


@pytest.mark.parametrize("text", ["", "   ", "税" * 201])
def test_an_empty_or_overlong_question_is_refused(session_factory: sessionmaker[Session], text: str) -> None:
    with session_factory() as s, pytest.raises(InvalidInput) as caught:
        service.triage_text(s, text)
    assert caught.value.field == "q"
