"""The live path as users run it: the segment node in its own process, the bag played by
`edgesam-ros play` in another, the node's results recorded in this one, all over DDS.

A camera driver is always another process (or machine), and large best-effort images cross a
process boundary very differently from inside one (docs/node.md, "Large images across
processes"): this is the path the demo, the delivery test and `edgesam-ros bench delivery`
measure. Both child processes start with the same DDS profile (`dds_profile`, the shipped one by
default), as the launch file and `edgesam-ros play` do. The node runs with its normal QoS: images
best effort, so a node slower than the bag drops frames by design and counts them; what the
transport lost before the node is counted from header stamp gaps, and both counts come from the
node's own /diagnostics. Results are recorded by header stamp, to be scored against the bag's
ground truth.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from edgesam_ros.msg import SegmentationArray
from edgesam_ros.ros import convert, dds_profile, messages
from edgesam_ros.ros.diagnostics import status_name
from edgesam_ros.ros.node import NODE_NAME

from .errors import BagError
from .fixtures import PROMPTS_TOPIC
from .storage import open_bag

#: The recorder takes everything the node publishes (reliable, deep): drops happen in the node.
RECORDER_QOS = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
START_TIMEOUT_S = 90.0  # node start-up (interpreter, model load) on a loaded 2-core machine
STOP_TIMEOUT_S = 20.0
#: `python -c` programs for the node (without a colcon install) and for `edgesam-ros play`
NODE_COMMAND = ("import sys; from edgesam_ros.entry_points import run; "
                "sys.exit(run('segment_node', sys.argv[1:]))")
CLI_COMMAND = "import sys; from edgesam_ros.cli import main; sys.exit(main())"


@dataclass
class LiveRun:
    """What the node did while the bag played (its results and its own counters)."""

    images_published: int = 0
    id_images: dict[int, np.ndarray] = field(default_factory=dict)  # stamp ns -> id image
    segmentations: list[SegmentationArray] = field(default_factory=list)
    result_times: list[float] = field(default_factory=list)  # monotonic receipt of each result
    node_values: dict[str, str] = field(default_factory=dict)  # its last /diagnostics status

    @property
    def processed(self) -> int:
        return len(self.segmentations)

    def count(self, key: str) -> int:
        """An integer counter of the node's diagnostics ("frames received", ...)."""
        return int(self.node_values.get(key, "0"))

    @property
    def wall_s(self) -> float:
        """Seconds between the first and the last result."""
        return self.result_times[-1] - self.result_times[0] if self.result_times else 0.0

    @property
    def fps(self) -> float:
        return (self.processed - 1) / self.wall_s if self.wall_s else 0.0

    @property
    def mean_total_ms(self) -> float:
        times = [s.total_ms for s in self.segmentations]
        return float(np.mean(times)) if times else float("nan")


def node_command() -> list[str]:
    """The installed `segment_node` (what `ros2 run` starts), else the same entry point."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_prefix
    except ImportError:
        return [sys.executable, "-c", NODE_COMMAND]
    try:
        exe = Path(get_package_prefix("edgesam_ros")) / "lib" / "edgesam_ros" / "segment_node"
    except PackageNotFoundError:
        return [sys.executable, "-c", NODE_COMMAND]
    return [str(exe)] if exe.is_file() else [sys.executable, "-c", NODE_COMMAND]


class _Recorder:
    """Subscribes the node's outputs and its diagnostics; fills a LiveRun."""

    def __init__(self, node: Node, namespace: str, record_masks: bool) -> None:
        self.run = LiveRun()
        self.status_name = status_name(f"{namespace}/{NODE_NAME}")
        self.diagnostics_at = 0.0  # monotonic time of the last status of our node
        outputs = f"{namespace}/{NODE_NAME}"
        self.topic = f"{outputs}/segmentation"
        if record_masks:
            node.create_subscription(Image, f"{outputs}/mask", self._on_mask, RECORDER_QOS)
        node.create_subscription(SegmentationArray, self.topic, self._on_result, RECORDER_QOS)
        node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics,
                                 RECORDER_QOS)

    def _on_mask(self, msg: Image) -> None:
        self.run.id_images[messages.stamp_ns(msg.header)] = convert.image_to_array(msg)

    def _on_result(self, msg: SegmentationArray) -> None:
        self.run.segmentations.append(msg)
        self.run.result_times.append(time.monotonic())

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name == self.status_name:
                self.run.node_values = {kv.key: kv.value for kv in status.values}
                self.diagnostics_at = time.monotonic()


class _NodeProcess:
    """The segment node in its own process; its log goes to a file shown when it fails."""

    def __init__(self, arguments: list[str], env: dict[str, str]) -> None:
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed by stop)
        self.process = subprocess.Popen([*node_command(), "--ros-args", *arguments], env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT, text=True)

    def failure(self, what: str) -> BagError:
        self.log.seek(0)
        tail = "".join(self.log.readlines()[-15:])
        return BagError(f"{what}; its log ends with:\n{tail}")

    def stop(self) -> None:
        """Ctrl-C as in a terminal (the node shuts down cleanly), kill if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.log.close()


def _node_arguments(namespace: str, image_topic: str, model: tuple[Path, Path] | None,
                    parameters: dict[str, object]) -> list[str]:
    encoder, decoder = (str(p) for p in model) if model else ("", "")
    values = {"model.encoder": encoder, "model.decoder": decoder, "outputs.depth": 100,
              "diagnostics.period": 0.5, **parameters}
    arguments = ["-r", f"__ns:={namespace or '/'}", "-r", f"image:={namespace}{image_topic}"]
    for name, value in values.items():  # JSON is YAML: '' stays a string, [cpu] a list
        arguments += ["-p", f"{name}:={json.dumps(value)}"]
    return arguments


def _wait(done: Callable[[], object], timeout: float, alive: subprocess.Popen) -> bool:
    """Poll `done()` until true, `timeout` seconds pass or the `alive` process ends."""
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline and alive.poll() is None:
        time.sleep(0.05)
    return bool(done())


def run_live(
    bag: Path,
    image_topic: str,
    model: tuple[Path, Path] | None = None,
    rate: float = 1.0,
    settle_s: float = 2.0,
    namespace: str = "",
    *,
    profile: str = dds_profile.SHIPPED,
    record_masks: bool = True,
    parameters: dict[str, object] | None = None,
) -> LiveRun:
    """Play `bag` once (in a `edgesam-ros play` process) into a fresh segment node process.

    `model` is (encoder, decoder), None for the bundled one; `parameters` are more node
    parameters. `profile` is the DDS profile of both processes (`dds_profile.apply` rules).
    After the bag ends, waits until no result came for `settle_s` seconds, then for one more
    diagnostics status of the node. A `namespace` ("/name") moves the node and every replayed
    topic under it, so parallel runs on one ROS domain (tests) do not hear each other.
    """
    env = dict(os.environ)
    try:
        dds_profile.apply(profile, env)
    except ValueError as error:
        raise BagError(str(error)) from None
    with open_bag(bag) as reader:
        topics = {c.topic for c in reader.connections}
        published = sum(c.msgcount for c in reader.connections if c.topic == image_topic)
    if image_topic not in topics:
        raise BagError(f"topic {image_topic} is not in the bag")
    context = Context()
    rclpy.init(args=[], context=context)
    executor = SingleThreadedExecutor(context=context)
    helper = rclpy.create_node("edgesam_live_recorder", context=context)
    recorder = _Recorder(helper, namespace, record_masks)
    executor.add_node(helper)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    node = _NodeProcess(_node_arguments(namespace, image_topic, model, parameters or {}), env)
    try:
        if not _wait(lambda: helper.get_publishers_info_by_topic(recorder.topic),
                     START_TIMEOUT_S, node.process):
            raise node.failure("the segment node did not become active")
        time.sleep(0.3)  # let the recorder's subscriptions match the node's publishers too
        wait_for = [image_topic] + ([PROMPTS_TOPIC] if PROMPTS_TOPIC in topics else [])
        play = [sys.executable, "-c", CLI_COMMAND, "play", str(bag), "-r", f"{rate:g}",
                "-d", "0.2", "--dds-profile", profile,
                *[a for t in wait_for for a in ("--wait-for", t)],
                *[a for t in sorted(topics) if namespace for a in ("-m", f"{t}:={namespace}{t}")]]
        player = subprocess.run(play, env=env, capture_output=True, text=True)
        if player.returncode != 0:
            raise BagError(f"the bag player failed: {player.stderr.strip()}")
        recorder.run.images_published = published
        last, count = time.monotonic(), 0
        while time.monotonic() - last < settle_s and node.process.poll() is None:
            time.sleep(0.05)
            if recorder.run.processed != count:
                last, count = time.monotonic(), recorder.run.processed
        settled = time.monotonic()
        if not _wait(lambda: recorder.diagnostics_at > settled, 5.0, node.process):
            raise node.failure("the segment node published no diagnostics after the bag")
        return recorder.run
    finally:
        node.stop()
        executor.shutdown()
        spinner.join(5)  # before the context goes: no DDS thread may outlive its participant
        helper.destroy_node()
        rclpy.shutdown(context=context)
