"""Triage accuracy of the default catalog on the shared development set.

    python bench/triage_accuracy.py [--json] [--shared PATH]

Runs the pure catalog search (no database) over ``data/triage-dev.tsv`` of the shared folder (default:
``../shared`` beside the repository) and reports top-1 and top-3 accuracy and the misses.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

from zhishui.catalog import textnorm
from zhishui.catalog.matcher import CatalogSearch
from zhishui.catalog.service import load_default_catalog

REPO_ROOT = Path(__file__).resolve().parents[1]


def measure(dev_set: Path) -> dict[str, Any]:
    catalog = load_default_catalog()
    started = time.perf_counter()
    textnorm.tokenizer()
    jieba_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    search = CatalogSearch(catalog)
    build_ms = (time.perf_counter() - started) * 1000
    code_of = {m["name"]: m["code"] for m in catalog}
    with dev_set.open(encoding="utf-8", newline="") as f:
        rows = [(r["utterance"], r["matter"]) for r in csv.DictReader(f, delimiter="\t")]
    top1 = top3 = 0
    misses = []
    for utterance, matter in rows:
        hits = search.search(utterance, 3)
        codes = [h.doc_id for h in hits]
        expected = code_of.get(matter)
        top1 += codes[:1] == [expected]
        top3 += expected in codes
        if codes[:1] != [expected]:
            misses.append(
                {
                    "utterance": utterance,
                    "expected": matter,
                    "got": [search.cards[h.doc_id].name for h in hits],
                    "in_top3": expected in codes,
                }
            )
    n = len(rows)
    return {
        "n": n,
        "top1": round(top1 / n, 4) if n else 0.0,
        "top3": round(top3 / n, 4) if n else 0.0,
        "misses": misses,
        "catalog_matters": len(catalog),
        "jieba_init_ms": round(jieba_ms, 1),
        "index_build_ms": round(build_ms, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared", help="the shared folder")
    args = parser.parse_args()
    dev_set = args.shared / "data" / "triage-dev.tsv"
    if not dev_set.is_file():
        print(f"{dev_set} not found: pass --shared PATH (the project's shared folder)", file=sys.stderr)
        return 2
    result = measure(dev_set)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print(f"n={result['n']} top1={result['top1']:.3f} top3={result['top3']:.3f}")
    for miss in result["misses"]:
        print(f"  miss: {miss['utterance']} → {miss['expected']} (got {', '.join(miss['got'])})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
