"""The typed error every planning calculation raises on bad input, naming the parameter at fault."""

from __future__ import annotations

import math

from zhishui.kit.errors import InvalidInput


class PlanningInputError(InvalidInput):
    """Bad input to a staffing formula: `parameter` is the name the caller passed it under.

    A subclass of InvalidInput, so pages and the JSON API answer 422 with the Chinese message and the
    command line exits 2 naming the option.
    """

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(parameter, f"{parameter}：{message}")
        self.parameter = parameter
        self.reason = message


def finite(parameter: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PlanningInputError(parameter, "必须是有限的数值")
    return float(value)


def positive(parameter: str, value: float) -> float:
    number = finite(parameter, value)
    if number <= 0:
        raise PlanningInputError(parameter, f"必须大于 0（收到 {value:g}）")
    return number


def non_negative(parameter: str, value: float) -> float:
    number = finite(parameter, value)
    if number < 0:
        raise PlanningInputError(parameter, f"不能为负数（收到 {value:g}）")
    return number


def fraction(parameter: str, value: float, *, low_open: bool, high_open: bool) -> float:
    """A share between 0 and 1; which ends are allowed is the caller's to say."""
    number = finite(parameter, value)
    too_low = number <= 0 if low_open else number < 0
    too_high = number >= 1 if high_open else number > 1
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        raise PlanningInputError(parameter, f"必须在 {left}0, 1{right} 之间（收到 {value:g}）")
    return number


def agent_count(parameter: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PlanningInputError(parameter, "必须是整数")
    if value < 1:
        raise PlanningInputError(parameter, f"至少为 1（收到 {value}）")
    return value
