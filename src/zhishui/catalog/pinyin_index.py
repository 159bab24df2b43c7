"""Find short phrases (names, aliases, titles) by what staff type on a Latin keyboard.

A query of Latin letters matches a run of consecutive syllables when it can be cut into pieces that are
each the start of one syllable: ``mmcz`` (initials), ``zhuxiao`` (full pinyin), ``zhuxswdj`` or
``mimachongz`` (both mixed) all work. Polyphonic characters match by any of their readings (重置 is
typed ``chongzhi``, which the default reading ``zhongzhi`` would miss).

All phrases live in one string, one line per phrase, slots separated by spaces and the readings of a
slot by ``/`` (``" mi ma zhong/chong zhi"``); a query becomes one regular expression run over it, so
the scan is done by the regex engine, not by Python loops.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from pypinyin import Style, pinyin

MIN_QUERY_LETTERS = 2
# From the end of a reading to the start of any reading of the next slot.
_NEXT_SLOT = r"(?:[a-z]*(?:/[a-z]*)* (?:[a-z]*/)*)?"
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


def query_pattern(letters: str) -> re.Pattern[str]:
    """Letters typed in order, each either continuing the current reading or starting the next slot."""
    parts = [re.escape(letters[0])]
    parts.extend(_NEXT_SLOT + re.escape(ch) for ch in letters[1:])
    return re.compile(r"(?<=[ /])" + "".join(parts))


@dataclass(frozen=True, slots=True)
class _Line:
    doc: int
    weight: float
    start: int
    slots: list[list[str]]


def untyped_letters(letters: str, readings: list[list[str]]) -> int:
    """The fewest letters left untyped when ``letters`` are cut into a prefix of each slot in turn.

    ``qishui`` leaves nothing of 契税 (qi shui) and two letters of 清税 (qing shui) or 欠税 (qian shui);
    the fewer, the closer the match.
    """
    best: dict[tuple[int, int], int | None] = {}

    def go(k: int, pos: int) -> int | None:
        if k == len(readings):
            return 0 if pos == len(letters) else None
        if pos == len(letters):
            return None
        key = (k, pos)
        if key in best:
            return best[key]
        result: int | None = None
        for reading in readings[k]:
            n = 1
            while n <= len(reading) and pos + n <= len(letters) and reading[n - 1] == letters[pos + n - 1]:
                rest = go(k + 1, pos + n)
                if rest is not None and (result is None or rest + len(reading) - n < result):
                    result = rest + len(reading) - n
                n += 1
        best[key] = result
        return result

    return go(0, 0) or 0


class PinyinIndex:
    """Phrases of documents, searchable by pinyin initials, full pinyin, or a mix."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._lines: list[_Line] = []
        self._starts: list[int] = []
        self._text = ""
        self._size = 0

    def add(self, doc: int, phrase: str, weight: float = 1.0) -> None:
        readings = slots(phrase)
        if not readings:
            return
        line = "\n " + " ".join("/".join(r) for r in readings)
        self._lines.append(_Line(doc, weight, self._size + 1, readings))
        self._starts.append(self._size + 1)
        self._parts.append(line)
        self._size += len(line)

    def freeze(self) -> None:
        self._text = "".join(self._parts) + "\n"
        self._parts = []

    def search(self, query: str) -> dict[int, float]:
        """Best match quality per document for one run of Latin letters, times the phrase's weight.

        Quality is the share of the phrase's syllables the query covers, a little less when the match
        does not start at the phrase's first syllable, and a little less for each letter of those
        syllables left untyped (so full pinyin ranks an exact reading first).
        """
        letters = "".join(_LETTERS.findall(query.lower()))
        if len(letters) < MIN_QUERY_LETTERS:
            return {}
        text = self._text
        best: dict[int, float] = {}
        for match in query_pattern(letters).finditer(text):
            i = bisect.bisect_right(self._starts, match.start()) - 1
            line = self._lines[i]
            covered = match.group().count(" ") + 1
            first = text.count(" ", line.start, match.start()) - 1
            missing = untyped_letters(letters, line.slots[first : first + covered])
            quality = covered / len(line.slots) * (1.0 if first == 0 else 0.75)
            quality *= 0.7 + 0.3 * len(letters) / (len(letters) + missing)
            score = quality * line.weight
            if score > best.get(line.doc, 0.0):
                best[line.doc] = score
        return best
