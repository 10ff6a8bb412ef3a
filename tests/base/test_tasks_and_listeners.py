"""Background tasks that are never lost and callbacks told in order."""

from __future__ import annotations

import asyncio
import logging

import pytest

from agentdesk.base.listeners import Listeners
from agentdesk.base.tasks import TaskKeeper


def test_a_failure_nobody_handles_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def fail() -> None:
        raise RuntimeError("backend went away")

    async def run() -> None:
        keeper = TaskKeeper()
        keeper.spawn(fail())
        await keeper.drain()
        assert len(keeper) == 0

    with caplog.at_level(logging.ERROR, logger="agentdesk.app"):
        asyncio.run(run())
    assert any("background work failed" in r.getMessage() and r.exc_info for r in caplog.records)


def test_success_and_failure_reach_their_callbacks_and_drain_waits_for_late_tasks() -> None:
    seen: list[object] = []

    async def value(v: int) -> int:
        await asyncio.sleep(0.01)
        return v

    async def fail() -> None:
        raise ValueError("bad")

    async def run() -> None:
        keeper = TaskKeeper()

        def then_more(v: int) -> None:
            seen.append(v)
            keeper.spawn(value(v + 1), on_success=seen.append)  # started while draining

        keeper.spawn(value(1), on_success=then_more)
        keeper.spawn(fail(), on_failure=lambda error: seen.append(type(error).__name__))
        await keeper.drain()

    asyncio.run(run())
    assert sorted(map(str, seen)) == ["1", "2", "ValueError"]


def test_listeners_are_told_in_order_and_one_added_while_telling_waits_for_the_next_change() -> None:
    told: list[str] = []
    changed: Listeners[[str]] = Listeners()
    changed.append(lambda what: told.append(f"first {what}"))
    changed.append(lambda what: (told.append(f"second {what}"), changed.append(lambda w: told.append(f"late {w}"))))
    changed("a")
    assert told == ["first a", "second a"]
    changed("b")
    assert told[2:4] == ["first b", "second b"] and told[4] == "late b"
