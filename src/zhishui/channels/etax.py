"""Online submissions (网办) from the e-tax system: each one is an item of work for the center's queue.

The contract we offer the e-tax system, signed like the CTI's:

* ``POST`` a JSON object: ``{"submissionNo": "…", "matterCode": "…", "taxId": "…", "account": "…",
  "title": "…", "submittedAt": <epoch ms>}``, and optionally ``"taxOffice"``: the unit code of the
  competent bureau (主管税务机关) or of its tax center, for submissions whose taxpayer is not registered
  with us yet (a new registration has no record to find the bureau by).
* headers ``X-Etax-Timestamp`` (epoch seconds) and ``X-Etax-Signature``: lowercase hex of
  HMAC-SHA256(shared secret, timestamp + "\\n" + raw body).

A submission number is the e-tax system's own key, so it is the replay key; the database's unique
index on (center, channel, reference) keeps a retry that outlived the replay cache from becoming a
second item.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from zhishui.channels.signed_json import SignedJsonCallbacks
from zhishui.channels.webhooks import (
    DEFAULT_MAX_BODY,
    DEFAULT_WINDOW,
    MalformedCallback,
    ReplayCache,
    parse_epoch,
)
from zhishui.kit.clock import Clock
from zhishui.kit.validators import InvalidIdentifier, classify_tax_id

CHANNEL = "etax"
TIMESTAMP_HEADER = "X-Etax-Timestamp"
SIGNATURE_HEADER = "X-Etax-Signature"

_SUBMISSION_NO = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_MATTER_CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_ACCOUNT = re.compile(r"[A-Za-z0-9._@+-]{1,64}")
_UNIT_CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")
TITLE_MAX = 120


@dataclass(frozen=True, slots=True)
class Submission:
    number: str
    matter_code: str
    tax_id: str
    account: str
    title: str
    submitted_at: dt.datetime
    raw: dict[str, Any]
    tax_office: str | None = None

    @property
    def dedup_key(self) -> str:
        return f"etax:{self.number}"


def _text(body: dict[str, Any], name: str, pattern: re.Pattern[str] | None = None) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise MalformedCallback(CHANNEL, f"{name} missing")
    value = value.strip()
    if pattern is not None and not pattern.fullmatch(value):
        raise MalformedCallback(CHANNEL, f"{name} has unexpected characters")
    return value


def parse_submission(body: dict[str, Any], *, today: dt.date) -> Submission:
    number = _text(body, "submissionNo", _SUBMISSION_NO)
    matter_code = _text(body, "matterCode", _MATTER_CODE)
    try:
        _, tax_id = classify_tax_id(_text(body, "taxId"), today=today)
    except InvalidIdentifier as exc:
        raise MalformedCallback(CHANNEL, f"taxId is not a taxpayer id ({exc})") from None
    account = _text(body, "account", _ACCOUNT)
    title = " ".join(_text(body, "title").split())
    if len(title) > TITLE_MAX:
        raise MalformedCallback(CHANNEL, f"title is longer than {TITLE_MAX} characters")
    at_value = body.get("submittedAt")
    if isinstance(at_value, bool) or not isinstance(at_value, int):
        raise MalformedCallback(CHANNEL, "submittedAt is not a timestamp in milliseconds")
    submitted_at = parse_epoch(CHANNEL, str(at_value), milliseconds=True)
    office = body.get("taxOffice")
    if office is not None:
        office = _text(body, "taxOffice", _UNIT_CODE)
    return Submission(number, matter_code, tax_id, account, title, submitted_at, body, office)


class EtaxCallbacks(SignedJsonCallbacks[Submission]):
    def __init__(
        self,
        secret: str,
        *,
        clock: Clock,
        replay: ReplayCache,
        window: dt.timedelta = DEFAULT_WINDOW,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        super().__init__(
            CHANNEL,
            secret,
            lambda body, today: parse_submission(body, today=today),
            clock=clock,
            replay=replay,
            window=window,
            max_body=max_body,
        )
