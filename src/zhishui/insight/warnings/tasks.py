"""Background work of early warnings: the evaluation loop and the outbox handler for its notices.

`WarningLoop.run_once` first gives new county bureaus the default rules, then evaluates every rule,
each in a transaction of its own, so one rule that fails (its data half-migrated, a bug) neither rolls
back nor holds up the others. Several workers may run the loop at once: the partial unique index on
live warnings lets only one of them open a warning, and only that one queues its notice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from zhishui.channels.dingtalk import Notice, WorkNotice
from zhishui.insight.warnings.repository import RuleRepository
from zhishui.insight.warnings.service import NOTICE_TOPIC, Outcome, evaluate_rule, seed_default_rules
from zhishui.kit.clock import Clock
from zhishui.kit.db import transaction
from zhishui.notify.outbox import Handler

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_SECONDS = 60.0


@dataclass
class WarningLoop:
    session_factory: sessionmaker[Session]
    clock: Clock

    def run_once(self) -> Outcome:
        total = Outcome()
        with transaction(self.session_factory) as session:
            seed_default_rules(session, self.clock.now())
            rule_ids = RuleRepository(session).ids()
        for rule_id in rule_ids:
            try:
                with transaction(self.session_factory) as session:
                    done = evaluate_rule(session, rule_id, self.clock.now())
            except Exception:  # rolled back; this rule is tried again on the next pass
                log.exception("warning rule %s failed; the others go on", rule_id)
                continue
            total.opened += done.opened
            total.cleared += done.cleared
            total.notified += done.notified
        return total

    def run_forever(self, stop: threading.Event, interval: float = DEFAULT_INTERVAL_SECONDS) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("warning loop failed; retrying")
            stop.wait(interval)


def notice_handler(sender: WorkNotice, public_url: str = "") -> Handler:
    def handle(payload: dict[str, Any]) -> None:
        link = payload.get("link")
        sender.send(
            Notice(
                staff_ids=tuple(payload["to"]),
                title=payload["title"],
                text=payload["text"],
                link=(public_url.rstrip("/") + link) if link and public_url else link,
            )
        )

    return handle


def warning_handlers(sender: WorkNotice, public_url: str = "") -> Mapping[str, Handler]:
    """Outbox handlers to merge into the worker's (background.outbox_handlers)."""
    return {NOTICE_TOPIC: notice_handler(sender, public_url)}
