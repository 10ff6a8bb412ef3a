"""Plain callbacks from the core to whoever listens (the UI bridge, the status bar, the redaction list): the one
way a core object tells of a change, without knowing Qt or its listeners."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, ParamSpec

P = ParamSpec("P")


class Listeners(Generic[P]):
    """Callbacks told of one kind of change, in the order they were added."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[P, None]] = []

    def append(self, callback: Callable[P, None]) -> None:
        self._callbacks.append(callback)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> None:
        for callback in list(self._callbacks):  # a listener may add another while being told
            callback(*args, **kwargs)

    def __len__(self) -> int:
        return len(self._callbacks)
