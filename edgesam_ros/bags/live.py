"""The live path in one process: bag -> `Player` -> segment node -> recorder, over real DDS.

Used by the demo and the end-to-end test. Everything runs in a private rclpy context (it does not
disturb a caller's own), the node with its normal QoS: images best effort (sensor data), so when
the node is slower than the bag, frames are dropped by design and the run says how many.
Results are recorded by header stamp, to be scored against the bag's ground truth.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from edgesam_ros.msg import SegmentationArray
from edgesam_ros.ros import convert, messages
from edgesam_ros.ros.node import NODE_NAME, SegmentNode

from .errors import BagError
from .replay import Player, PlayOptions
from .storage import open_bag

#: The recorder takes everything the node publishes (reliable, deep): drops happen in the node.
RECORDER_QOS = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)


@dataclass
class LiveRun:
    """What came out of the node while the bag played."""

    images_published: int = 0
    id_images: dict[int, np.ndarray] = field(default_factory=dict)  # stamp ns -> id image
    segmentations: list[SegmentationArray] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def processed(self) -> int:
        return len(self.id_images)

    @property
    def fps(self) -> float:
        return self.processed / self.wall_s if self.wall_s else 0.0

    @property
    def mean_total_ms(self) -> float:
        times = [s.total_ms for s in self.segmentations]
        return float(np.mean(times)) if times else float("nan")


def _recorder(node: Node, namespace: str, run: LiveRun) -> None:
    """Subscribe the node's outputs and store them in `run`."""

    def on_mask(msg: Image) -> None:
        run.id_images[messages.stamp_ns(msg.header)] = convert.image_to_array(msg)

    outputs = f"{namespace}/{NODE_NAME}"
    node.create_subscription(Image, f"{outputs}/mask", on_mask, RECORDER_QOS)
    node.create_subscription(
        SegmentationArray, f"{outputs}/segmentation", run.segmentations.append, RECORDER_QOS
    )


def run_live(
    bag: Path,
    image_topic: str,
    model: tuple[Path, Path] | None = None,
    rate: float = 1.0,
    settle_s: float = 2.0,
    namespace: str = "",
) -> LiveRun:
    """Play `bag` once into a fresh segment node and record its results.

    `model` is (encoder, decoder), None for the bundled one. After the bag ends, waits until no
    result came for `settle_s` seconds (the node finishes its last frame). A `namespace`
    ("/name") moves the node and every replayed topic under it, so parallel runs on one ROS
    domain (tests) do not hear each other.
    """
    context = Context()
    rclpy.init(args=[], context=context)
    # One executor thread, as the node's own `main` runs it. With two, while one thread is in a
    # callback the other finds the default (mutually exclusive) group's ready work it may not
    # take and loops on the wait set, holding the GIL: every numpy/cv2 call in the worker then
    # waits a switch interval to get it back (encode 17 ms -> up to 650 ms, frames dropped).
    executor = SingleThreadedExecutor(context=context)
    encoder, decoder = (str(p) for p in model) if model else ("", "")
    node = SegmentNode(
        context=context,
        namespace=namespace or None,
        cli_args=["--ros-args", "-r", f"image:={namespace}{image_topic}"],
        parameter_overrides=[
            Parameter("model.encoder", value=encoder),
            Parameter("model.decoder", value=decoder),
            Parameter("outputs.depth", value=100),
        ],
    )
    helper = rclpy.create_node("edgesam_live_bag", context=context)
    run = LiveRun()
    spinner = threading.Thread(target=executor.spin, daemon=True)
    try:
        if not node.autostart():
            raise BagError("the segment node did not start (see its log above)")
        _recorder(helper, namespace, run)
        executor.add_node(node)
        executor.add_node(helper)
        spinner.start()
        with open_bag(bag) as reader:
            remap = {c.topic: namespace + c.topic for c in reader.connections if namespace}
        player = Player(helper, bag, PlayOptions(rate=rate, remap=remap))
        waited_for = [t for t in player.publishers if t == image_topic or t.endswith("/prompts")]
        if not player.wait_for_subscribers(waited_for, timeout=10.0):
            raise BagError(f"the segment node never subscribed to {', '.join(waited_for)}")
        time.sleep(0.3)  # let the recorder's subscriptions match the node's publishers too
        began = time.monotonic()
        stats = player.play()
        run.images_published = stats.published[namespace + image_topic]
        last, count = time.monotonic(), 0
        while time.monotonic() - last < settle_s:
            time.sleep(0.05)
            if len(run.id_images) != count:
                last, count = time.monotonic(), len(run.id_images)
        run.wall_s = last - began
        return run
    finally:
        executor.shutdown()
        node.on_shutdown(None)
        node.destroy_node()
        helper.destroy_node()
        rclpy.shutdown(context=context)
