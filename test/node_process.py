"""Test helpers shared by test/ros and test/robustness: the installed node as a process, waiting.

`test/` is on sys.path in every test session (pytest puts the directory of the root conftest
there), so any test imports this module as `node_process`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
EXE = REPO / "install" / "edgesam_ros" / "lib" / "edgesam_ros" / "segment_node"


def wait_for(done: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll `done()` (other threads spin) until true or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        time.sleep(0.01)
    return done()


def call_service(node: Any, srv_type: type, name: str, request: Any, timeout: float = 10.0) -> Any:
    """Call service `name` from `node` (spun by another thread) and return the response."""
    client = node.create_client(srv_type, name)
    assert client.wait_for_service(timeout_sec=timeout), f"no service {name}"
    future = client.call_async(request)
    assert wait_for(future.done, timeout), f"{name} did not answer"
    return future.result()


class NodeProcess:
    """The installed `segment_node` in a subprocess, its log lines collected as they come."""

    def __init__(self, *ros_args: str, program_args: tuple[str, ...] = ()) -> None:
        if not EXE.is_file():
            pytest.skip("not built with colcon (run `make build`)")
        env = {**os.environ, "OMP_NUM_THREADS": "1", "RCUTILS_LOGGING_BUFFERED_STREAM": "0"}
        self.process = subprocess.Popen([str(EXE), *program_args, "--ros-args", *ros_args],
                                        env=env, text=True, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line)

    def mark(self) -> int:
        """Where the log is now: `line(text, since=mark)` looks only at what comes after."""
        return len(self.lines)

    def line(self, text: str, since: int = 0, timeout: float = 30.0) -> str:
        """The first log line after `since` containing `text` (waits for it)."""
        found = lambda: [ln for ln in self.lines[since:] if text in ln]  # noqa: E731
        wait_for(lambda: bool(found()) or self.process.poll() is not None, timeout)
        assert found(), f"no log line with {text!r}:\n{''.join(self.lines[since:])}"
        return found()[0]

    def stop(self) -> int:
        """Ctrl-C, as in a terminal; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(5)
        self._reader.join(5)
        return code
