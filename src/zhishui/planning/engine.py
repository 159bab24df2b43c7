"""The simulator's engine: an event loop, seeded random streams, and a lean loop for plain queues.

Time is a float in minutes. Events are `(time, seq, action, arg)` on a binary heap; `seq` breaks ties
in scheduling order, so a run is a pure function of its seed.

Common random numbers: every source of randomness (arrivals, service times, patience, routing,
lateness …) draws from its own stream, seeded from the run's seed and the stream's name. Two scenarios
run with the same seed therefore see the same arrivals and the same customers, whatever else differs,
and their difference is measured with far less noise than two independent runs would give.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Action = Callable[[Any], None]


class EventLoop:
    """A discrete-event loop: schedule actions at times, run them in time order."""

    __slots__ = ("_heap", "_seq", "now")

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self._heap: list[tuple[float, int, Action, Any]] = []
        self._seq = 0

    def at(self, time: float, action: Action, arg: Any = None) -> None:
        if time < self.now:
            raise ValueError(f"cannot schedule in the past: {time} < {self.now}")
        heapq.heappush(self._heap, (time, self._seq, action, arg))
        self._seq += 1

    def after(self, delay: float, action: Action, arg: Any = None) -> None:
        self.at(self.now + delay, action, arg)

    def run(self, until: float = math.inf) -> None:
        """Run events up to and including `until` (all of them by default)."""
        heap = self._heap
        pop = heapq.heappop
        while heap and heap[0][0] <= until:
            time, _, action, arg = pop(heap)
            self.now = time
            action(arg)
        if until != math.inf:
            self.now = max(self.now, until)

    @property
    def pending(self) -> int:
        return len(self._heap)


class Streams:
    """Independent random streams, one per named source, all derived from one seed.

    `random.Random` seeded with a string hashes it (SHA-512), so the streams do not depend on
    PYTHONHASHSEED and are the same on every machine.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._streams: dict[str, random.Random] = {}

    def __call__(self, name: str) -> random.Random:
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = random.Random(f"zhishui-sim:{self.seed}:{name}")
        return stream


# --- the plain multi-server queue (M/M/N and M/M/N+M) ------------------------------------------------


@dataclass(frozen=True)
class QueueRun:
    """Tallies of one run of a plain queue, over the customers after the warm-up."""

    customers: int
    waited: int  # found every server busy
    abandoned: int
    total_wait: float  # minutes in the queue, abandoners up to the moment they left
    busy: float  # server-minutes of service started by counted customers

    @property
    def probability_wait(self) -> float:
        return self.waited / self.customers if self.customers else 0.0

    @property
    def probability_abandon(self) -> float:
        return self.abandoned / self.customers if self.customers else 0.0

    @property
    def mean_wait(self) -> float:
        """Mean wait over all arrivals (served or not), in the run's time unit."""
        return self.total_wait / self.customers if self.customers else 0.0


def plain_queue(
    *,
    servers: int,
    arrival_rate: float,
    mean_service: float,
    customers: int,
    seed: int,
    mean_patience: float | None = None,
    warmup: int = 0,
) -> QueueRun:
    """M/M/N (or M/M/N+M with exponential patience), first come first served: the fast path.

    Under FCFS a customer's start depends only on the customers before them, so there is no need for
    departure events: a heap holds the time each server next becomes free, and each arrival takes the
    earliest (or waits for it, or abandons when that is further away than its patience, leaving the
    servers as they were). One heap operation per served customer, no event objects; the draws come
    from separate streams exactly as in the event loop, so both give the same answer for a seed.
    """
    if servers < 1:
        raise ValueError("servers must be at least 1")
    if arrival_rate <= 0 or mean_service <= 0:
        raise ValueError("arrival_rate and mean_service must be positive")
    if mean_patience is not None and mean_patience <= 0:
        raise ValueError("mean_patience must be positive")
    streams = Streams(seed)
    free = [0.0] * servers  # a heap of the times servers next become free
    state = _Draws(streams, arrival_rate, mean_service, mean_patience)
    clock = 0.0
    # The warm-up runs the same loop and throws its tallies away, so the counted loop stays branch-free.
    if mean_patience is None:
        clock, *_ = _patient(state, free, clock, warmup)
        clock, waited, total_wait, busy = _patient(state, free, clock, customers)
        abandoned = 0
    else:
        clock, *_ = _impatient(state, free, clock, warmup)
        clock, waited, abandoned, total_wait, busy = _impatient(state, free, clock, customers)
    return QueueRun(customers, waited, abandoned, total_wait, busy)


@dataclass(frozen=True)
class _Draws:
    streams: Streams
    arrival_rate: float
    mean_service: float
    mean_patience: float | None


def _patient(d: _Draws, free: list[float], clock: float, n: int) -> tuple[float, int, float, float]:
    arrivals = d.streams("arrivals").random
    services = d.streams("service").random
    log = math.log
    replace = heapq.heapreplace
    gap_mean = 1.0 / d.arrival_rate
    mean_service = d.mean_service
    waited = 0
    total_wait = busy = 0.0
    for _ in range(n):
        clock -= log(1.0 - arrivals()) * gap_mean
        service = -log(1.0 - services()) * mean_service
        first_free = free[0]
        if first_free <= clock:
            replace(free, clock + service)
        else:
            waited += 1
            total_wait += first_free - clock
            replace(free, first_free + service)
        busy += service
    return clock, waited, total_wait, busy


def _impatient(d: _Draws, free: list[float], clock: float, n: int) -> tuple[float, int, int, float, float]:
    arrivals = d.streams("arrivals").random
    services = d.streams("service").random
    patience_draw = d.streams("patience").random
    log = math.log
    replace = heapq.heapreplace
    gap_mean = 1.0 / d.arrival_rate
    mean_service = d.mean_service
    patience_mean = d.mean_patience or 0.0
    waited = abandoned = 0
    total_wait = busy = 0.0
    for _ in range(n):
        clock -= log(1.0 - arrivals()) * gap_mean
        service = -log(1.0 - services()) * mean_service
        # Every customer draws a patience, waiting or not, to keep the streams in step with the
        # event loop's (and with another scenario's).
        patience = -log(1.0 - patience_draw()) * patience_mean
        first_free = free[0]
        if first_free <= clock:
            replace(free, clock + service)
            busy += service
            continue
        waited += 1
        wait = first_free - clock
        if wait > patience:
            abandoned += 1
            total_wait += patience
            continue
        total_wait += wait
        replace(free, first_free + service)
        busy += service
    return clock, waited, abandoned, total_wait, busy


def plain_queue_events(
    *,
    servers: int,
    arrival_rate: float,
    mean_service: float,
    customers: int,
    seed: int,
    mean_patience: float | None = None,
    warmup: int = 0,
) -> QueueRun:
    """The same model as `plain_queue`, run on the general `EventLoop` with arrival, departure and
    abandonment events (the way the hall model runs). A check of the loop, and its speed on record."""
    streams = Streams(seed)
    arrivals = streams("arrivals").random
    services = streams("service").random
    patience_draw = streams("patience").random
    log = math.log
    loop = EventLoop()
    line: list[list[Any]] = []  # [arrival, service, counted, gone] in arrival order
    head = 0
    idle = servers
    tally: dict[str, float] = {"waited": 0, "abandoned": 0, "wait": 0.0, "busy": 0.0}
    total = customers + warmup
    made = 0

    def start(entry: list[Any]) -> None:
        nonlocal idle
        idle -= 1
        if entry[2]:
            tally["wait"] += loop.now - entry[0]
            tally["busy"] += entry[1]
        loop.after(entry[1], depart)

    def depart(_: Any) -> None:
        nonlocal idle, head
        idle += 1
        while head < len(line):
            entry = line[head]
            head += 1
            if not entry[3]:
                entry[3] = True
                start(entry)
                break
        if head > 4096:
            del line[:head]
            head = 0

    def abandon(entry: list[Any]) -> None:
        if not entry[3]:
            entry[3] = True
            if entry[2]:
                tally["abandoned"] += 1
                tally["wait"] += loop.now - entry[0]

    def arrive(_: Any) -> None:
        nonlocal made
        counted = made >= warmup
        made += 1
        entry = [loop.now, -log(1.0 - services()) * mean_service, counted, False]
        patience = -log(1.0 - patience_draw()) * mean_patience if mean_patience else None
        if idle > 0:
            entry[3] = True
            start(entry)
        else:
            if counted:
                tally["waited"] += 1
            line.append(entry)
            if patience is not None:
                loop.after(patience, abandon, entry)
        if made < total:
            loop.after(-log(1.0 - arrivals()) / arrival_rate, arrive)

    loop.after(-log(1.0 - arrivals()) / arrival_rate, arrive)
    loop.run()
    return QueueRun(customers, int(tally["waited"]), int(tally["abandoned"]), tally["wait"], tally["busy"])
