"""Camera frames from another process reach the node: `edgesam-ros play` and the installed
`segment_node` in two processes over DDS, both with the shipped DDS profile (the launch file's
and the player's default), 640x480 rgb8 at 10 Hz.

Without the profile, Fast DDS loses most such frames between processes (22-79 of 100 arrive on
the reference machine, docs/node.md). With it, the node process must receive at least 95 % of
the published frames, and process at least 95 % whenever it is faster than the camera (on a
machine loaded so much that it is not, it drops frames by design: that check is skipped, saying
so). The other sizes and rates are in `edgesam-ros bench delivery`.
"""

from __future__ import annotations

import os

import pytest
from bag_helpers import model_paths

pytest.importorskip("rclpy", reason="rclpy is not installed (run through `make test`)")

from edgesam_ros.bags import fixtures
from edgesam_ros.bags.live import LiveRun, run_live

pytestmark = pytest.mark.ros
FRAMES = 40  # 4 s at 10 Hz
MIN_SHARE = 0.95
PERIOD_MS = 100.0  # 10 Hz


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> LiveRun:
    bag = tmp_path_factory.mktemp("delivery") / "vga"
    fixtures.make_bag(bag, fixtures.FixtureOptions(
        preset="tiny", frames=FRAMES, size=(640, 480), fps=10.0, storage="mcap"))
    namespace = f"/test_delivery_{os.getpid()}"  # other test runs may share the ROS domain
    return run_live(bag, fixtures.IMAGE_TOPIC, model_paths(), settle_s=1.0, namespace=namespace,
                    record_masks=False, parameters={"engine.providers": ["cpu"]})


def _summary(run: LiveRun) -> str:
    return (f"published {run.images_published}, received {run.count('frames received')}, "
            f"processed {run.processed}, lost before node "
            f"{run.count('frames lost before node')}, dropped by node "
            f"{run.count('frames dropped')}, latency {run.mean_total_ms:.0f} ms")


def test_the_node_process_receives_95_percent_of_published_frames(delivered: LiveRun) -> None:
    run = delivered
    assert run.images_published == FRAMES
    assert run.count("frames received") >= MIN_SHARE * FRAMES, _summary(run)
    assert run.count("frames processed") == run.processed, _summary(run)  # none lost after it
    assert run.count("frames received") == run.processed + run.count("frames dropped")


def test_a_node_faster_than_the_camera_processes_95_percent(delivered: LiveRun) -> None:
    """The brief's criterion; a node slower than the camera drops frames by design instead."""
    run = delivered
    if run.mean_total_ms >= PERIOD_MS:
        pytest.skip(f"the node was slower than the camera on this machine: {_summary(run)}")
    assert run.processed >= MIN_SHARE * FRAMES, _summary(run)


def test_node_reports_camera_rate_and_no_phantom_losses(delivered: LiveRun) -> None:
    """Losses estimated from stamps never exceed the real ones (published - received)."""
    run = delivered
    missing = run.images_published - run.count("frames received")
    assert 0 <= run.count("frames lost before node") <= missing
    assert run.node_values["camera rate from stamps (Hz)"] == "10.0"
