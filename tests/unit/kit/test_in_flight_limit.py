import asyncio

from starlette.types import Message, Receive, Scope, Send

from tests import asyncrun
from zhishui.kit.middleware import InFlightLimit


def test_requests_beyond_the_limit_wait_until_a_response_starts() -> None:
    inside = 0
    most = 0

    async def slow_app(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        await asyncio.sleep(0.02)
        inside -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(0.05)  # a long body (a stream) no longer holds a place
        await send({"type": "http.response.body", "body": b"ok"})

    gate = InFlightLimit(slow_app, limit=3)

    async def one() -> None:
        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        async def send(message: Message) -> None:
            pass

        await gate({"type": "http", "method": "GET", "path": "/"}, receive, send)

    async def many() -> None:
        await asyncio.gather(*(one() for _ in range(12)))

    asyncrun.run(many())
    assert most == 3
