"""The one typed base every repository builds on. All SQL lives in repositories."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from zhishui.kit.db import Base
from zhishui.kit.errors import NotFound

M = TypeVar("M", bound=Base)
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


class Repository(Generic[M]):
    model: type[M]
    not_found_message = "记录不存在"

    def __init__(self, session: Session) -> None:
        self.session = session

    def select(self) -> Select[M]:
        return select(self.model)

    def get(self, id_: Any) -> M | None:
        return self.session.get(self.model, id_)

    def get_or_404(self, id_: Any) -> M:
        obj = self.get(id_)
        if obj is None:
            raise NotFound(self.not_found_message)
        return obj

    def get_one_or_none(self, stmt: Select[M]) -> M | None:
        return self.session.execute(stmt).scalars().one_or_none()

    def list(self, stmt: Select[M]) -> Sequence[M]:
        return self.session.execute(stmt).scalars().all()

    def count(self, stmt: Select[Any]) -> int:
        return int(self.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())

    def paginate(self, stmt: Select[M], *, page: int = 1, size: int = 50) -> Page[M]:
        page = max(page, 1)
        size = min(max(size, 1), 500)
        total = self.count(stmt)
        items = self.session.execute(stmt.limit(size).offset((page - 1) * size)).scalars().all()
        return Page(items=items, total=total, page=page, size=size)

    def add(self, obj: M) -> M:
        self.session.add(obj)
        self.session.flush()
        return obj
