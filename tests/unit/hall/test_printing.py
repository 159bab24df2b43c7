"""Paper tickets: the ESC/POS bytes of a ticket, the printer setting, printing only after commit."""

from __future__ import annotations

import datetime as dt
import socket
import threading

import pytest
from escpos.printer import Dummy
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from zhishui.hall.printing import (
    CHINESE_MODE,
    NetworkEscposPrinter,
    NullPrinter,
    TicketSlip,
    parse_address,
    print_after_commit,
    printer_for,
    render_slip,
)

SLIP = TicketSlip(
    hall_name="甲县第一办税服务厅",
    code="C007",
    queue_name="登记注销",
    ahead=3,
    issued_at=dt.datetime(2026, 11, 30, 1, 30, tzinfo=dt.UTC),
    url="http://hall.example/t/abc123",
    matters=("注销税务登记",),
)


def _bytes(slip: TicketSlip = SLIP) -> bytes:
    printer = Dummy()
    render_slip(printer, slip)
    return bytes(printer.output)


def test_a_ticket_starts_by_resetting_the_printer_into_chinese_mode() -> None:
    assert _bytes().startswith(b"\x1b@" + CHINESE_MODE)


def test_chinese_text_is_sent_as_gb18030() -> None:
    out = _bytes()
    for text_ in (
        "甲县第一办税服务厅",
        "登记注销",
        "事项：注销税务登记",
        "您前面还有 3 位",
        "扫码查看叫号进度",
    ):
        assert text_.encode("gb18030") in out, text_


def test_the_code_is_printed_four_times_the_normal_size() -> None:
    out = _bytes()
    size_4x4 = b"\x1d!\x33"  # GS ! n: width and height multipliers of 4
    assert size_4x4 + b"\x1bE\x01" in out and b"C007\n" in out
    assert out.index(size_4x4) < out.index(b"C007\n")


def test_the_qr_code_holds_the_ticket_page_link_and_the_paper_is_cut() -> None:
    out = _bytes()
    store = b"\x1d(k" + (len(SLIP.url) + 3).to_bytes(2, "little") + b"1P0" + SLIP.url.encode()
    assert store in out, "GS ( k: store the link in the printer's QR symbol"
    assert b"\x1d(k\x03\x001Q0" in out, "GS ( k: print the stored symbol"
    assert out.endswith(b"\x1dV\x00"), "full cut at the end"


def test_the_printer_setting_is_empty_or_host_and_port() -> None:
    assert parse_address("") is None
    assert parse_address(" 10.1.2.3:9100 ") == ("10.1.2.3", 9100)
    assert parse_address("printer.hall") == ("printer.hall", 9100)
    assert parse_address("[::1]:9101") == ("::1", 9101)
    for bad in ("host:port", ":9100", "host:70000"):
        with pytest.raises(ValueError):
            parse_address(bad)
    assert isinstance(printer_for(""), NullPrinter)
    assert isinstance(printer_for("host:port"), NullPrinter), "a bad setting prints nothing, and logs why"
    assert isinstance(printer_for("127.0.0.1:9100"), NetworkEscposPrinter)


def test_a_network_printer_receives_exactly_the_ticket_bytes() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(5)
    received = bytearray()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.settimeout(5)
            while chunk := conn.recv(65536):
                received.extend(chunk)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    NetworkEscposPrinter("127.0.0.1", server.getsockname()[1], timeout=5).print_ticket(SLIP)
    thread.join(timeout=5)
    server.close()
    assert bytes(received) == _bytes()


class _Recorder:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.slips: list[TicketSlip] = []

    def print_ticket(self, slip: TicketSlip) -> None:
        self.slips.append(slip)
        self.done.set()


def test_nothing_is_printed_before_commit_or_after_a_rollback() -> None:
    engine = create_engine("sqlite://")
    printer = _Recorder()
    with Session(engine) as session:
        session.execute(text("SELECT 1"))
        print_after_commit(session, printer, SLIP)
        assert not printer.done.wait(0.2), "not before the commit"
        session.rollback()
        assert not printer.done.wait(0.2), "not after a rollback"
        session.execute(text("SELECT 1"))
        print_after_commit(session, printer, SLIP)
        session.commit()
    assert printer.done.wait(5) and printer.slips == [SLIP]


def test_a_failing_printer_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def print_ticket(self, slip: TicketSlip) -> None:
            raise OSError("paper jam")

    engine = create_engine("sqlite://")
    with Session(engine) as session:
        session.execute(text("SELECT 1"))
        print_after_commit(session, Broken(), SLIP)
        session.commit()  # must not raise
    for _ in range(50):
        if any("printing ticket C007 failed" in r.message for r in caplog.records):
            break
        threading.Event().wait(0.05)
    assert any("printing ticket C007 failed" in r.message for r in caplog.records)
