"""What the catalog API gives: matters, and triage results."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from zhishui.catalog.policy import Route, TriageResult


class MatterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    name_en: str
    category: str
    route: Route
    route_label: str
    online: bool
    aliases: list[str]
    materials: list[str]
    guide_menu_path: str
    guide_steps: list[str]
    description: str
    typical_minutes: int
    sort_order: int
    active: bool
    updated_at: dt.datetime


class TriageMatch(BaseModel):
    code: str
    name: str
    category: str
    route: Route
    score: float
    online: bool


class TriageOut(BaseModel):
    """Where to send the taxpayer, whether the best match can be done from home, and the matches best
    first. No matches means route ``studio``: a person at a workstation will look at it."""

    route: Route
    online: bool
    matches: list[TriageMatch]

    @classmethod
    def from_result(cls, result: TriageResult) -> TriageOut:
        return cls(
            route=result.route,
            online=result.online,
            matches=[
                TriageMatch(
                    code=m.code,
                    name=m.name,
                    category=m.category,
                    route=m.route,
                    score=m.score,
                    online=m.online,
                )
                for m in result.matches
            ],
        )
