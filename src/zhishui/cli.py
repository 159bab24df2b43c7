"""The `zhishui` command."""

from __future__ import annotations

import typer

app = typer.Typer(help="智税 zhishui: taxpayer service for a tax bureau.", no_args_is_help=True)


def main() -> None:
    app()
