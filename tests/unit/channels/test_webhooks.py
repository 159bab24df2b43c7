"""The checks every channel shares: constant-time compare, the window, and the replay caches."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from zhishui.channels.webhooks import (
    BadSignature,
    Disposition,
    MalformedCallback,
    MemoryReplayCache,
    ReplayCacheFull,
    StaleTimestamp,
    check_window,
    dedupe,
    parse_epoch,
    replay_ttl,
    require_signature,
    signatures_match,
)
from zhishui.kit.clock import FrozenClock


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_signatures_match_only_when_equal_and_present() -> None:
    assert signatures_match("abc", "abc")
    assert signatures_match(b"abc", "abc")
    assert not signatures_match("abc", "abd")
    assert not signatures_match("abc", "ab")
    assert not signatures_match("abc", None)


def test_a_bad_signature_is_a_403_naming_the_channel() -> None:
    with pytest.raises(BadSignature) as caught:
        require_signature("wechat", "abc", "xyz")
    assert caught.value.status_code == 403
    assert caught.value.code == "bad_signature"
    assert caught.value.extra == {"channel": "wechat"}


def test_the_window_holds_both_ways_and_stale_is_a_403(clock: FrozenClock) -> None:
    window = dt.timedelta(seconds=300)
    check_window("cti", clock.now() - window, clock, window)
    check_window("cti", clock.now() + window, clock, window)
    for off in (dt.timedelta(seconds=301), dt.timedelta(seconds=-301)):
        with pytest.raises(StaleTimestamp) as caught:
            check_window("cti", clock.now() - off, clock, window)
        assert caught.value.status_code == 403
        assert caught.value.code == "stale_timestamp"


@pytest.mark.parametrize("value", [None, "", "abc", "-5", "1.5", "9" * 30])
def test_a_timestamp_that_is_not_a_sane_number_is_a_400(value: str | None) -> None:
    with pytest.raises(MalformedCallback) as caught:
        parse_epoch("wechat", value)
    assert caught.value.status_code == 400


def test_timestamps_in_milliseconds_are_read_as_such() -> None:
    assert parse_epoch("dingtalk", "1796002200000", milliseconds=True) == parse_epoch(
        "dingtalk", "1796002200"
    )


def test_replay_keys_outlive_every_moment_the_window_could_accept_the_same_request() -> None:
    assert replay_ttl(dt.timedelta(seconds=300)) >= 600


def test_the_memory_cache_lets_a_key_through_once_until_it_expires() -> None:
    now = FakeMonotonic()
    cache = MemoryReplayCache(monotonic=now)
    assert cache.seen_before("wechat:msg:1", 60) is False
    assert cache.seen_before("wechat:msg:1", 60) is True
    assert cache.seen_before("wechat:msg:2", 60) is False
    now.now += 61
    assert cache.seen_before("wechat:msg:1", 60) is False
    assert len(cache) == 1


def test_a_released_key_is_new_again_so_a_failed_callback_is_processed_on_retry() -> None:
    cache = MemoryReplayCache()
    assert cache.seen_before("k", 60) is False
    cache.release("k")
    assert cache.seen_before("k", 60) is False


def test_a_full_memory_cache_refuses_rather_than_forgetting_a_live_key() -> None:
    now = FakeMonotonic()
    cache = MemoryReplayCache(max_entries=2, monotonic=now)
    cache.seen_before("a", 60)
    now.now += 10
    cache.seen_before("b", 60)
    with pytest.raises(ReplayCacheFull) as caught:
        cache.seen_before("c", 60)
    assert caught.value.status_code == 429
    assert caught.value.retry_after == 51
    assert cache.seen_before("a", 60) is True
    now.now += 51
    assert cache.seen_before("c", 60) is False


def test_a_full_cache_with_mixed_ttls_finds_expired_keys_behind_live_ones() -> None:
    now = FakeMonotonic()
    cache = MemoryReplayCache(max_entries=2, monotonic=now)
    cache.seen_before("long", 600)
    cache.seen_before("short", 5)
    now.now += 6
    assert cache.seen_before("new", 60) is False


def test_many_threads_one_key_exactly_one_processes() -> None:
    cache = MemoryReplayCache()
    threads = 64
    start = threading.Barrier(threads)
    results: list[bool] = []
    results_lock = threading.Lock()

    def attempt() -> None:
        start.wait()
        seen = cache.seen_before("wechat:msg:24652037218395765", 660)
        with results_lock:
            results.append(seen)

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert results.count(False) == 1
    assert results.count(True) == threads - 1


def test_dedupe_takes_every_key_and_any_hit_makes_a_duplicate() -> None:
    cache = MemoryReplayCache()
    first = dedupe(cache, ("msg:1", "nonce:a"), 60, "m", channel="wechat")
    assert first.disposition is Disposition.PROCESS and first.should_process
    same_nonce = dedupe(cache, ("msg:2", "nonce:a"), 60, "m", channel="wechat")
    assert same_nonce.disposition is Disposition.DUPLICATE and not same_nonce.should_process
    # msg:2 was taken even though it arrived under a used nonce, so it cannot be slipped in later.
    assert cache.seen_before("msg:2", 60) is True
