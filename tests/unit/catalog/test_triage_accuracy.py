"""Triage accuracy on the shared development set (../shared/data/triage-dev.tsv): pure search over the
default catalog, no database. The set is for evaluation only: none of its utterances is an alias."""

from __future__ import annotations

import csv

from tests.conftest import shared_path
from zhishui.catalog.matcher import CatalogSearch
from zhishui.catalog.service import load_default_catalog


def test_top1_is_at_least_90_percent_and_top3_at_least_98_percent() -> None:
    path = shared_path("data", "triage-dev.tsv")
    with path.open(encoding="utf-8", newline="") as f:
        rows = [(r["utterance"], r["matter"]) for r in csv.DictReader(f, delimiter="\t")]
    catalog = load_default_catalog()
    search = CatalogSearch(catalog)
    code_of = {m["name"]: m["code"] for m in catalog}
    assert rows and all(matter in code_of for _, matter in rows), "a dev-set matter is not in the catalog"

    top1 = top3 = 0
    misses = []
    for utterance, matter in rows:
        codes = [hit.doc_id for hit in search.search(utterance, 3)]
        top1 += codes[:1] == [code_of[matter]]
        top3 += code_of[matter] in codes
        if codes[:1] != [code_of[matter]]:
            misses.append((utterance, matter, codes))
    n = len(rows)
    assert top1 / n >= 0.90, misses
    assert top3 / n >= 0.98, misses


def test_no_dev_utterance_was_copied_into_the_aliases() -> None:
    path = shared_path("data", "triage-dev.tsv")
    with path.open(encoding="utf-8", newline="") as f:
        utterances = {r["utterance"] for r in csv.DictReader(f, delimiter="\t")}
    aliases = {a for m in load_default_catalog() for a in m["aliases"]}
    # Single words (the dev set's pinyin rows, say) may coincide; sentences must not.
    assert {u for u in utterances & aliases if len(u) > 6} == set()
