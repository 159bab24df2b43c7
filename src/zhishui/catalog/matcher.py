"""The catalog's search: an :class:`Index` over the matters, answering triage questions.

Pure (no database): built from matter records, i.e. the dicts of the YAML catalog or of
``service.export_catalog``, so tests and benchmarks use it without a session.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from zhishui.catalog.policy import MatterCard, Route, TriageResult, triage
from zhishui.catalog.search import Field, Hit, Index

# Name and aliases are what people say; the category and the guide add context words. Aliases are many
# short phrases, so their length says little about relevance: low b.
CATALOG_FIELDS: dict[str, Field] = {
    "name": Field(weight=3.0, b=0.5, phrases=True),
    "aliases": Field(weight=2.0, b=0.3, phrases=True),
    "category": Field(weight=1.0, b=0.0),
    "body": Field(weight=0.5, b=0.75),
}


def matter_fields(record: Mapping[str, Any]) -> dict[str, str]:
    """The searchable text of a matter record, by field."""
    body = [
        str(record.get("description") or ""),
        str(record.get("guide_menu_path") or ""),
        *(str(step) for step in record.get("guide_steps") or ()),
    ]
    return {
        "name": str(record["name"]),
        "aliases": "\n".join(str(a) for a in record.get("aliases") or ()),
        "category": str(record.get("category") or ""),
        "body": "\n".join(part for part in body if part),
    }


class CatalogSearch:
    """Search and triage over the active matters of a catalog."""

    def __init__(self, records: Iterable[Mapping[str, Any]]) -> None:
        active = [r for r in records if r.get("active", True)]
        self.cards: dict[str, MatterCard] = {
            str(r["code"]): MatterCard(
                code=str(r["code"]),
                name=str(r["name"]),
                category=str(r.get("category") or ""),
                route=Route(str(r["route"])),
                online=bool(r.get("online", False)),
            )
            for r in active
        }
        self.index = Index(((str(r["code"]), matter_fields(r)) for r in active), CATALOG_FIELDS)

    def __len__(self) -> int:
        return len(self.cards)

    def search(self, text: str, limit: int = 5) -> Sequence[Hit]:
        return self.index.search(text, limit)

    def triage(self, text: str, limit: int = 5) -> TriageResult:
        return triage(self.search(text, limit), self.cards)
