from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from zhishui.kit.db import Base


class Matter(Base):
    """One matter (办税事项) of the catalog: what it is called, where it is handled, how to do it online."""

    __tablename__ = "matter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    name_en: Mapped[str] = mapped_column(String(128), default="")
    category: Mapped[str] = mapped_column(String(32), index=True)
    # quick | self | studio | mediation  (see catalog.policy.Route)
    route: Mapped[str] = mapped_column(String(16), index=True)
    online: Mapped[bool] = mapped_column(default=False)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    materials: Mapped[list[str]] = mapped_column(JSON, default=list)
    guide_menu_path: Mapped[str] = mapped_column(String(200), default="")
    guide_steps: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    typical_minutes: Mapped[int] = mapped_column(default=5)
    sort_order: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[dt.datetime]
