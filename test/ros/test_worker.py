"""LatestWorker: the newest item only, drops counted, and no error ends the thread."""

from __future__ import annotations

import threading
import time

from conftest import wait_for

from edgesam_ros.ros.worker import LatestWorker


def test_a_slow_handler_sees_the_newest_item_and_older_ones_are_dropped():
    seen, release = [], threading.Event()

    def handle(item: int) -> None:
        release.wait(5)
        seen.append(item)

    worker = LatestWorker(handle, lambda error: None)
    worker.start()
    try:
        assert not worker.offer(0)
        assert wait_for(lambda: worker.busy)
        dropped = [worker.offer(i) for i in range(1, 6)]
        assert dropped == [False, True, True, True, True]  # one waiting slot, never a queue
        release.set()
        assert wait_for(lambda: seen == [0, 5])
    finally:
        worker.stop()


def test_errors_and_a_failing_error_handler_do_not_stop_the_worker():
    seen, errors = [], []

    def handle(item: int) -> None:
        if item < 2:
            raise RuntimeError(f"bad frame {item}")
        seen.append(item)

    def on_error(error: BaseException) -> None:
        errors.append(str(error))
        if "0" in str(error):
            raise ValueError("the error report itself failed")

    worker = LatestWorker(handle, on_error)
    worker.start()
    try:
        for item in range(3):
            worker.offer(item)
            assert wait_for(lambda i=item: len(errors) + len(seen) > i)
            time.sleep(0.01)
        assert errors == ["bad frame 0", "bad frame 1"] and seen == [2]
    finally:
        worker.stop()
