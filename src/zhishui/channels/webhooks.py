"""What every inbound callback goes through before anyone reads it: size, signature, clock, replay.

The channel modules (wechat, dingtalk, cti) compute their platform's signature and parse their
platform's body; the checks that must be identical everywhere live here so no channel gets a weaker
copy. Nothing here touches the network, the database or a web framework: a route calls a channel's
``receive``, gets an :class:`Outcome` or one of the errors below, and turns that into a response.

Status codes, and why:

* bad or missing signature → 403: the caller has not proven who it is.
* stale timestamp → 403 as well, not 400: the timestamp is part of what is signed, and outside the
  window the signature no longer counts as proof, so it is the same refusal as a bad signature. 400
  would tell the sender its body is wrong, which it is not, and nothing it could change would help.
  The error code (``stale_timestamp``) still tells an operator chasing clock skew what happened.
* malformed body → 400; oversized body → 413.
* replay → not an error at all. Platforms retry (WeChat three times after 5 s) and expect the same
  "success" they would have got the first time; answering 409 would make them retry again and log us
  as failing. A replay is acknowledged and not processed: :attr:`Disposition.DUPLICATE`.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from zhishui.kit.clock import SHANGHAI, Clock
from zhishui.kit.errors import AppError, PermissionDenied, TooLarge, TooManyRequests

log = logging.getLogger(__name__)

DEFAULT_WINDOW = dt.timedelta(seconds=300)
# WeChat and DingTalk messages are a few kilobytes; anything near this is not a chat message.
DEFAULT_MAX_BODY = 64 * 1024


# --- errors ------------------------------------------------------------------------------------


class BadSignature(PermissionDenied):
    code = "bad_signature"

    def __init__(self, channel: str) -> None:
        super().__init__("回调签名无效", extra={"channel": channel})


class StaleTimestamp(PermissionDenied):
    code = "stale_timestamp"

    def __init__(self, channel: str, skew_seconds: float) -> None:
        super().__init__(
            "回调时间戳超出允许范围", extra={"channel": channel, "skew_seconds": round(skew_seconds)}
        )


class MalformedCallback(AppError):
    status_code = 400
    code = "malformed_callback"

    def __init__(self, channel: str, reason: str) -> None:
        super().__init__(f"回调内容无法解析：{reason}", extra={"channel": channel, "reason": reason})


class CallbackTooLarge(TooLarge):
    code = "callback_too_large"

    def __init__(self, channel: str, size: int, limit: int) -> None:
        super().__init__("回调内容过大", extra={"channel": channel, "size": size, "limit": limit})


class ReplayCacheFull(TooManyRequests):
    """The in-memory cache would have to forget an unexpired key to take a new one.

    Forgetting would let that key's replay through, so we refuse instead: the platform retries later,
    by which time entries have expired. A 429 is honest about it being load, not the request.
    """

    code = "replay_cache_full"

    def __init__(self, retry_after: int) -> None:
        super().__init__("回调过多，请稍后重试", retry_after=retry_after)


# --- outcome -----------------------------------------------------------------------------------


class Disposition(StrEnum):
    PROCESS = "process"
    # Seen before within the replay window: answer as if it worked, do nothing.
    DUPLICATE = "duplicate"


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """A callback that passed every check; whether to act on it is :attr:`disposition`."""

    disposition: Disposition
    item: T
    # Every replay-cache key this callback took; release them all if processing fails.
    dedup_keys: tuple[str, ...]

    @property
    def should_process(self) -> bool:
        return self.disposition is Disposition.PROCESS


class MessageKind(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    VOICE = "voice"
    EVENT = "event"
    # Video, location, links, files…: still a contact from a taxpayer, so the inbox shows it
    # ("unsupported message type") rather than the platform retrying a 400 forever.
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message from a person on some channel, as the inbox will store it."""

    channel: str
    sender_id: str
    msg_id: str
    kind: MessageKind
    text: str | None
    media_id: str | None
    at: dt.datetime
    raw: Mapping[str, Any]
    # Where a reply goes when the channel gives a per-conversation address (DingTalk).
    conversation_id: str | None = None
    reply_url: str | None = None
    reply_url_expires: dt.datetime | None = None
    # Only for kind EVENT: subscribe, unsubscribe, CLICK, SCAN…
    event: str | None = None


# --- checks ------------------------------------------------------------------------------------


def signatures_match(expected: str | bytes, given: str | bytes | None) -> bool:
    """Constant time, so a forger cannot learn the signature a byte at a time from response times."""
    if given is None:
        return False
    a = expected.encode() if isinstance(expected, str) else expected
    b = given.encode() if isinstance(given, str) else given
    return hmac.compare_digest(a, b)


def require_signature(channel: str, expected: str | bytes, given: str | bytes | None) -> None:
    if not signatures_match(expected, given):
        log.warning("callback rejected: bad signature", extra={"channel": channel})
        raise BadSignature(channel)


def check_size(channel: str, body: bytes, limit: int = DEFAULT_MAX_BODY) -> None:
    if len(body) > limit:
        log.warning("callback rejected: %d bytes over %d", len(body), limit, extra={"channel": channel})
        raise CallbackTooLarge(channel, len(body), limit)


def parse_epoch(channel: str, value: str | None, *, milliseconds: bool = False) -> dt.datetime:
    """A platform's timestamp header or query value as an aware time."""
    if value is None or not value.strip().isdigit():
        raise MalformedCallback(channel, "timestamp missing or not a number")
    number = int(value.strip())
    seconds = number / 1000 if milliseconds else number
    try:
        return dt.datetime.fromtimestamp(seconds, SHANGHAI)
    except (OverflowError, OSError, ValueError):
        raise MalformedCallback(channel, "timestamp out of range") from None


def check_window(
    channel: str, sent_at: dt.datetime, clock: Clock, window: dt.timedelta = DEFAULT_WINDOW
) -> None:
    """Both directions: a timestamp far in the future is as suspect as one far in the past."""
    skew = (clock.now() - sent_at).total_seconds()
    if abs(skew) > window.total_seconds():
        log.warning("callback rejected: timestamp %+.0f s off", skew, extra={"channel": channel})
        raise StaleTimestamp(channel, skew)


def replay_ttl(window: dt.timedelta) -> int:
    """How long a key must be remembered so nothing accepted once is accepted again.

    A request stamped t is accepted from t - window to t + window by our clock, so a key kept 2 ×
    window from its first acceptance outlives every moment the same request could pass the window
    check again. The extra minute covers the platform's retries, which carry later timestamps.
    """
    return int(2 * window.total_seconds()) + 60


def dedupe(replay: ReplayCache, keys: tuple[str, ...], ttl: int, item: T, *, channel: str) -> Outcome[T]:
    """Take every key; a callback is new only if none of them was seen.

    All keys are taken even after a hit so that a replay cannot be used to free one of them.
    """
    seen = [key for key in keys if replay.seen_before(key, ttl)]
    if seen:
        log.info("callback acknowledged as a duplicate", extra={"channel": channel, "dedup_key": seen[0]})
        return Outcome(Disposition.DUPLICATE, item, keys)
    return Outcome(Disposition.PROCESS, item, keys)


# --- replay caches -----------------------------------------------------------------------------


class ReplayCache(Protocol):
    def seen_before(self, key: str, ttl: int) -> bool:
        """Remember ``key`` for ``ttl`` seconds; True if it was already remembered.

        Atomic: of any number of concurrent callers with one key, exactly one gets False.
        """
        ...

    def release(self, key: str) -> None:
        """Forget ``key``: the caller that got False failed before the work was saved.

        Without this, a callback whose processing crashed would be acknowledged as a duplicate on
        the platform's retry and lost.
        """
        ...


@dataclass
class MemoryReplayCache:
    """One process's replay cache: for tests, development, and a single-worker deployment.

    Several workers need :class:`RedisReplayCache`, or each would accept the same replay once.
    """

    max_entries: int = 100_000
    monotonic: Callable[[], float] = time.monotonic
    _expiry: OrderedDict[str, float] = field(default_factory=OrderedDict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def seen_before(self, key: str, ttl: int) -> bool:
        with self._lock:
            now = self.monotonic()
            self._drop_expired(now)
            expires = self._expiry.get(key)
            if expires is not None and expires > now:
                return True
            if len(self._expiry) >= self.max_entries:
                self._drop_expired(now, everywhere=True)
            if len(self._expiry) >= self.max_entries:
                oldest = next(iter(self._expiry.values()))
                raise ReplayCacheFull(retry_after=max(1, int(oldest - now) + 1))
            # A channel uses one ttl, so insertion order is nearly expiry order and the cheap sweep
            # can stop at the first live entry; the full sweep above catches mixed ttls.
            self._expiry[key] = now + ttl
            self._expiry.move_to_end(key)
            return False

    def release(self, key: str) -> None:
        with self._lock:
            self._expiry.pop(key, None)

    def _drop_expired(self, now: float, *, everywhere: bool = False) -> None:
        if everywhere:
            for key in [k for k, expires in self._expiry.items() if expires <= now]:
                del self._expiry[key]
            return
        while self._expiry:
            key, expires = next(iter(self._expiry.items()))
            if expires > now:
                break
            del self._expiry[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)


class _RedisClient(Protocol):
    def set(self, name: str, value: str, *, nx: bool, ex: int) -> Any: ...

    def delete(self, *names: str) -> Any: ...


class RedisReplayCache:
    """Shared by every worker: ``SET key 1 NX EX ttl`` is one atomic command, first writer wins."""

    def __init__(self, client: _RedisClient, *, prefix: str = "zhishui:replay:") -> None:
        self._client = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "zhishui:replay:") -> RedisReplayCache:
        import redis

        return cls(redis.Redis.from_url(url), prefix=prefix)

    def seen_before(self, key: str, ttl: int) -> bool:
        # redis-py returns True when the key was set and None when NX found it already there.
        created = self._client.set(self._prefix + key, "1", nx=True, ex=max(1, ttl))
        return not created

    def release(self, key: str) -> None:
        self._client.delete(self._prefix + key)
