"""Wilson and Newcombe intervals against hand computation and the published worked examples."""

from __future__ import annotations

import math

import pytest

from zhishui.insight.outreach.stats import Z95, effect, newcombe_difference, wilson


def test_wilson_of_ten_in_twenty_matches_the_formula_worked_by_hand() -> None:
    # p = 0.5, z² = 3.841459, 1 + z²/n = 1.192073, centre = (0.5 + 0.096036) / 1.192073 = 0.5,
    # half = 1.959964 × √(0.0125 + 0.0024009) / 1.192073 = 0.200702
    interval = wilson(10, 20)
    assert interval.estimate == 0.5
    assert interval.low == pytest.approx(0.5 - 0.200702, abs=1e-6)
    assert interval.high == pytest.approx(0.5 + 0.200702, abs=1e-6)


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    [  # Newcombe (1998a), Table I, the score method
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombes_published_intervals(x: int, n: int, low: float, high: float) -> None:
    interval = wilson(x, n)
    assert interval.low == pytest.approx(low, abs=5e-5)
    assert interval.high == pytest.approx(high, abs=5e-5)


def test_wilson_stays_inside_zero_and_one_at_the_edges() -> None:
    assert wilson(0, 5).low == 0.0
    assert wilson(5, 5).high == 1.0
    assert 0 < wilson(5, 5).low < 1


def test_an_empty_group_is_uninformative_not_an_error() -> None:
    assert (wilson(0, 0).low, wilson(0, 0).high) == (0.0, 1.0)


def test_impossible_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        wilson(3, 2)
    with pytest.raises(ValueError):
        wilson(-1, 2)


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "low", "high"),
    [  # Newcombe (1998b), Table II, method 10 (hybrid score)
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (5, 56, 0, 29, -0.0381, 0.1926),
        (6, 7, 2, 7, 0.0582, 0.8062),
    ],
)
def test_newcombe_difference_matches_the_published_examples(
    x1: int, n1: int, x2: int, n2: int, low: float, high: float
) -> None:
    interval = newcombe_difference(x1, n1, x2, n2)
    assert interval.estimate == pytest.approx(x1 / n1 - x2 / n2)
    assert interval.low == pytest.approx(low, abs=5e-5)
    assert interval.high == pytest.approx(high, abs=5e-5)


def test_newcombe_difference_is_built_from_the_two_wilson_intervals_by_hand() -> None:
    # 10/20 − 5/20: Wilson (0.299298, 0.700702) and (0.111862, 0.468701); centre of 5/20 =
    # (0.25 + 0.096036) / 1.192073 = 0.290282, half = 1.959964 × √(0.009375 + 0.0024009) / 1.192073 = 0.178420
    a, b = wilson(10, 20), wilson(5, 20)
    assert b.low == pytest.approx(0.111862, abs=1e-6)
    assert b.high == pytest.approx(0.468701, abs=1e-6)
    d = newcombe_difference(10, 20, 5, 20)
    assert d.low == pytest.approx(0.25 - math.hypot(0.5 - a.low, b.high - 0.25), abs=1e-12)
    assert d.high == pytest.approx(0.25 + math.hypot(a.high - 0.5, 0.25 - b.low), abs=1e-12)
    # 0.25 − √(0.200702² + 0.218701²) = 0.25 − 0.296835
    assert d.low == pytest.approx(-0.046835, abs=1e-5)


def test_the_effect_is_significant_only_when_the_interval_leaves_zero() -> None:
    assert effect(56, 70, 48, 80).significant
    assert not effect(5, 56, 0, 29).significant
    assert effect(0, 50, 40, 50).significant  # a negative effect is an effect too


def test_z_is_the_normal_quantile() -> None:
    assert 0.5 * math.erfc(-Z95 / math.sqrt(2)) == pytest.approx(0.975, abs=1e-12)
