"""Who sees a work order and who may take which action: the department, the sender, the supervisor."""

from __future__ import annotations

import pytest

from zhishui.center.workorders.access import (
    HANDLER_ACTIONS,
    SENDER_ACTIONS,
    OrderFacts,
    Viewer,
    can_see,
    may,
    may_assign,
    may_create,
    uses_work_orders,
)
from zhishui.center.workorders.policy import Action
from zhishui.identity.policy import Permission

HANDLE = frozenset({Permission.WORKORDER_HANDLE.value})
AGENT = frozenset({Permission.CENTER_AGENT.value})
SUPERVISE = frozenset({Permission.CENTER_SUPERVISE.value})
# Bureau 4 (path /1/4/), its levy department 9, its tax center 8; bureau 5 next door.
ORDER = OrderFacts(bureau_id=4, department_path="/1/4/9/", created_by=100, assignee_id=200)


def test_the_department_handles_and_the_sender_verifies() -> None:
    clerk = Viewer(201, "/1/4/9/", HANDLE)
    sender = Viewer(100, "/1/4/8/", AGENT)
    for action in HANDLER_ACTIONS:
        assert may(clerk, ORDER, action) and not may(sender, ORDER, action)
    for action in SENDER_ACTIONS:
        assert may(sender, ORDER, action) and not may(clerk, ORDER, action)
    assert set(HANDLER_ACTIONS | SENDER_ACTIONS) == set(Action)


def test_the_assignee_handles_it_wherever_they_sit() -> None:
    assignee = Viewer(200, "/1/4/7/", frozenset())
    assert can_see(assignee, ORDER) and may(assignee, ORDER, Action.FINISH)
    assert not may(assignee, ORDER, Action.VERIFY)


@pytest.mark.parametrize(
    ("viewer", "sees"),
    [
        (Viewer(300, "/1/4/10/", HANDLE), False),  # another department of the bureau
        (Viewer(300, "/1/5/11/", HANDLE), False),  # another bureau's department
        (Viewer(300, "/1/5/", SUPERVISE), False),  # another bureau's supervisor
        (Viewer(300, "/1/4/8/", SUPERVISE), True),  # this bureau's center supervisor
        (Viewer(300, "/1/4/", HANDLE), True),  # bureau-level staff above the department
        (Viewer(300, "/1/4/8/", AGENT), False),  # an agent sees what they sent, not everything
    ],
)
def test_who_sees_an_order(viewer: Viewer, sees: bool) -> None:
    assert can_see(viewer, ORDER) is sees


def test_creating_assigning_and_using_the_pages() -> None:
    agent = Viewer(100, "/1/4/8/", AGENT)
    clerk = Viewer(201, "/1/4/9/", HANDLE)
    other = Viewer(300, "/1/5/12/", AGENT)
    assert may_create(agent, bureau_id=4, department_path="/1/4/9/", parent=None)
    assert not may_create(clerk, bureau_id=4, department_path="/1/4/10/", parent=None)
    assert may_create(clerk, bureau_id=4, department_path="/1/4/10/", parent=ORDER)  # splitting its own
    assert not may_create(other, bureau_id=4, department_path="/1/4/9/", parent=None)
    assert may_assign(clerk, ORDER) and not may_assign(agent, ORDER)
    assert may_assign(Viewer(1, "/1/4/8/", SUPERVISE), ORDER)
    assert not uses_work_orders(Viewer(1, "/1/4/", frozenset({Permission.HALL_TRIAGE.value})))
