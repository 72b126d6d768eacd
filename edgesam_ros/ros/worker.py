"""One background thread that always processes the newest item and drops the rest.

A camera faster than the model must not build a queue: latency would grow without bound. The
callback `offer`s each frame into a one-slot mailbox; a frame still waiting when the next arrives
is dropped and counted. The callback never blocks on inference, only on a lock held for a pointer
swap.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestWorker(Generic[T]):
    """Runs `handle(item)` on a thread for the newest offered item; older ones are dropped."""

    def __init__(
        self,
        handle: Callable[[T], None],
        on_error: Callable[[BaseException], None],
        name: str = "edgesam-worker",
    ) -> None:
        self._handle = handle
        self._on_error = on_error
        self._name = name
        self._cond = threading.Condition()
        self._item: T | None = None
        self._running = False
        self._thread: threading.Thread | None = None
        self.busy = False

    def start(self) -> None:
        with self._cond:
            self._running = True
        self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the item in progress; the waiting item is discarded."""
        with self._cond:
            self._running = False
            self._item = None
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def offer(self, item: T) -> bool:
        """Make `item` the next to process; True when it replaced (dropped) a waiting item."""
        with self._cond:
            dropped = self._item is not None
            self._item = item
            self._cond.notify()
        return dropped

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._running and self._item is None:
                    self._cond.wait()
                if not self._running:
                    return
                item, self._item = self._item, None
                self.busy = True
            try:
                self._handle(item)
            except Exception as error:  # the node must outlive any bad frame
                try:
                    self._on_error(error)
                except Exception:  # ... and a failing error report: never end the thread
                    traceback.print_exc()
            finally:
                self.busy = False
