"""Triage accuracy of the default catalog on a set of phrasings.

    python bench/triage_accuracy.py [--json] [--shared PATH] [--set PATH]

By default the set is the shared development set (``data/triage-dev.tsv`` of the shared folder,
``../shared`` beside the repository); ``--set tests/data/triage_paraphrases.tsv`` measures the
project's own, larger set. Pure catalog search, no database: top-1 and top-3 accuracy and the misses.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

from zhishui.catalog import textnorm
from zhishui.catalog.evaluation import evaluate, read_phrasings
from zhishui.catalog.matcher import CatalogSearch
from zhishui.catalog.service import load_default_catalog

REPO_ROOT = Path(__file__).resolve().parents[1]


def measure(phrasings: Path) -> dict[str, Any]:
    catalog = load_default_catalog()
    started = time.perf_counter()
    textnorm.tokenizer()
    jieba_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    CatalogSearch(catalog)
    build_ms = (time.perf_counter() - started) * 1000
    result = evaluate(catalog, read_phrasings(phrasings))
    return {
        "set": phrasings.name,
        "n": result.n,
        "top1": round(result.top1_rate, 4),
        "top3": round(result.top3_rate, 4),
        "misses": [dataclasses.asdict(m) for m in result.misses],
        "catalog_matters": len(catalog),
        "jieba_init_ms": round(jieba_ms, 1),
        "index_build_ms": round(build_ms, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared", help="the shared folder")
    parser.add_argument("--set", type=Path, default=None, help="a TSV of utterance/matter rows instead")
    args = parser.parse_args()
    phrasings = args.set or args.shared / "data" / "triage-dev.tsv"
    if not phrasings.is_file():
        print(f"{phrasings} not found: pass --shared PATH or --set PATH", file=sys.stderr)
        return 2
    result = measure(phrasings)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print(f"{result['set']}: n={result['n']} top1={result['top1']:.3f} top3={result['top3']:.3f}")
    for miss in result["misses"]:
        print(f"  miss: {miss['utterance']} → {miss['expected']} (got {', '.join(miss['got'])})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
