"""`edgesam-ros play`: recorded timing, rate, start offset, loop, topic selection, remap, QoS."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed (run through `make test`)")

from rclpy.node import Node
from rclpy.qos import (
    DurabilityPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)
from rosbags.rosbag2 import Reader
from sensor_msgs.msg import Image

from edgesam_ros.bags import fixtures, replay
from edgesam_ros.bags.errors import BagError
from edgesam_ros.bags.fixtures import FixtureOptions, make_bag
from edgesam_ros.bags.replay import Player, PlayOptions
from edgesam_ros.ros import dds_profile

pytestmark = pytest.mark.ros
FRAMES, FPS = 10, 10.0  # 0.9 s of bag
BAG_S = (FRAMES - 1) / FPS
#: Replayed topics go here: other test runs on the same ROS domain must not receive them.
PRIVATE = f"/test_bag_replay_{os.getpid()}"
IMAGE_ONLY = {"topics": (fixtures.IMAGE_TOPIC,),
              "remap": {fixtures.IMAGE_TOPIC: PRIVATE + fixtures.IMAGE_TOPIC}}


@pytest.fixture(scope="module")
def timing_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small images (cheap to publish) so wall time is the bag's timing, not the transport's."""
    out = tmp_path_factory.mktemp("replay") / "bag"
    make_bag(out, FixtureOptions(preset="tiny", frames=FRAMES, size=(160, 120), fps=FPS,
                                 prompts=True, storage="mcap"))
    return out


def _play(node: Node, bag: Path, **options: object) -> replay.PlayStats:
    return Player(node, bag, PlayOptions(**options)).play()


@pytest.mark.parametrize("rate", [1.0, 2.0, 0.5])
def test_rate_scales_the_duration(ros_node: Node, timing_bag: Path, rate: float) -> None:
    stats = _play(ros_node, timing_bag, rate=rate, **IMAGE_ONLY)
    assert stats.published[PRIVATE + fixtures.IMAGE_TOPIC] == FRAMES
    assert stats.wall_s == pytest.approx(BAG_S / rate, abs=0.15)


def test_start_offset_skips_the_beginning(ros_node: Node, timing_bag: Path) -> None:
    stats = _play(ros_node, timing_bag, start_offset=0.45, **IMAGE_ONLY)
    assert stats.published[PRIVATE + fixtures.IMAGE_TOPIC] == 5  # frames at 0.5 .. 0.9 s
    assert stats.wall_s == pytest.approx(0.4, abs=0.15)


def test_remapped_topic_receives_the_recorded_bytes(ros_node: Node, timing_bag: Path) -> None:
    received: list[bytes] = []
    qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.BEST_EFFORT)
    ros_node.create_subscription(Image, PRIVATE + "/replayed", received.append, qos, raw=True)
    player = Player(ros_node, timing_bag, PlayOptions(
        topics=(fixtures.IMAGE_TOPIC,), remap={fixtures.IMAGE_TOPIC: PRIVATE + "/replayed"}
    ))
    assert player.wait_for_subscribers([fixtures.IMAGE_TOPIC], timeout=5.0)
    stats = player.play()
    assert stats.published == {PRIVATE + "/replayed": FRAMES}
    deadline = time.monotonic() + 2.0
    while len(received) < FRAMES and time.monotonic() < deadline:
        time.sleep(0.05)
    with Reader(timing_bag) as reader:
        images = [c for c in reader.connections if c.topic == fixtures.IMAGE_TOPIC]
        recorded = [bytes(raw) for _, _, raw in reader.messages(images)]
    assert received == recorded


def test_loop_plays_again_until_stopped(ros_node: Node, timing_bag: Path) -> None:
    player = Player(ros_node, timing_bag, PlayOptions(rate=4.0, loop=True, **IMAGE_ONLY))
    count = [0]

    def on_message(topic: str, stamp: int) -> None:
        count[0] += 1
        if count[0] == 2 * FRAMES + 3:
            player.stop.set()

    stats = player.play(on_message)
    assert stats.loops == 2
    assert stats.published[PRIVATE + fixtures.IMAGE_TOPIC] == 2 * FRAMES + 3


def test_publishers_offer_the_recorded_qos(ros_node: Node, timing_bag: Path) -> None:
    remap = {t: PRIVATE + t for t in (fixtures.IMAGE_TOPIC, fixtures.PROMPTS_TOPIC)}
    player = Player(ros_node, timing_bag, PlayOptions(remap=remap))
    image = player.publishers[fixtures.IMAGE_TOPIC].qos_profile
    prompts = player.publishers[fixtures.PROMPTS_TOPIC].qos_profile
    assert image.reliability == ReliabilityPolicy.BEST_EFFORT
    assert (prompts.reliability, prompts.durability) == (
        ReliabilityPolicy.RELIABLE, DurabilityPolicy.TRANSIENT_LOCAL
    )
    assert prompts.depth == 100


def test_no_recorded_qos_means_sensor_data() -> None:
    assert replay.publisher_qos([]) == qos_profile_sensor_data


def test_bad_requests_are_clear_errors(ros_node: Node, timing_bag: Path) -> None:
    with pytest.raises(BagError, match="topic /nope is not in the bag"):
        Player(ros_node, timing_bag, PlayOptions(topics=("/nope",)))
    with pytest.raises(BagError, match="start offset"):
        Player(ros_node, timing_bag, PlayOptions(start_offset=5.0))
    with pytest.raises(BagError, match="unknown message type foo_msgs/msg/Bar"):
        replay.message_type("foo_msgs/msg/Bar")


@pytest.fixture
def private_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """`play` sets its DDS profile in os.environ: undo it for the tests after this one."""
    for name in (dds_profile.FASTDDS_VARIABLE, dds_profile.FASTRTPS_VARIABLE, "ROS_DISTRO"):
        # setenv first: delenv of an unset variable records nothing, so what `play` then sets
        # would outlive the test
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


def test_cli_exit_codes(timing_bag: Path, capsys: pytest.CaptureFixture[str],
                        private_environment: None) -> None:
    assert replay.main([str(timing_bag), "--topics", "/nope", "--delay", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("play: error: topic /nope is not in the bag") and "\n" not in err
    argv = [str(timing_bag), "--rate", "8", "--delay", "0", "--topics", fixtures.IMAGE_TOPIC,
            "--remap", f"{fixtures.IMAGE_TOPIC}:={PRIVATE}/cli"]
    assert replay.main(argv) == 0
    assert f"played {FRAMES} messages on 1 topics" in capsys.readouterr().out


def test_cli_uses_the_shipped_dds_profile_and_waits_for_subscribers(
    ros_node: Node, timing_bag: Path, capsys: pytest.CaptureFixture[str],
    private_environment: None,
) -> None:
    received: list[Image] = []
    ros_node.create_subscription(Image, f"{PRIVATE}/waited", received.append,
                                 QoSProfile(depth=100, reliability=ReliabilityPolicy.BEST_EFFORT))
    argv = [str(timing_bag), "--rate", "4", "--delay", "0", "--topics", fixtures.IMAGE_TOPIC,
            "--remap", f"{fixtures.IMAGE_TOPIC}:={PRIVATE}/waited",
            "--wait-for", fixtures.IMAGE_TOPIC]
    assert replay.main(argv) == 0  # ros_node is spun in the background meanwhile
    assert f"played {FRAMES} messages" in capsys.readouterr().out
    deadline = time.monotonic() + 5
    while len(received) < FRAMES and time.monotonic() < deadline:
        time.sleep(0.05)
    shipped = dds_profile.resolve(dds_profile.SHIPPED)
    assert os.environ[dds_profile.FASTDDS_VARIABLE] == shipped  # set before its participant
    assert len(received) == FRAMES  # with --delay 0, only --wait-for kept the first frames


@pytest.mark.parametrize(("extra", "error"), [
    (["--dds-profile", "/no/such.xml"], "play: error: DDS profile /no/such.xml does not exist"),
    (["--wait-for", "/nope"], "play: error: --wait-for /nope: not a played topic"),
])
def test_cli_profile_and_wait_errors_are_one_line(
    timing_bag: Path, capsys: pytest.CaptureFixture[str], private_environment: None,
    extra: list[str], error: str,
) -> None:
    assert replay.main([str(timing_bag), "--delay", "0", *extra]) == 2
    assert capsys.readouterr().err.strip() == error
