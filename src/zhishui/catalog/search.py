"""A small in-memory Chinese search engine: weighted fields, BM25F ranking, synonyms, pinyin.

Reused by every part of zhishui that ranks short Chinese documents (the matter catalog, knowledge
articles, case reports). Build an :class:`Index` once from ``(doc_id, {field: text})`` pairs and call
:meth:`Index.search`; there is no database.

Ranking is BM25F: the term frequencies of a document's fields are length-normalised per field, weighted
by the field's weight, summed, and then saturated once (k1), so a word repeated across name and aliases
counts more than once but not without bound. Everything that does not depend on the query is
precomputed at build time: a query only adds ``idf × weight`` over the postings of its terms. Common
terms are skipped for documents that can no longer reach the top (MaxScore pruning), which keeps long
documents cheap.

Queries are expanded with colloquial synonyms (:mod:`zhishui.catalog.textnorm`); runs of Latin letters
in a query are also matched as pinyin against the fields marked ``phrases`` (:mod:`.pinyin_index`).
"""

from __future__ import annotations

import bisect
import heapq
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from zhishui.catalog import textnorm
from zhishui.catalog.pinyin_index import PinyinIndex

# Phrases of a pinyin field are cut at line breaks and list punctuation.
_PHRASE_SPLIT = re.compile(r"[\n;；,，、|/]+")
# Latin letters typed as pinyin; spaces and apostrophes between syllables (zhu xiao, xi'an) are allowed.
_LATIN_RUN = re.compile(r"[a-z]+(?:[ ']+[a-z]+)*")
_MIN_PHRASE = 2
_SHORT_QUERY = 8  # a query this short may be a keyword: look for it inside phrases too


@dataclass(frozen=True, slots=True)
class Field:
    """How a field counts: ``weight`` in BM25F and ``b``, its length normalisation.

    ``phrases`` marks a field made of short phrases, one per line (a name, aliases, a title): each phrase
    is also matched whole (a phrase found verbatim in the query adds a bonus growing with its length) and
    by pinyin. Do not set it on long bodies.
    """

    weight: float = 1.0
    b: float = 0.75
    phrases: bool = False


@dataclass(frozen=True, slots=True)
class Hit:
    doc_id: str
    score: float


@dataclass(frozen=True, slots=True)
class _Postings:
    docs: list[int]  # ascending
    weights: list[float]  # idf × saturated term frequency, per document
    top: float  # the largest weight, for the MaxScore bound


class Index:
    """Documents ``(doc_id, {field: text})`` ranked for a query.

    ``fields`` names the fields that are indexed and how they count; other fields of a document are
    ignored. ``bigram_weight``, ``piece_weight`` and ``char_weight`` are the weights in a query of
    character bigrams, of the pieces of a longer word (养老 in 养老保险: the long word already counts)
    and of one-character words (退, 票: vague on their own), relative to whole words;
    ``pinyin_scale`` converts a pinyin match quality (0–1, times the field weight) to the BM25 scale.
    """

    def __init__(
        self,
        documents: Iterable[tuple[str, Mapping[str, str]]],
        fields: Mapping[str, Field | float],
        *,
        k1: float = 1.2,
        bigram_weight: float = 0.5,
        pinyin_scale: float = 6.0,
        phrase_scale: float = 0.5,
        piece_weight: float = 1.0,
        char_weight: float = 0.5,
    ) -> None:
        self.fields: dict[str, Field] = {
            name: spec if isinstance(spec, Field) else Field(weight=float(spec))
            for name, spec in fields.items()
        }
        self.k1 = k1
        self.pinyin_scale = pinyin_scale
        self.phrase_scale = phrase_scale
        self._kind_weights = {
            textnorm.Kind.WORD: 1.0,
            textnorm.Kind.PIECE: piece_weight,
            textnorm.Kind.CHAR: char_weight,
            textnorm.Kind.BIGRAM: bigram_weight,
        }
        self.doc_ids: list[str] = []
        self._pinyin = PinyinIndex()
        # normalised phrase -> (doc, field weight) for verbatim matches
        self._phrases: dict[str, list[tuple[int, float]]] = {}
        self._phrase_starts: set[str] = set()  # every start of every phrase: a scan stops early
        self._phrases_by_pair: dict[str, set[str]] = {}  # two characters -> phrases holding them
        self._build(documents)

    def __len__(self) -> int:
        return len(self.doc_ids)

    def _build(self, documents: Iterable[tuple[str, Mapping[str, str]]]) -> None:
        per_doc: list[dict[str, Counter[str]]] = []
        total_len: Counter[str] = Counter()
        for doc_id, values in documents:
            doc = len(self.doc_ids)
            self.doc_ids.append(doc_id)
            counts: dict[str, Counter[str]] = {}
            for name, spec in self.fields.items():
                text = values.get(name) or ""
                if not text:
                    continue
                counts[name] = Counter(textnorm.terms(text))
                total_len[name] += sum(counts[name].values())
                if spec.phrases:
                    self._add_phrases(doc, text, spec.weight)
            per_doc.append(counts)
        self._pinyin.freeze()

        n = len(self.doc_ids)
        avg_len = {name: (total_len[name] / n if n else 0.0) or 1.0 for name in self.fields}
        tf_by_term: dict[str, list[tuple[int, float]]] = {}
        for doc, counts in enumerate(per_doc):
            combined: dict[str, float] = {}
            for name, counter in counts.items():
                spec = self.fields[name]
                length = sum(counter.values())
                norm = spec.weight / (1.0 - spec.b + spec.b * length / avg_len[name])
                for term, count in counter.items():
                    combined[term] = combined.get(term, 0.0) + count * norm
            for term, tf in combined.items():
                tf_by_term.setdefault(term, []).append((doc, tf))

        k1 = self.k1
        numbers = list(range(n))  # one int object per document, shared by every posting list
        self._postings: dict[str, _Postings] = {}
        for term, entries in tf_by_term.items():
            df = len(entries)
            idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            weights = [idf * tf * (k1 + 1.0) / (tf + k1) for _, tf in entries]
            self._postings[term] = _Postings([numbers[d] for d, _ in entries], weights, max(weights))

    def _add_phrases(self, doc: int, text: str, weight: float) -> None:
        for raw in _PHRASE_SPLIT.split(text):
            phrase = textnorm.normalize(raw)
            if not phrase:
                continue
            self._pinyin.add(doc, phrase, weight)
            if len(phrase) >= _MIN_PHRASE:
                self._phrases.setdefault(phrase, []).append((doc, weight))
                self._phrase_starts.update(phrase[:k] for k in range(1, len(phrase) + 1))
                for k in range(len(phrase) - 1):
                    self._phrases_by_pair.setdefault(phrase[k : k + 2], set()).add(phrase)

    def _phrase_scores(self, query: str) -> dict[int, float]:
        """Verbatim phrase matches, per document the best: a phrase found whole in the query scores its
        length × field weight; a short query found whole inside a phrase (无欠税 in 无欠税证明) scores its
        length × field weight × the share of the phrase it covers."""
        best: dict[int, float] = {}
        phrases, starts = self._phrases, self._phrase_starts
        n = len(query)
        for i in range(n - _MIN_PHRASE + 1):
            for j in range(i + 1, n + 1):
                piece = query[i:j]
                if piece not in starts:
                    break
                for doc, weight in phrases.get(piece, ()):
                    score = (j - i) * weight
                    if score > best.get(doc, 0.0):
                        best[doc] = score
        if _MIN_PHRASE <= n <= _SHORT_QUERY:
            for phrase in self._phrases_by_pair.get(query[:2], ()):
                if len(phrase) > n and query in phrase:
                    for doc, weight in phrases[phrase]:
                        score = n * weight * n / len(phrase)
                        if score > best.get(doc, 0.0):
                            best[doc] = score
        return best

    def query_terms(self, query: str) -> dict[str, float]:
        """The weighted terms a query is searched for (the query and its synonym expansions)."""
        out: dict[str, float] = {}
        for term in textnorm.analyze(query):
            weight = self._kind_weights[term.kind]
            if term.kind is textnorm.Kind.PIECE and term.word in self._postings:
                # The whole word is known and counts itself: its pieces only share a little weight.
                # An unknown compound (公司法人) is understood through its pieces alone.
                weight *= term.share
            if weight > out.get(term.text, 0.0):
                out[term.text] = weight
        for word, weight in textnorm.expand(query):
            if weight > out.get(word, 0.0):
                out[word] = weight
        return out

    def search(self, query: str, limit: int = 10) -> list[Hit]:
        """The best ``limit`` documents for ``query``, best first; documents that match nothing are left out."""
        if limit <= 0:
            return []
        normalized = textnorm.normalize(query)
        scores: dict[int, float] = {}
        for run in _LATIN_RUN.findall(normalized):
            for doc, quality in self._pinyin.search(re.sub(r"[ ']", "", run)).items():
                scores[doc] = scores.get(doc, 0.0) + quality * self.pinyin_scale
        if self._phrases and self.phrase_scale:
            for doc, bonus in self._phrase_scores(normalized).items():
                scores[doc] = scores.get(doc, 0.0) + bonus * self.phrase_scale

        plan: list[tuple[float, float, _Postings]] = []  # (upper bound, query weight, postings)
        for term, qweight in self.query_terms(query).items():
            postings = self._postings.get(term)
            if postings is not None:
                plan.append((qweight * postings.top, qweight, postings))
        plan.sort(key=lambda item: item[0], reverse=True)

        remaining = sum(bound for bound, _, _ in plan)
        pruning = False
        for bound, qweight, postings in plan:
            if not pruning and len(scores) >= limit:
                kth = heapq.nlargest(limit, scores.values())[-1]
                if kth > remaining:
                    # MaxScore: no document outside the candidates can reach the top any more, and
                    # candidates that cannot catch up with the k-th best are dropped.
                    pruning = True
                    scores = {doc: s for doc, s in scores.items() if s + remaining >= kth}
            if pruning:
                _add_to_candidates(scores, postings, qweight)
            else:
                get = scores.get
                for doc, weight in zip(postings.docs, postings.weights, strict=True):
                    scores[doc] = get(doc, 0.0) + qweight * weight
            remaining -= bound

        best = heapq.nsmallest(limit, scores.items(), key=lambda item: (-item[1], item[0]))
        return [Hit(self.doc_ids[doc], score) for doc, score in best if score > 0.0]


def _add_to_candidates(scores: dict[int, float], postings: _Postings, factor: float) -> None:
    """Add a term to the current candidates only (by binary search when they are few)."""
    docs, weights = postings.docs, postings.weights
    if len(scores) * 4 < len(docs):
        for doc in scores:
            i = bisect.bisect_left(docs, doc)
            if i < len(docs) and docs[i] == doc:
                scores[doc] += factor * weights[i]
    else:
        for doc, weight in zip(docs, weights, strict=True):
            if doc in scores:
                scores[doc] += factor * weight
