"""How well triage finds the intended matter for a set of phrasings (top-1 and top-3 accuracy)."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zhishui.catalog.matcher import CatalogSearch


@dataclass(frozen=True)
class Miss:
    utterance: str
    expected: str
    got: tuple[str, ...]
    in_top3: bool


@dataclass
class Accuracy:
    n: int = 0
    top1: int = 0
    top3: int = 0
    misses: list[Miss] = field(default_factory=list)

    @property
    def top1_rate(self) -> float:
        return self.top1 / self.n if self.n else 0.0

    @property
    def top3_rate(self) -> float:
        return self.top3 / self.n if self.n else 0.0


def read_phrasings(path: Path) -> list[tuple[str, str]]:
    """Rows of a TSV with the columns `utterance` and `matter` (the matter's Chinese name)."""
    with path.open(encoding="utf-8", newline="") as f:
        return [(r["utterance"], r["matter"]) for r in csv.DictReader(f, delimiter="\t")]


def evaluate(catalog: Sequence[Mapping[str, Any]], rows: Sequence[tuple[str, str]]) -> Accuracy:
    search = CatalogSearch(catalog)
    code_of = {m["name"]: m["code"] for m in catalog}
    unknown = sorted({matter for _, matter in rows if matter not in code_of})
    if unknown:
        raise ValueError(f"matters not in the catalog: {', '.join(unknown)}")
    result = Accuracy(n=len(rows))
    for utterance, matter in rows:
        hits = search.search(utterance, 3)
        codes = [h.doc_id for h in hits]
        expected = code_of[matter]
        result.top1 += codes[:1] == [expected]
        result.top3 += expected in codes
        if codes[:1] != [expected]:
            got = tuple(search.cards[h.doc_id].name for h in hits)
            result.misses.append(Miss(utterance, matter, got, expected in codes))
    return result
