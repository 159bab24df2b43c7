"""Background work of the hall: the auto-mode loop.

Every `interval` seconds, for each hall that enabled auto mode, the mode policy looks at the queues
and switches signed-in workstations between back-office work and front service
(`stations.apply_auto_mode`). Each hall runs in its own transaction, so one hall's failure does not
hold up the others; the switch events reach consoles and boards through the broker after commit.

    loop = AutoModeLoop(session_factory, clock, broker)
    threading.Thread(target=loop.run_forever, args=(stop, 30.0), name="hall-auto-mode", daemon=True)
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from zhishui.hall import stations
from zhishui.hall.repository import HallScreensRepository
from zhishui.kit.clock import Clock
from zhishui.kit.db import transaction
from zhishui.kit.events import Broker

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_SECONDS = 30.0


@dataclass(frozen=True)
class HallSwitch:
    hall_id: int
    station: str
    to: str
    reason: str


class AutoModeLoop:
    def __init__(
        self, session_factory: sessionmaker[Session], clock: Clock, broker: Broker | None = None
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.broker = broker

    def _hall_ids(self) -> list[int]:
        with self.session_factory() as session:
            return HallScreensRepository(session).auto_mode_hall_ids()

    def run_hall(self, hall_id: int) -> list[HallSwitch]:
        """One hall, one transaction: the switches its policy asks for now."""
        with transaction(self.session_factory) as session:
            if self.broker is not None:
                session.info["broker"] = self.broker
            now = self.clock.now()
            session.info["clock"] = self.clock
            if not HallScreensRepository(session).try_lock_hall(hall_id):
                return []  # another server process is deciding for this hall right now
            done = stations.apply_auto_mode(session, hall_id, now)
        for switch in done:
            log.info(
                "hall %s: %s switched to %s (%s)", hall_id, switch.station, switch.to.value, switch.reason
            )
        return [HallSwitch(hall_id, s.station, s.to.value, s.reason) for s in done]

    def run_once(self) -> list[HallSwitch]:
        switched: list[HallSwitch] = []
        for hall_id in self._hall_ids():
            try:
                switched.extend(self.run_hall(hall_id))
            except Exception:  # rolled back; this hall is tried again on the next run
                log.exception("auto mode failed for hall %s", hall_id)
        return switched

    def run_forever(self, stop: threading.Event, interval: float = DEFAULT_INTERVAL_SECONDS) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("auto-mode loop failed; retrying")
            stop.wait(interval)
