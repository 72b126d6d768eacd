"""Problem logs are throttled per kind and counted; statistics summarise rates and latencies."""

from __future__ import annotations

import pytest

from edgesam_ros.ros.diagnostics import ProblemLog, Stats

pytestmark = pytest.mark.ros


def test_problem_log_throttles_each_kind_on_its_own_and_counts_everything(ros_node, capfd):
    problems = ProblemLog(ros_node.get_logger(), throttle_s=60.0)
    for _ in range(5):
        problems.warn("image", "skipping an image: unsupported encoding 'x'")
    problems.warn("prompt", "add of object 3 rejected: a point is not finite")
    log = capfd.readouterr().err
    assert log.count("unsupported encoding 'x'") == 1, log  # throttled: one line for five
    assert "[1 image problem(s) so far]" in log
    assert log.count("a point is not finite") == 1  # another kind is not silenced by the first
    assert problems.values() == {"image problems": "5", "prompt problems": "1"}


def test_problem_log_without_throttle_logs_every_time(ros_node, capfd):
    problems = ProblemLog(ros_node.get_logger(), throttle_s=0.0)
    for _ in range(3):
        problems.warn("depth", "no depth image")
    assert capfd.readouterr().err.count("no depth image") == 3


def test_stats_report_rates_drops_and_latency_percentiles():
    stats = Stats()
    for _ in range(10):
        stats.on_received()
    stats.on_dropped()
    for total in range(1, 21):
        stats.on_processed(2.0, 1.0, float(total))
    values = stats.values()
    assert values["frames received"] == "10" and values["frames dropped"] == "1"
    assert values["frames processed"] == "20"
    assert values["input rate (Hz)"] == "2.0"  # 10 frames in the 5 s window
    assert values["total latency mean (ms)"] == "10.5"
    assert values["total latency p95 (ms)"] == "19.1"
    assert values["encoder latency mean (ms)"] == "2.0"
