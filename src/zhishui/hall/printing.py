"""Paper tickets: an ESC/POS thermal printer on the network, or none.

The kiosk prints after the ticket is committed (`print_after_commit`), on a background thread: a slow
or switched-off printer never holds up the screen and never loses a ticket, which is already in the
database and on the screen (with its QR code and a browser print button). Failures are logged.

`ZHISHUI_TICKET_PRINTER` chooses the printer: empty for none, `host:port` (usually port 9100) for a
network printer. Chinese text is sent as GB18030 after switching the printer to Chinese character
mode (FS &), which is what the common Chinese thermal printers expect; the QR code is printed with the
printer's own QR command (GS ( k), which 80 mm printers of the last decade support.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy.orm import Session

from zhishui.kit.clock import SHANGHAI
from zhishui.kit.events import on_commit

log = logging.getLogger(__name__)

CHINESE_MODE = b"\x1c\x26"  # FS &: select Chinese (double-byte) character mode
DEFAULT_PORT = 9100


@dataclass(frozen=True)
class TicketSlip:
    """What a paper ticket says."""

    hall_name: str
    code: str
    queue_name: str
    ahead: int
    issued_at: dt.datetime
    url: str  # the taxpayer's ticket page, as a QR code
    matters: tuple[str, ...] = ()


class TicketPrinter(Protocol):
    def print_ticket(self, slip: TicketSlip) -> None: ...


class NullPrinter:
    """No printer: the screen shows the ticket and offers the browser's print dialog."""

    def print_ticket(self, slip: TicketSlip) -> None:
        return None


def render_slip(printer: Any, slip: TicketSlip) -> None:
    """Write a ticket to any python-escpos printer (a network printer, or `Dummy` in tests)."""
    printer.hw("INIT")
    printer._raw(CHINESE_MODE)
    printer.set(align="center", normal_textsize=True)
    printer.textln(slip.hall_name)
    printer.textln("-" * 32)
    printer.set(align="center", bold=True, custom_size=True, width=4, height=4)
    printer.textln(slip.code)
    printer.set(align="center", bold=False, normal_textsize=True)
    printer.textln(f"{slip.queue_name}")
    for name in slip.matters[:3]:
        printer.textln(f"事项：{name}")
    printer.set(align="center", double_height=True, double_width=False)
    printer.textln(f"您前面还有 {slip.ahead} 位")
    printer.set(align="center", normal_textsize=True)
    printer.qr(slip.url, size=6, native=True)  # centred by the alignment set above
    printer.textln("扫码查看叫号进度")
    printer.textln("本厅不广播叫号，请留意短信与大屏")
    printer.textln(slip.issued_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"))
    printer.cut()


class NetworkEscposPrinter:
    """A thermal printer listening on a TCP port (raw ESC/POS, usually port 9100)."""

    def __init__(self, host: str, port: int = DEFAULT_PORT, *, timeout: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._lock = threading.Lock()  # one ticket at a time on the wire

    def print_ticket(self, slip: TicketSlip) -> None:
        from escpos.printer import Network

        with self._lock:
            printer = Network(self.host, self.port, timeout=self.timeout)
            printer.open()
            try:
                render_slip(printer, slip)
            finally:
                printer.close()


def parse_address(value: str) -> tuple[str, int] | None:
    """`host:port` (or a bare host, port 9100) from the setting; None when empty."""
    value = value.strip()
    if not value:
        return None
    host, sep, port_text = value.rpartition(":")
    if not sep:
        return value, DEFAULT_PORT
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"ZHISHUI_TICKET_PRINTER should be host:port, not {value!r}")
    return host.strip("[]"), int(port_text)


@lru_cache(maxsize=8)
def printer_for(setting: str) -> TicketPrinter:
    """The printer the setting names (one instance per setting, so its lock is shared)."""
    try:
        address = parse_address(setting)
    except ValueError:
        log.exception("ticket printer setting ignored")
        return NullPrinter()
    if address is None:
        return NullPrinter()
    return NetworkEscposPrinter(*address)


def _print_safely(printer: TicketPrinter, slip: TicketSlip) -> None:
    try:
        printer.print_ticket(slip)
    except Exception:  # the ticket is committed and on screen; paper is a convenience
        log.exception("printing ticket %s failed", slip.code)


def print_after_commit(session: Session, printer: TicketPrinter, slip: TicketSlip) -> None:
    """Print once the ticket is committed; a rolled-back transaction prints nothing."""
    if isinstance(printer, NullPrinter):
        return

    def start() -> None:
        threading.Thread(
            target=_print_safely, args=(printer, slip), name=f"print-{slip.code}", daemon=True
        ).start()

    on_commit(session, start)
