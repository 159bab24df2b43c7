"""One app's inbound channels: the adapters built from the settings, the replay cache they share, and
the one way a verified callback becomes work in the inbox.

A callback is processed in its own transaction. Three endings:

* committed: acknowledged;
* the inbox already holds the platform's message id (``AlreadyReceived``: the replay cache forgot
  it, or another server process took the same retry): rolled back and acknowledged;
* anything else: rolled back, the replay-cache keys released so the platform's retry is processed
  rather than acknowledged as a duplicate of work that was never saved, and the error goes up (5xx,
  or the typed 4xx it is).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from zhishui.audit.recorder import Actor, set_actor
from zhishui.center.service import AlreadyReceived
from zhishui.channels.cti import CtiCallbacks
from zhishui.channels.dingtalk import DingTalkCallbacks
from zhishui.channels.repository import ReceivingUnitRepository
from zhishui.channels.webhooks import MemoryReplayCache, Outcome, RedisReplayCache, ReplayCache
from zhishui.channels.wechat import WeChatCallbacks, WeChatConfig, WeChatMode
from zhishui.config import Settings
from zhishui.kit.clock import Clock
from zhishui.kit.db import transaction
from zhishui.kit.errors import AppError
from zhishui.kit.events import Broker

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class CenterNotConfigured(AppError):
    # 503, not 4xx: the sender did nothing wrong, and its retry will work once the unit exists.
    status_code = 503
    code = "center_not_configured"

    def __init__(self) -> None:
        super().__init__("智税中心尚未配置，暂时无法接收消息")


def replay_cache_for(settings: Settings) -> ReplayCache:
    """Redis when several processes serve (each would otherwise accept a replay once), else memory."""
    if settings.redis_url:
        return RedisReplayCache.from_url(settings.redis_url)
    return MemoryReplayCache()


@dataclass
class ChannelRuntime:
    settings: Settings
    clock: Clock
    replay: ReplayCache
    wechat: WeChatCallbacks | None
    dingtalk: DingTalkCallbacks | None
    cti: CtiCallbacks | None
    _center_id: int | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def build(cls, settings: Settings, clock: Clock, replay: ReplayCache | None = None) -> ChannelRuntime:
        replay = replay if replay is not None else replay_cache_for(settings)
        wechat = None
        if settings.wechat_token:
            config = WeChatConfig(
                token=settings.wechat_token,
                app_id=settings.wechat_app_id,
                mode=WeChatMode(settings.wechat_mode),
                encoding_aes_key=settings.wechat_aes_key or None,
            )
            wechat = WeChatCallbacks(config, clock=clock, replay=replay)
        dingtalk = (
            DingTalkCallbacks(settings.dingtalk_app_secret, clock=clock, replay=replay)
            if settings.dingtalk_app_secret
            else None
        )
        cti = CtiCallbacks(settings.cti_secret, clock=clock, replay=replay) if settings.cti_secret else None
        return cls(settings, clock, replay, wechat, dingtalk, cti)

    def center_id(self, session: Session) -> int:
        """The unit whose inbox receives channel traffic; looked up once, then remembered."""
        if self._center_id is not None:
            return self._center_id
        units = ReceivingUnitRepository(session)
        code = self.settings.center_unit
        unit = units.by_code(code) if code else None
        if unit is None and not code and self.settings.is_development:
            unit = units.first_tax_center()
        if unit is None:
            log.error("no center unit receives channel traffic (ZHISHUI_CENTER_UNIT=%r)", code)
            raise CenterNotConfigured()
        with self._lock:
            self._center_id = unit.id
        return unit.id

    def process(
        self,
        outcome: Outcome[T],
        work: Callable[[Session, int, T], R],
        *,
        session_factory: sessionmaker[Session],
        broker: Broker,
        actor: str,
    ) -> R | None:
        """Run ``work(session, center_id, item)`` once for a new callback; None when nothing was done."""
        if not outcome.should_process:
            return None
        try:
            with transaction(session_factory) as session:
                prepare_session(session, broker=broker, clock=self.clock, actor=actor)
                return work(session, self.center_id(session), outcome.item)
        except AlreadyReceived:
            log.info("callback already in the inbox; acknowledged", extra={"actor": actor})
            return None
        except BaseException:
            for key in outcome.dedup_keys:
                try:
                    self.replay.release(key)
                except Exception:
                    # The key then expires on its own; the retry within its ttl is acknowledged
                    # unprocessed, which the log line below lets an operator find.
                    log.exception("could not release replay key %s", key)
            raise


def prepare_session(session: Session, *, broker: Broker, clock: Clock, actor: str, ip: str = "") -> None:
    """What the request session dependency sets, for a unit of work that is not a staff request."""
    session.info["broker"] = broker
    session.info["clock"] = clock
    set_actor(session, Actor(actor, ip=ip))


def runtime_of(state: Any) -> ChannelRuntime:
    runtime: ChannelRuntime = state.channels
    return runtime
