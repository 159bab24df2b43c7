"""Find short phrases (names, aliases, titles) by what staff type on a Latin keyboard.

A query of Latin letters matches a run of consecutive syllables when it can be cut into pieces that are
each the start of one syllable: ``mmcz`` (initials), ``zhuxiao`` (full pinyin), ``zhuxswdj`` or
``mimachongz`` (both mixed) all work. Polyphonic characters match by any of their readings (重置 is
typed ``chongzhi``, which the default reading ``zhongzhi`` would miss).

A match covers at least two syllables (or the whole of a one-syllable phrase); phrases of more than
``MAX_SLOTS`` syllables are not indexed (nobody types a sentence as initials). Every place where a
phrase has two consecutive syllables is filed under their two initials (``mm`` for 密码); a query is
looked up only under the initial pairs its own letters allow (the first letter, and each letter that
can start the second syllable), and only those places are checked, so a query costs microseconds even
with thousands of phrases.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pypinyin import Style, pinyin

MIN_QUERY_LETTERS = 2
# Longer phrases (whole sentences, report titles) are not typed as pinyin, and a short query could
# cover only a sliver of them anyway: they are left out of the pinyin index.
MAX_SLOTS = 16
_LETTERS = re.compile(r"[a-z]+")


def slots(phrase: str) -> list[list[str]]:
    """The readings of each character of a phrase (Latin words are one slot; digits and marks dropped)."""
    out: list[list[str]] = []
    for readings in pinyin(phrase, style=Style.NORMAL, heteronym=True, errors="default"):
        for reading in readings:
            words = _LETTERS.findall(reading.lower())
            if len(words) > 1 or (words and words[0] != reading.lower()):
                # A run of non-Chinese text: each Latin word is a slot of its own.
                out.extend([w] for w in words)
                break
        else:
            letters = list(dict.fromkeys(r.lower() for r in readings if _LETTERS.fullmatch(r.lower())))
            if letters:
                out.append(letters)
    return out


def cuts(letters: str, readings: Sequence[Sequence[str]], start: int) -> Iterator[tuple[int, int]]:
    """Every way to cut ``letters`` into non-empty starts of readings of consecutive slots from
    ``start``: (slots covered, letters of those readings left untyped)."""

    def go(pos: int, k: int, untyped: int) -> Iterator[tuple[int, int]]:
        if pos == len(letters):
            yield k - start, untyped
            return
        if k == len(readings):
            return
        for reading in readings[k]:
            n = 0
            while n < len(reading) and pos + n < len(letters) and reading[n] == letters[pos + n]:
                n += 1
            for m in range(n, 0, -1):
                yield from go(pos + m, k + 1, untyped + len(reading) - m)

    return go(0, start, 0)


def quality(covered: int, untyped: int, typed: int, n_slots: int, at_start: bool) -> float:
    """How well a cut matches its phrase (0–1): the share of the phrase's syllables covered, a little
    less when it does not start at the first syllable, and a little less for each letter of the
    covered syllables left untyped (so full pinyin ranks the exact reading first: ``qishui`` is
    契税 qi shui before 清税 qing shui)."""
    return covered / n_slots * (1.0 if at_start else 0.75) * (0.7 + 0.3 * typed / (typed + untyped))


@dataclass(frozen=True, slots=True)
class _Line:
    doc: int
    weight: float
    slots: list[list[str]]


class PinyinIndex:
    """Phrases of documents, searchable by pinyin initials, full pinyin, or a mix."""

    def __init__(self) -> None:
        self._lines: list[_Line] = []
        # two initials (or one, for one-syllable phrases) -> (line, slot) where such a pair starts
        self._places: dict[str, list[tuple[int, int]]] = {}
        # every start of every reading: where a query's first piece may end
        self._prefixes: set[str] = set()

    def add(self, doc: int, phrase: str, weight: float = 1.0) -> None:
        readings = slots(phrase)
        if not readings or len(readings) > MAX_SLOTS:
            return
        line = len(self._lines)
        self._lines.append(_Line(doc, weight, readings))
        for slot in readings:
            for reading in slot:
                self._prefixes.update(reading[:n] for n in range(1, len(reading) + 1))
        initials = [{reading[0] for reading in slot} for slot in readings]
        if len(readings) == 1:
            for a in initials[0]:
                self._places.setdefault(a, []).append((line, 0))
        for k in range(len(readings) - 1):
            for a in initials[k]:
                for b in initials[k + 1]:
                    self._places.setdefault(a + b, []).append((line, k))

    def freeze(self) -> None:
        """Kept for symmetry with other indexes: nothing to do."""

    def search(self, query: str) -> dict[int, float]:
        """Best match :func:`quality` per document for one run of Latin letters, times the phrase's
        weight."""
        letters = "".join(_LETTERS.findall(query.lower()))
        if len(letters) < MIN_QUERY_LETTERS:
            return {}
        keys = {letters[0] + letters[k] for k in range(1, len(letters)) if letters[:k] in self._prefixes}
        if letters in self._prefixes:
            keys.add(letters[0])
        best: dict[int, float] = {}
        seen: set[tuple[int, int]] = set()
        for key in keys:
            for place in self._places.get(key, ()):
                if place in seen:
                    continue
                seen.add(place)
                line_no, start = place
                line = self._lines[line_no]
                n_slots = len(line.slots)
                score = (
                    max(
                        (
                            quality(covered, untyped, len(letters), n_slots, start == 0)
                            for covered, untyped in cuts(letters, line.slots, start)
                            if covered >= 2 or n_slots == 1
                        ),
                        default=0.0,
                    )
                    * line.weight
                )
                if score > best.get(line.doc, 0.0):
                    best[line.doc] = score
        return best
