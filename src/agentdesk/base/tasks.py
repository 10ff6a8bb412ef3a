"""Background work on the asyncio loop, kept until it finishes: asyncio holds tasks only weakly, so an
unreferenced one can vanish mid-flight. Success and failure callbacks run on the loop's thread (under qasync, the
GUI thread), and a failure nobody handles is logged, never silently lost."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("agentdesk.app")


class TaskKeeper:
    """The tasks one owner (the desk and what the agent asked of it) started and has not seen finish."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(
        self,
        coro: Coroutine[Any, Any, T],
        on_success: Callable[[T], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> asyncio.Task[T]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)

        def done(finished: asyncio.Task[T]) -> None:
            self._tasks.discard(finished)
            if finished.cancelled():
                return
            error = finished.exception()
            if error is None:
                if on_success is not None:
                    on_success(finished.result())
            elif on_failure is not None:
                on_failure(error)
            else:
                log.error("background work failed", exc_info=(type(error), error, error.__traceback__))

        task.add_done_callback(done)
        return task

    async def drain(self) -> None:
        """Wait until every task, including those started meanwhile, has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def __len__(self) -> int:
        return len(self._tasks)
