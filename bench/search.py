"""Search latency over a realistic corpus, against a plain substring scan measured in the same run.

    python bench/search.py [--json] [--shared PATH] [--rounds N]

Documents: the 52 matters of the default catalog, the 1,090 official tax-case reports
(``data/public/sta-case-reports.csv``: title + content_text) and the 12366 Q&A rows
(``data/public/12366-kb-2019*.csv``: title + answer) of the shared folder (default: ``../shared``).
Queries: the utterances of ``data/triage-dev.tsv``, the Q&A titles, and a few case-report topics.

Baseline: for each document, is the (normalised) query a substring of its text? The figure of merit
is ``ratio`` = baseline p50 / ours p50 (above 1: ours is faster, although it ranks and the scan does not).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zhishui.catalog import textnorm
from zhishui.catalog.matcher import matter_fields
from zhishui.catalog.search import Field, Index
from zhishui.catalog.service import load_default_catalog

REPO_ROOT = Path(__file__).resolve().parents[1]
FIELDS = {
    "name": Field(weight=3.0, b=0.5, phrases=True),
    "aliases": Field(weight=2.0, b=0.3, phrases=True),
    "category": Field(weight=1.0, b=0.0),
    "body": Field(weight=1.0, b=0.75),
}
EXTRA_QUERIES = [
    "虚开增值税专用发票",
    "私户收款偷税",
    "骗取出口退税案件",
    "网络主播偷逃税",
    "隐匿收入虚假申报",
    "留抵退税骗税",
    "xkfp",
    "mmcz",
    "zhuxiao",
    "发票丢了怎么办",
]


def load_documents(shared: Path) -> list[tuple[str, dict[str, str]]]:
    docs: list[tuple[str, dict[str, str]]] = []
    for record in load_default_catalog():
        docs.append((f"matter:{record['code']}", matter_fields(record)))
    csv.field_size_limit(1 << 30)
    public = shared / "data" / "public"
    with (public / "sta-case-reports.csv").open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            docs.append((f"case:{row['article_id']}", {"name": row["title"], "body": row["content_text"]}))
    with (public / "12366-kb-2019.csv").open(encoding="utf-8", newline="") as f:
        for i, (title, answer, *_) in enumerate(csv.reader(f)):
            docs.append((f"qa:{i}", {"name": title, "body": answer}))
    with (public / "12366-kb-2019-extra.csv").open(encoding="utf-8", newline="") as f:
        for i, row in enumerate(csv.DictReader(f)):
            docs.append((f"qa-extra:{i}", {"name": row["title"], "body": row["answer"]}))
    return docs


def load_queries(shared: Path, docs: list[tuple[str, dict[str, str]]]) -> list[str]:
    with (shared / "data" / "triage-dev.tsv").open(encoding="utf-8", newline="") as f:
        queries = [r["utterance"] for r in csv.DictReader(f, delimiter="\t")]
    queries += [fields["name"] for doc_id, fields in docs if doc_id.startswith("qa")]
    return queries + EXTRA_QUERIES


def timings(run: Callable[[str], object], queries: list[str], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        for q in queries:
            started = time.perf_counter_ns()
            run(q)
            out.append((time.perf_counter_ns() - started) / 1e6)
    return out


def percentiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49], 4),
        "p99_ms": round(cuts[98], 4),
        "mean_ms": round(statistics.fmean(samples), 4),
    }


def measure(shared: Path, rounds: int) -> dict[str, Any]:
    started = time.perf_counter()
    textnorm.tokenizer()
    jieba_s = time.perf_counter() - started
    docs = load_documents(shared)
    queries = load_queries(shared, docs)

    started = time.perf_counter()
    index = Index(docs, FIELDS)
    build_s = time.perf_counter() - started

    texts = [textnorm.normalize(" ".join(fields.values())) for _, fields in docs]

    def scan(query: str) -> list[int]:
        q = textnorm.normalize(query)
        return [i for i, text in enumerate(texts) if q in text][:10]

    def ours(query: str) -> object:
        return index.search(query, 10)

    for q in queries:  # warm up both (caches, first-call costs)
        ours(q)
        scan(q)
    ours_t = percentiles(timings(ours, queries, rounds))
    scan_t = percentiles(timings(scan, queries, rounds))
    return {
        "docs": len(docs),
        "doc_chars": sum(len(t) for t in texts),
        "queries": len(queries),
        "rounds": rounds,
        "jieba_init_s": round(jieba_s, 3),
        "index_build_s": round(build_s, 3),
        "ours": ours_t,
        "baseline_substring_scan": scan_t,
        "ratio": round(scan_t["p50_ms"] / ours_t["p50_ms"], 2),
        "queries_with_hits": {
            "ours": sum(1 for q in queries if index.search(q, 1)),
            "baseline": sum(1 for q in queries if scan(q)),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared", help="the shared folder")
    parser.add_argument("--rounds", type=int, default=5, help="times each query is run")
    args = parser.parse_args()
    needed = [
        args.shared / "data" / "triage-dev.tsv",
        args.shared / "data" / "public" / "sta-case-reports.csv",
        args.shared / "data" / "public" / "12366-kb-2019.csv",
        args.shared / "data" / "public" / "12366-kb-2019-extra.csv",
    ]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        print(
            f"not found: {', '.join(missing)}; pass --shared PATH (the project's shared folder)",
            file=sys.stderr,
        )
        return 2
    result = measure(args.shared, args.rounds)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    o, b = result["ours"], result["baseline_substring_scan"]
    print(
        f"{result['docs']} docs ({result['doc_chars']} chars), index built in {result['index_build_s']} s\n"
        f"ours:     p50 {o['p50_ms']} ms  p99 {o['p99_ms']} ms\n"
        f"baseline: p50 {b['p50_ms']} ms  p99 {b['p99_ms']} ms\n"
        f"ratio (baseline p50 / ours p50): {result['ratio']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
