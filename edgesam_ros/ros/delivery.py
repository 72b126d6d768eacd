"""Frames lost before the node: counted from gaps in the camera's header stamps.

A best-effort frame the transport loses never reaches a callback, so the node's own counters
(received, processed, dropped by the worker) cannot show it. Camera drivers stamp frames at their
frame period, so a gap of k periods between two consecutive stamps means k - 1 frames were
published and never arrived.

The period is estimated from recent stamp intervals. With losses, intervals cluster at 1, 2, 3...
periods: the intervals close to the shortest recent one (within `CLUSTER`) are single periods, but
cutting at the shortest one biases their median low when stamps jitter. So the estimate is the
lower median of all recent intervals (an observed interval: one period when fewer than half the
frames are lost, else a whole multiple), divided by the multiple of the short cluster's median it
is. Stamp jitter up to about 10 % of the period (intervals within +-20 %) is tolerated. Until
`MIN_INTERVALS` intervals are known nothing is counted. Stamps that go backwards (a bag looping,
a driver restarting) or jump by more than `MAX_GAP_PERIODS` (a paused camera) restart the
estimate instead of counting losses; frames without a stamp (0) are ignored. If no two
consecutive frames ever arrive the estimate is a multiple of the period and losses are
undercounted: the delivery bench compares with the publisher's count.
"""

from __future__ import annotations

import threading
from collections import deque

import numpy as np

INTERVALS = 30  # recent stamp intervals kept for the period estimate
MIN_INTERVALS = 3
CLUSTER = 1.5  # intervals up to this times the shortest one count as single periods
MAX_GAP_PERIODS = 100
WARN_SHARE = 0.05  # losses above this share of the camera's frames since the last report warn


class StampGaps:
    """Counts frames missing between consecutive header stamps of one camera topic."""

    def __init__(self) -> None:
        self._intervals: deque[int] = deque(maxlen=INTERVALS)
        self._last_ns = 0
        self._lock = threading.Lock()  # diagnostics read from the timer, stamps come from callbacks
        self.lost = 0
        self._reported = (0, 0)  # (lost, stamps seen) at the last `loss_warning`
        self._seen = 0

    def period_ns(self) -> float:
        """The estimated camera period in nanoseconds, 0.0 while unknown."""
        if len(self._intervals) < MIN_INTERVALS:
            return 0.0
        intervals = np.sort(np.fromiter(self._intervals, np.float64))
        single = float(np.median(intervals[intervals <= CLUSTER * intervals[0]]))
        typical = intervals[(len(intervals) - 1) // 2]
        return float(typical / max(1, round(typical / single)))

    def on_stamp(self, stamp_ns: int) -> int:
        """Record a received frame's stamp; returns how many frames were lost just before it."""
        if stamp_ns <= 0:
            return 0
        with self._lock:
            self._seen += 1
            last, self._last_ns = self._last_ns, max(stamp_ns, self._last_ns)
            if not last or stamp_ns == last:
                return 0
            if stamp_ns < last:  # time went back: a new recording, nothing to compare with
                self._intervals.clear()
                self._last_ns = stamp_ns
                return 0
            gap = stamp_ns - last
            period = self.period_ns()
            if period and gap > MAX_GAP_PERIODS * period:  # the camera paused or restarted
                self._intervals.clear()
                return 0
            self._intervals.append(gap)
            missing = max(0, round(gap / period) - 1) if period else 0
            self.lost += missing
            return missing

    def values(self) -> dict[str, str]:
        """Diagnostics entries: frames lost before the node and the camera rate from stamps."""
        with self._lock:
            period = self.period_ns()
        return {
            "frames lost before node": str(self.lost),
            "camera rate from stamps (Hz)": f"{1e9 / period:.1f}" if period else "unknown",
        }

    def loss_warning(self) -> str:
        """Why frames are missing if over WARN_SHARE were lost since the last call, else ""."""
        with self._lock:
            lost, seen = self.lost - self._reported[0], self._seen - self._reported[1]
            self._reported = (self.lost, self._seen)
        if lost <= WARN_SHARE * (lost + seen):
            return ""
        return (f"{lost} of {lost + seen} camera frames lost before the node (header stamp "
                "gaps): give the camera driver and the node a large-image DDS profile "
                "(docs/node.md, Large images across processes)")
