"""Effect sizes with 95 % confidence intervals for two independent proportions. Pure.

A share uses the Wilson score interval; the difference of two shares (campaign − hold-out) uses
Newcombe's hybrid score interval (Newcombe 1998, "method 10"), built from the two Wilson intervals.
Both behave at 0 % and 100 % and with small groups, where the normal approximation (Wald) gives
intervals outside [0, 1] or of zero width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # the standard normal's 97.5 % point


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


def wilson(successes: int, n: int, z: float = Z95) -> Interval:
    """The Wilson score interval of successes / n; n = 0 gives the uninformative [0, 1]."""
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} / {n}")
    if n == 0:
        return Interval(0.0, 0.0, 1.0)
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # At 0 and n the exact bound is 0 or 1; rounding can leave 1e-17 on the wrong side.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(p, low, high)


def newcombe_difference(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> Interval:
    """p1 − p2 with Newcombe's hybrid score interval (method 10)."""
    a, b = wilson(x1, n1, z), wilson(x2, n2, z)
    d = a.estimate - b.estimate
    low = d - math.sqrt((a.estimate - a.low) ** 2 + (b.high - b.estimate) ** 2)
    high = d + math.sqrt((a.high - a.estimate) ** 2 + (b.estimate - b.low) ** 2)
    return Interval(d, max(-1.0, low), min(1.0, high))


@dataclass(frozen=True)
class Effect:
    """Campaign vs hold-out: each group's share with its interval, and the difference with its own."""

    treatment: Interval
    holdout: Interval
    difference: Interval
    treatment_n: int
    holdout_n: int

    @property
    def significant(self) -> bool:
        """The 95 % interval of the difference excludes zero."""
        return self.difference.low > 0 or self.difference.high < 0


def effect(treatment_switched: int, treatment_n: int, holdout_switched: int, holdout_n: int) -> Effect:
    return Effect(
        treatment=wilson(treatment_switched, treatment_n),
        holdout=wilson(holdout_switched, holdout_n),
        difference=newcombe_difference(treatment_switched, treatment_n, holdout_switched, holdout_n),
        treatment_n=treatment_n,
        holdout_n=holdout_n,
    )
