from zhishui.kit.ratelimit import SlidingWindow


class Ticker:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_the_window_allows_the_limit_then_says_how_long_to_wait() -> None:
    tick = Ticker()
    window = SlidingWindow(3, 60, now=tick)
    assert [window.hit("a") for _ in range(3)] == [None, None, None]
    tick.t += 10
    assert window.hit("a") == 50.0
    assert window.hit("b") is None, "another address has its own window"


def test_old_requests_slide_out_of_the_window() -> None:
    tick = Ticker()
    window = SlidingWindow(2, 60, now=tick)
    window.hit("a")
    tick.t += 30
    window.hit("a")
    tick.t += 31
    assert window.hit("a") is None
    assert window.hit("a") is not None
