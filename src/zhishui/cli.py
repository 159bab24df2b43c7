"""The `zhishui` command."""

from __future__ import annotations

import threading
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from zhishui.config import Settings, get_settings
from zhishui.kit.db import create_db_engine, is_sqlite, make_session_factory, transaction

app = typer.Typer(help="智税 zhishui: taxpayer service for a tax bureau.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema and data.", no_args_is_help=True)
audit_app = typer.Typer(help="The append-only audit log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
console = Console()


def _register_domain_commands() -> None:
    from zhishui.catalog.cli import catalog_cli, triage_command
    from zhishui.center.knowledge.cli import kb_cli
    from zhishui.center.simulate_cli import center_cli
    from zhishui.identity.cli import staff_cli
    from zhishui.insight.analytics.cli import insight_cli
    from zhishui.planning.simulate_cli import simulate_cli
    from zhishui.planning.staffing_cli import staffing_cli
    from zhishui.workdays.cli import calendar_cli

    app.add_typer(catalog_cli, name="catalog", help="The matter catalog (办税事项清单).")
    app.add_typer(kb_cli, name="kb", help="The center's knowledge base (知识库).")
    app.add_typer(center_cli, name="center", help="The smart tax center (智税中心): demo channel traffic.")
    app.add_typer(staff_cli, name="staff", help="Staff accounts.")
    app.add_typer(
        insight_cli, name="insight", help="Insight (数据分析): history snapshots and heavy analyses."
    )
    app.add_typer(calendar_cli, name="calendar", help="The working-day calendar (工作日历).")
    app.add_typer(
        simulate_cli, name="simulate", help="Simulate the hall (仿真): scenarios, comparisons, calibration."
    )
    app.add_typer(staffing_cli, name="staffing", help="Staffing (排班测算): Erlang C and Erlang A.")
    app.command("triage", help="Find the matter and the route for what a taxpayer says.")(triage_command)


_register_domain_commands()


def _serve(settings: Settings) -> None:
    import uvicorn

    from zhishui.app import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


@app.command()
def serve() -> None:
    """Serve the web app (and, by default, the outbox worker) on ZHISHUI_HOST:ZHISHUI_PORT."""
    _serve(get_settings())


@app.command()
def worker() -> None:
    """Run the outbox worker and the periodic loops (when the web processes run with
    ZHISHUI_RUN_WORKER=false): the same list `zhishui serve` runs inside the app."""
    from zhishui.app import default_providers
    from zhishui.background import Background, default_work_notice, outbox_handlers
    from zhishui.booking.prereview_storage import store_for
    from zhishui.channels.senders import default_senders
    from zhishui.kit.clock import SystemClock
    from zhishui.kit.events import make_broker
    from zhishui.notify.outbox import OutboxWorker

    settings = get_settings()
    settings.check_safe()
    factory = make_session_factory(create_db_engine(settings.database_url))
    clock = SystemClock()
    broker = make_broker(settings.redis_url)
    providers = default_providers()
    handlers = outbox_handlers(
        settings,
        factory,
        clock,
        broker,
        providers=providers,
        senders=default_senders(settings, providers),
        work_notice=default_work_notice(settings),
    )
    outbox = OutboxWorker(factory, handlers, clock)
    stop = threading.Event()
    threads = Background(settings, factory, clock, broker, store_for(settings), outbox).start(stop)
    console.print("worker running (outbox and periodic loops); Ctrl-C to stop")
    try:
        while any(t.is_alive() for t in threads):
            stop.wait(1)
    except KeyboardInterrupt:
        stop.set()
        for t in threads:
            t.join(timeout=5)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Bring the database schema up to date (Alembic)."""
    from zhishui.kit.migrate import upgrade

    settings = get_settings()
    _ensure_sqlite_dir(settings.database_url)
    upgrade(settings.database_url, revision)
    from zhishui.identity.service import ensure_default_grants
    from zhishui.kit.clock import SystemClock
    from zhishui.workdays.service import ensure_calendar

    with transaction(make_session_factory(create_db_engine(settings.database_url))) as session:
        added = ensure_default_grants(session)
        years = ensure_calendar(session, SystemClock().now())
    console.print(
        f"[green]schema at {revision}[/green]; {added} default grants added; "
        f"working-day calendar pre-filled for {len(years)} years"
    )


@db_app.command("seed-demo")
def db_seed_demo() -> None:
    """Load the demo county (示例县税务局) into the configured database. Development only."""
    settings = get_settings()
    if not settings.is_development:
        console.print("[red]the demo county is for development databases only[/red]")
        raise typer.Exit(2)
    _seed(settings)


def _ensure_sqlite_dir(url: str) -> None:
    if is_sqlite(url):
        from sqlalchemy.engine import make_url

        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)


def _seed(settings: Settings) -> None:
    from zhishui.audit.recorder import Actor, set_actor
    from zhishui.demo.seed import DemoAlreadySeeded, seed_demo
    from zhishui.kit.clock import SystemClock

    factory = make_session_factory(create_db_engine(settings.database_url))
    clock = SystemClock()
    try:
        with console.status("seeding the demo county …"), transaction(factory) as session:
            session.info["clock"] = clock
            set_actor(session, Actor("system:seed-demo"))
            summary = seed_demo(session, now=clock.now(), password=settings.demo_password)
    except DemoAlreadySeeded as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"[green]demo county ready:[/green] {summary.describe()}")
    table = Table(title=f"演示账号（密码均为 {settings.demo_password}，仅限开发环境）")
    for column in ("用户名", "角色", "所在单位"):
        table.add_column(column)
    for login in summary.logins:
        table.add_row(login.username, login.role_label, login.unit_name)
    console.print(table)
    screens = Table(title="大厅屏幕（叫号大屏与自助取号机，无需登录，凭链接中的密钥访问）")
    for column in ("办税服务厅", "叫号大屏", "自助取号机"):
        screens.add_column(column, overflow="fold")
    for hall in summary.screens:
        screens.add_row(hall.hall_name, hall.display_path, hall.kiosk_path)
    console.print(screens)


@app.command()
def demo(
    port: int = typer.Option(8000, help="Port to serve on."),
    no_serve: bool = typer.Option(False, "--no-serve", help="Build the demo database and stop."),
    traffic: float = typer.Option(
        2.0,
        "--traffic",
        min=0.0,
        help="Simulated channel contacts a minute into the center's inbox, so it is alive (0: none).",
    ),
    history_months: int = typer.Option(
        12, "--history-months", min=0, help="Months of simulated history to load (0: none)."
    ),
    history_scale: float = typer.Option(
        1.0,
        "--history-scale",
        min=0.01,
        max=1.0,
        help="Share of the planning scenario's demand in the history.",
    ),
) -> None:
    """A fresh demo database (data/demo.db) with the demo county, then serve it."""
    base = get_settings()
    if not base.is_development:
        console.print("[red]`zhishui demo` runs in development mode only[/red]")
        raise typer.Exit(2)
    demo_db = base.data_dir / "demo.db"
    demo_db.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{demo_db}{suffix}").unlink(missing_ok=True)
    settings = base.model_copy(update={"database_url": f"sqlite:///{demo_db.as_posix()}", "port": port})

    from zhishui.kit.migrate import upgrade

    upgrade(settings.database_url)
    _seed(settings)
    if history_months > 0:
        _history(settings, history_months, history_scale)
    if no_serve:
        return
    console.print(f"[bold]open http://{settings.host}:{settings.port}/[/bold]")
    if traffic > 0:
        from zhishui.center.simulate_cli import start_background

        start_background(settings, rate=traffic, url=f"http://{settings.host}:{settings.port}")
        console.print(f"simulated channel traffic: {traffic:g} contacts a minute into the center's inbox")
    _serve(settings)


def _history(settings: Settings, months: int, scale: float) -> None:
    from zhishui.demo.history import HistoryPlan
    from zhishui.demo.history_command import load_demo_history

    with console.status("loading the demo history …") as status:
        summary, exported, seconds = load_demo_history(
            settings, HistoryPlan(months=months, scale=scale), lambda text: status.update(text)
        )
    console.print(f"[green]history:[/green] {summary.describe()} ({seconds:.0f} s)")
    if exported is not None:
        console.print(f"analytics snapshots: {exported.describe()}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exits 1 and names the first broken entry if it does not hold."""
    from zhishui.audit.service import verify_chain

    factory = make_session_factory(create_db_engine(get_settings().database_url))
    with factory() as session:
        count, broken = verify_chain(session)
    if broken is None:
        console.print(f"[green]audit chain intact: {count} entries[/green]")
        return
    console.print(f"[red]audit chain broken at entry {broken.entry_id}: {broken.reason}[/red]")
    raise typer.Exit(1)


def main() -> None:
    app()
