"""One helper for background work from a slot: the coroutine runs on the asyncio loop, success and failure
callbacks run back on the GUI thread (the loop *is* the GUI thread under qasync), never blocking it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("agentdesk.ui")
_running: set[asyncio.Task[Any]] = set()


def run_task(
    coro: Coroutine[Any, Any, T],
    on_success: Callable[[T], None] | None = None,
    on_failure: Callable[[BaseException], None] | None = None,
) -> asyncio.Task[T]:
    task = asyncio.get_running_loop().create_task(coro)
    _running.add(task)

    def done(finished: asyncio.Task[T]) -> None:
        _running.discard(finished)
        if finished.cancelled():
            return
        error = finished.exception()
        if error is None:
            if on_success:
                on_success(finished.result())
        elif on_failure:
            on_failure(error)
        else:
            log.error("background task failed", exc_info=(type(error), error, error.__traceback__))

    task.add_done_callback(done)
    return task
