"""Pure rules of the inbox: which agent gets a request, what a message says about who wrote it, how a
taxpayer's rating reads, how long a request waits for its rating.

No database, no web framework: the service feeds these plain values and acts on the answers.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from zhishui.kit.validators import InvalidIdentifier, classify_tax_id, normalise_phone

GENERAL_SKILL = "general"
SUBJECT_MAX = 120
# After resolution the taxpayer has this long to rate on the channel; later messages open a new request.
RATING_WINDOW = dt.timedelta(days=3)
BAD_RATING_MAX = 2  # 1 or 2 of 5: a bad rating (差评) that opens a follow-up task
REPLY_MAX = 2000  # characters, on any channel
# WeChat's customer-service text carries at most 2048 bytes: about 680 Chinese characters. A longer
# reply is refused when written, where the agent can split it, not lost at delivery.
WECHAT_REPLY_MAX_BYTES = 2000

RATING_PROMPT = "本次服务已办结。请回复数字1-5为我们评分（5为非常满意），也可在数字后附上意见。"


# --- routing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentLoad:
    staff_id: int
    available: bool
    active: int
    capacity: int
    skills: frozenset[str]
    last_assigned_at: dt.datetime | None


def routing_order(agents: Sequence[AgentLoad], skill: str) -> list[int]:
    """Who to offer a request to, best first; empty when nobody can take it now.

    Only available agents under their capacity. Agents with the request's skill come before
    generalists (no skills listed, or "general"); a specialist of another skill is not offered a
    request outside it. Within a group the least loaded by share of capacity first, then the one
    who waited longest since their last assignment, so equal agents take turns.
    """

    def has_skill(agent: AgentLoad) -> bool:
        return skill in agent.skills

    def generalist(agent: AgentLoad) -> bool:
        return not agent.skills or GENERAL_SKILL in agent.skills

    never = dt.datetime.min.replace(tzinfo=dt.UTC)
    eligible = [
        a for a in agents if a.available and a.active < a.capacity and (has_skill(a) or generalist(a))
    ]
    eligible.sort(
        key=lambda a: (
            0 if has_skill(a) else 1,
            a.active / a.capacity,
            a.last_assigned_at or never,
            a.staff_id,
        )
    )
    return [a.staff_id for a in eligible]


# --- what a message tells us ---------------------------------------------------------------------


def subject_of(text: str | None, fallback: str) -> str:
    """A request's subject: its first message's first line, shortened; else what kind it was."""
    line = (text or "").strip().splitlines()[0].strip() if (text or "").strip() else ""
    if not line:
        return fallback
    return line if len(line) <= SUBJECT_MAX else line[: SUBJECT_MAX - 1] + "…"


_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_TAX_ID = re.compile(r"(?<![0-9A-Za-z])[0-9A-Za-z]{15,20}(?![0-9A-Za-z])")


@dataclass(frozen=True)
class Mentions:
    phones: tuple[str, ...]
    tax_ids: tuple[str, ...]


def mentions(text: str | None, *, today: dt.date) -> Mentions:
    """Valid mobile numbers and tax ids (USCC, resident id) written in a message.

    Only numbers that pass their check digit count, so an order number or a random string never
    suggests a merge.
    """
    if not text:
        return Mentions((), ())
    phones: list[str] = []
    for match in _PHONE.findall(text):
        try:
            phone = normalise_phone(match)
        except InvalidIdentifier:
            continue
        if phone not in phones:
            phones.append(phone)
    tax_ids: list[str] = []
    for match in _TAX_ID.findall(text):
        try:
            scheme, number = classify_tax_id(match, today=today)
        except InvalidIdentifier:
            continue
        if scheme != "legacy" and number not in tax_ids:
            tax_ids.append(number)
    return Mentions(tuple(phones), tuple(tax_ids))


# --- ratings -------------------------------------------------------------------------------------


_RATING = re.compile(r"^\s*([1-5])\s*(?:分|星)?\s*[,，。.、:：;；\s]*(.*)$", re.S)


@dataclass(frozen=True)
class Rating:
    score: int
    comment: str

    @property
    def is_bad(self) -> bool:
        return self.score <= BAD_RATING_MAX


def parse_rating(text: str | None) -> Rating | None:
    """A reply like "5", "4 很快", "2分，等太久了": the score and the rest as the comment.

    Anything else (a new question that happens to start with a digit and more digits, an empty
    message) is not a rating.
    """
    if not text:
        return None
    match = _RATING.match(text)
    if match is None:
        return None
    rest = match.group(2).strip()
    if rest[:1].isdigit():  # "12366…" or "2025年" is not a score
        return None
    return Rating(int(match.group(1)), rest[:500])


def rating_open(resolved_at: dt.datetime | None, now: dt.datetime) -> bool:
    return resolved_at is not None and now - resolved_at <= RATING_WINDOW


def reply_too_long(channel: str, text: str) -> str | None:
    """Why `text` cannot go out on `channel` in one message (Chinese, for the agent), or None."""
    if len(text) > REPLY_MAX:
        return f"回复内容不能超过 {REPLY_MAX} 字"
    if channel == "wechat" and len(text.encode()) > WECHAT_REPLY_MAX_BYTES:
        return "微信单条消息最多约 660 个汉字，请分成几条发送"
    return None
