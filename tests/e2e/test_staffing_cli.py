"""`zhishui staffing …`: the JSON contract other tools read, and exit code 2 naming the option."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from zhishui.cli import app

runner = CliRunner()
EXAMPLE = ["--calls", "100", "--interval", "1800", "--aht", "180", "--target", "20"]
C_KEYS = {"agents", "agents_with_shrinkage", "probability_wait", "service_level", "asa", "occupancy"}
A_KEYS = {"probability_wait", "probability_abandon", "service_level", "mean_wait", "occupancy"}


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["staffing", *args])
    return result.exit_code, result.output


def run_json(*args: str) -> dict[str, float]:
    code, out = run(*args, "--json")
    assert code == 0, out
    figures: dict[str, float] = json.loads(out)
    assert all(math.isfinite(v) for v in figures.values())
    return figures


def test_erlang_c_evaluates_a_given_number_of_agents() -> None:
    figures = run_json("erlang-c", *EXAMPLE, "--agents", "14")
    assert set(figures) == C_KEYS
    assert figures["agents"] == 14 and figures["agents_with_shrinkage"] == 14
    assert figures["probability_wait"] == pytest.approx(0.1741319, abs=5e-8)
    assert figures["service_level"] == pytest.approx(0.88835, abs=5e-6)
    assert figures["asa"] == pytest.approx(7.8359, abs=5e-5)
    assert figures["occupancy"] == pytest.approx(0.7142857, abs=5e-8)


def test_erlang_c_finds_the_fewest_agents_with_occupancy_and_shrinkage() -> None:
    figures = run_json("erlang-c", *EXAMPLE, "--sl", "0.8", "--max-occupancy", "0.85", "--shrinkage", "0.3")
    assert set(figures) == C_KEYS
    assert (figures["agents"], figures["agents_with_shrinkage"]) == (14, 20)
    figures = run_json("erlang-c", *EXAMPLE, "--sl", "0.8", "--max-occupancy", "0.70", "--shrinkage", "0.3")
    assert (figures["agents"], figures["agents_with_shrinkage"]) == (15, 22)


def test_erlang_a_reports_abandonment_and_the_mean_wait_in_seconds() -> None:
    figures = run_json("erlang-a", *EXAMPLE, "--patience", "300", "--agents", "14")
    assert set(figures) == A_KEYS
    assert figures["probability_wait"] == pytest.approx(0.14526, abs=5e-6)
    assert figures["probability_abandon"] == pytest.approx(0.013984, abs=5e-7)
    assert figures["service_level"] == pytest.approx(0.916792, abs=5e-7)
    assert figures["mean_wait"] == pytest.approx(0.069919 * 60, abs=5e-7 * 60)
    assert figures["occupancy"] == pytest.approx(0.704297, abs=5e-7)


def test_without_json_a_bilingual_table_is_printed() -> None:
    code, out = run("erlang-c", *EXAMPLE, "--agents", "14")
    assert code == 0
    assert "服务水平" in out and "service level" in out and "0.88835" in out


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["erlang-c", *EXAMPLE, "--agents", "10"], "--agents"),  # load 10 needs more than 10
        (["erlang-c", *EXAMPLE, "--sl", "1.2"], "--sl"),
        (["erlang-c", *EXAMPLE, "--sl", "0.8", "--max-occupancy", "0"], "--max-occupancy"),
        (["erlang-c", *EXAMPLE, "--sl", "0.8", "--max-asa", "0"], "--max-asa"),
        (["erlang-c", *EXAMPLE, "--sl", "0.8", "--shrinkage", "1"], "--shrinkage"),
        (
            [
                "erlang-c",
                "--calls",
                "-3",
                "--interval",
                "1800",
                "--aht",
                "180",
                "--target",
                "20",
                "--sl",
                "0.8",
            ],
            "--calls",
        ),
        (
            [
                "erlang-c",
                "--calls",
                "100",
                "--interval",
                "0",
                "--aht",
                "180",
                "--target",
                "20",
                "--sl",
                "0.8",
            ],
            "--interval",
        ),
        (
            [
                "erlang-c",
                "--calls",
                "100",
                "--interval",
                "1800",
                "--aht",
                "0",
                "--target",
                "20",
                "--sl",
                "0.8",
            ],
            "--aht",
        ),
        (["erlang-c", *EXAMPLE], "--agents/--sl"),
        (["erlang-c", *EXAMPLE, "--agents", "14", "--sl", "0.8"], "--agents/--sl"),
        (["erlang-a", *EXAMPLE, "--patience", "0", "--agents", "14"], "--patience"),
        (["erlang-a", *EXAMPLE, "--patience", "300", "--agents", "0"], "--agents"),
        (
            [
                "erlang-c",
                "--calls",
                "nan",
                "--interval",
                "1800",
                "--aht",
                "180",
                "--target",
                "20",
                "--sl",
                "0.8",
            ],
            "--calls",
        ),
    ],
)
def test_bad_input_exits_2_naming_the_option_and_prints_no_figures(args: list[str], option: str) -> None:
    code, out = run(*args, "--json")
    assert code == 2
    assert option in out
    assert "{" not in out  # no JSON half-printed before the refusal
