"""What the node tells operators: /diagnostics statistics and throttled problem logs.

`Stats` keeps sliding windows of frame events and latencies (appended from callbacks and the
worker; deque appends are thread-safe) and summarises them as one DiagnosticStatus: input and
processed rates, dropped frames, encoder/decoder/total latency mean and p95, provider, objects.

`ProblemLog` logs each kind of bad input at most once per throttle period, on a child logger per
kind (`edgesam.image`, `edgesam.prompt`, ...); counts go to diagnostics. It throttles itself rather
than with rclpy's `throttle_duration_sec`: rclpy ties that duration to the call site for good and
raises ValueError when it changes, and `log_throttle` may change at run time.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus, KeyValue

WINDOW_S = 5.0  # rates are measured over this many seconds
LATENCY_SAMPLES = 200


def status_name(node_name: str) -> str:
    """The node's DiagnosticStatus name from its fully qualified name (`/robot1/edgesam`), so two
    robots' nodes stay apart on /diagnostics; listeners build it the same way to find it."""
    return f"{node_name}: segmentation"


class Stats:
    """Sliding-window frame statistics of the node."""

    def __init__(self) -> None:
        self.received: deque[float] = deque()
        self.processed: deque[float] = deque()
        self.latency: dict[str, deque[float]] = {
            k: deque(maxlen=LATENCY_SAMPLES) for k in ("encoder", "decoder", "total")
        }
        self.dropped = 0
        self.received_total = 0
        self.processed_total = 0

    def on_received(self, now: float | None = None) -> None:
        self.received.append(time.monotonic() if now is None else now)
        self.received_total += 1

    def on_dropped(self) -> None:
        self.dropped += 1

    def on_processed(self, encoder_ms: float, decoder_ms: float, total_ms: float) -> None:
        self.processed.append(time.monotonic())
        self.processed_total += 1
        for key, value in (("encoder", encoder_ms), ("decoder", decoder_ms), ("total", total_ms)):
            self.latency[key].append(value)

    @staticmethod
    def _rate(events: deque[float], now: float) -> float:
        while events and events[0] < now - WINDOW_S:
            events.popleft()
        return len(events) / WINDOW_S

    def values(self) -> dict[str, str]:
        """Every statistic as display strings, keyed by name."""
        now = time.monotonic()
        out = {
            "input rate (Hz)": f"{self._rate(self.received, now):.1f}",
            "processed rate (Hz)": f"{self._rate(self.processed, now):.1f}",
            "frames received": str(self.received_total),
            "frames processed": str(self.processed_total),
            "frames dropped": str(self.dropped),
        }
        for key, samples in self.latency.items():
            data = np.fromiter(samples, float) if samples else np.zeros(1)
            out[f"{key} latency mean (ms)"] = f"{data.mean():.1f}"
            out[f"{key} latency p95 (ms)"] = f"{np.percentile(data, 95):.1f}"
        return out


def status(
    name: str, hardware_id: str, level: bytes, message: str, values: dict[str, str]
) -> DiagnosticStatus:
    """A DiagnosticStatus with `values` as key/value pairs."""
    return DiagnosticStatus(
        level=level,
        name=name,
        hardware_id=hardware_id,
        message=message,
        values=[KeyValue(key=k, value=v) for k, v in values.items()],
    )


class ProblemLog:
    """Throttled warnings per kind of problem, counted for diagnostics."""

    def __init__(self, logger: object, throttle_s: float) -> None:
        self._logger = logger
        self._children: dict[str, object] = {}
        self._last: dict[str, float] = {}  # kind -> monotonic time of its last log line
        self._lock = threading.Lock()  # the worker and the executor both report problems
        self.throttle_s = throttle_s
        self.counts: Counter[str] = Counter()

    def warn(self, kind: str, message: str) -> None:
        """Log `message` unless a `kind` problem was logged less than `throttle_s` ago."""
        now = time.monotonic()
        with self._lock:
            self.counts[kind] += 1
            count = self.counts[kind]
            last = self._last.get(kind)
            if last is not None and now - last < self.throttle_s:
                return
            self._last[kind] = now
            if kind not in self._children:
                self._children[kind] = self._logger.get_child(kind.replace(" ", "_"))
            child = self._children[kind]
        child.warning(f"{message} [{count} {kind} problem(s) so far]")

    def values(self) -> dict[str, str]:
        return {f"{kind} problems": str(n) for kind, n in sorted(self.counts.items())}
