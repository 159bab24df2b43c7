"""Confidence intervals across replications (Student's t), without SciPy.

Each replication gives one number per measure; the replications are independent, so the interval
is mean ± t(1 − α/2, n − 1) · s / √n.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def student_t_cdf(t: float, dof: int) -> float:
    """P(T ≤ t) for Student's t with an integer number of degrees of freedom.

    The finite series in cos θ, θ = atan(t/√ν) (Abramowitz & Stegun 26.7.3–4): exact for every ν.
    """
    if dof < 1:
        raise ValueError("degrees of freedom must be at least 1")
    theta = math.atan2(abs(t), math.sqrt(dof))
    c2 = math.cos(theta) ** 2
    s = math.sin(theta)
    if dof % 2 == 1:
        term = total = 1.0
        for k in range(3, dof, 2):
            term *= c2 * (k - 1) / k
            total += term
        inside = (2 / math.pi) * (theta + (s * math.cos(theta) * total if dof > 1 else 0.0))
    else:
        term = total = 1.0
        for k in range(2, dof, 2):
            term *= c2 * (k - 1) / k
            total += term
        inside = s * total
    return 0.5 + 0.5 * inside if t >= 0 else 0.5 - 0.5 * inside


def student_t_quantile(p: float, dof: int) -> float:
    """The t with P(T ≤ t) = p, by bisection on the exact distribution function."""
    if not 0 < p < 1:
        raise ValueError("p must lie strictly between 0 and 1")
    if p < 0.5:
        return -student_t_quantile(1 - p, dof)
    lo, hi = 0.0, 1.0
    while student_t_cdf(hi, dof) < p:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if student_t_cdf(mid, dof) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return (lo + hi) / 2


@dataclass(frozen=True)
class Estimate:
    """A measure over replications: the mean and the half-width of its confidence interval."""

    mean: float
    half_width: float
    n: int
    confidence: float

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def as_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "low": self.low, "high": self.high, "half_width": self.half_width}


def estimate(values: Sequence[float], confidence: float = 0.95) -> Estimate:
    """Mean and t-based interval; with a single replication the half-width is 0 (no interval)."""
    if not values:
        raise ValueError("no replications to estimate from")
    mean = statistics.fmean(values)
    n = len(values)
    if n < 2:
        return Estimate(mean, 0.0, n, confidence)
    t = student_t_quantile(1 - (1 - confidence) / 2, n - 1)
    return Estimate(mean, t * statistics.stdev(values) / math.sqrt(n), n, confidence)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-quantile (0–1) of already sorted values, by linear interpolation; 0 for none."""
    if not sorted_values:
        return 0.0
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)
