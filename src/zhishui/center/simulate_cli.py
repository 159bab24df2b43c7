"""`zhishui center simulate`: demo traffic to a running server's channel endpoints."""

from __future__ import annotations

import threading
import time

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from zhishui.config import Settings, get_settings

center_cli = typer.Typer(help="The smart tax center (智税中心).", no_args_is_help=True)
console = Console()


def _table(sent: dict[str, int], refused: dict[str, int]) -> Table:
    table = Table(title="模拟渠道流量")
    for column in ("渠道", "已接收", "被拒绝"):
        table.add_column(column)
    for channel in ("wechat", "dingtalk", "phone", "web"):
        table.add_row(channel, str(sent.get(channel, 0)), str(refused.get(channel, 0)))
    return table


def wait_for_server(url: str, *, timeout: float = 60) -> bool:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def start_background(settings: Settings, *, rate: float, url: str) -> threading.Thread:
    """The demo's live inbox: traffic until the process ends, once the server answers."""
    from zhishui.center.simulator import Simulator

    def run() -> None:
        if wait_for_server(url):
            Simulator(url, settings, rate).run(minutes=7 * 24 * 60)

    thread = threading.Thread(target=run, name="channel-simulator", daemon=True)
    thread.start()
    return thread


@center_cli.command("simulate")
def simulate(
    minutes: float = typer.Option(5.0, "--minutes", min=0.1, help="How long to send traffic."),
    rate: float = typer.Option(6.0, "--rate", min=0.1, help="New contacts per minute (Poisson)."),
    url: str = typer.Option("", "--url", help="The server; default http://ZHISHUI_HOST:ZHISHUI_PORT."),
    seed: int | None = typer.Option(None, "--seed", help="Seed for a repeatable run."),
) -> None:
    """Post realistic, correctly signed WeChat, DingTalk, 12366 and web-help traffic to a running server."""
    from zhishui.center.simulator import Simulator

    settings = get_settings()
    if not settings.is_development:
        console.print("[red]the channel simulator signs with the development secrets: development only[/red]")
        raise typer.Exit(2)
    target = (url or f"http://{settings.host}:{settings.port}").rstrip("/")
    if not wait_for_server(target, timeout=5):
        console.print(f"[red]no server answers at {target}[/red]")
        raise typer.Exit(1)
    simulator = Simulator(target, settings, rate, seed=seed)
    with Live(_table({}, {}), console=console, refresh_per_second=2) as live:
        tally = simulator.run(minutes, on_tick=lambda t: live.update(_table(dict(t.sent), dict(t.refused))))
        live.update(_table(dict(tally.sent), dict(tally.refused)))
    if tally.refused:
        console.print(
            "[yellow]some posts were refused: does the server use the same channel settings?[/yellow]"
        )
