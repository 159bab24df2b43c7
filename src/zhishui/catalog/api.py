"""JSON API of the matter catalog: triage (/api/v1/triage) and the list of matters.

Both routes are public and read-only: the catalog is what the bureau publishes, and triage is used by
kiosks and taxpayers' phones before anyone signs in, as well as by the triage desk.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from zhishui.catalog import service
from zhishui.catalog.schemas import MatterOut, TriageOut
from zhishui.kit.ratelimit import per_address
from zhishui.web.deps import SessionDep

# Kiosks search as people type (one request per pause); 120 a minute from one address is generous for
# that and stops a script from hammering the search.
router = APIRouter(
    prefix="/api/v1",
    tags=["catalog"],
    dependencies=[Depends(per_address("catalog", limit=120, window_seconds=60))],
)


@router.get("/triage", summary="导税：找出要办的事项和去处")
def triage(
    session: SessionDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=service.MAX_QUERY_CHARS,
            description="纳税人的原话、事项名称，或拼音（全拼、首字母），1–200 字",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIMIT, description="最多返回几个事项（1–20）")] = 5,
) -> TriageOut:
    """The matters that fit ``q``, best first, the route (quick / self / studio / mediation) and whether
    the best match can be done from home. No match: route ``studio``, an empty list (a person looks
    at it)."""
    return TriageOut.from_result(service.triage_text(session, q, limit))


@router.get("/catalog/matters", summary="办税事项清单")
def list_matters(session: SessionDep) -> list[MatterOut]:
    """The active matters in catalog order, with their online guides."""
    return service.list_matters(session)
