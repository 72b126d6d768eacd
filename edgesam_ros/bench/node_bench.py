"""End-to-end benchmark of the segment node next to the core's own time for the same frames.

    edgesam-ros bench node [--encoder E --decoder D] [--frames 20] [--threads 2]

For 640x480 and 1280x720 with 1 and 10 objects it measures, in one process over real DDS:
* core: `Tracker.step` on the engine (encode + decode + tracking) for the same frames;
* latency: image published -> SegmentationArray received, one frame at a time, alternating
  frame by frame with a core step, so both see the same machine (medians);
* flood: the camera publishing twice as fast as the node can go; throughput, dropped frames, and
  the latency of the last third of the frames against the first third (no growth: frames are
  dropped, not queued).
Overhead = latency / core - 1 (target <= 15 %). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Sequence

import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

from edgesam_ros.engine import EngineConfig, ModelError, SamEngine
from edgesam_ros.msg import ObjectPrompt, ObjectPromptArray, SegmentationArray
from edgesam_ros.ros import convert, qos
from edgesam_ros.ros.node import SegmentNode
from edgesam_ros.ros.session import ClearRequest
from edgesam_ros.scenes.config import SceneConfig
from edgesam_ros.scenes.still import generate_scene
from edgesam_ros.tracking import Tracker, UserPrompt

SIZES = ((480, 640), (720, 1280))
OBJECT_COUNTS = (1, 10)


def object_boxes(size: tuple[int, int], count: int) -> np.ndarray:
    """`count` boxes on a grid over the image (prompts for that many objects)."""
    h, w = size
    side = int(np.ceil(np.sqrt(count)))
    cells = [(i % side, i // side) for i in range(count)]
    cw, ch = w / side, h / side
    return np.array([[x * cw + cw * 0.2, y * ch + ch * 0.2, x * cw + cw * 0.8, y * ch + ch * 0.8]
                     for x, y in cells], np.float32)


class Rig:
    """The node under test and a client, spun in a background thread."""

    def __init__(self, parameters: dict) -> None:
        self.node = SegmentNode(parameter_overrides=[Parameter(k, value=v)
                                                     for k, v in parameters.items()])
        self.client = rclpy.create_node("edgesam_node_bench")
        self.results: dict[tuple[int, int], float] = {}
        self.client.create_subscription(SegmentationArray, "/edgesam/segmentation",
                                        self._on_result, qos.profile("reliable", 100))
        self.images = self.client.create_publisher(Image, "/image", qos.profile("best_effort", 1))
        self.prompts = self.client.create_publisher(ObjectPromptArray, "/edgesam/prompts",
                                                    qos.profile("reliable", 10))
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self.executor.add_node(self.client)
        if not self.node.autostart():
            raise SystemExit("the node did not start (see the log)")
        threading.Thread(target=self.executor.spin, daemon=True).start()
        while not (self.images.get_subscription_count() and self.prompts.get_subscription_count()):
            time.sleep(0.01)

    def _on_result(self, msg: SegmentationArray) -> None:
        self.results[(msg.header.stamp.sec, msg.header.stamp.nanosec)] = time.perf_counter()

    def publish(self, image: Image, stamp: int) -> float:
        image.header.stamp.sec = stamp
        sent = time.perf_counter()
        self.images.publish(image)
        return sent

    def wait(self, stamp: int, timeout: float = 30.0) -> float | None:
        deadline = time.monotonic() + timeout
        while (stamp, 0) not in self.results and time.monotonic() < deadline:
            time.sleep(0.0005)
        return self.results.get((stamp, 0))

    def close(self) -> None:
        self.node.on_shutdown(None)
        self.executor.shutdown()
        self.node.destroy_node()
        self.client.destroy_node()


def core_tracker(boxes: np.ndarray) -> Tracker:
    """A tracker holding the same objects as the node (its `step` is the core's work)."""
    tracker = Tracker()
    for box in boxes:
        tracker.add(UserPrompt(box=box))
    return tracker


def node_case(
    rig: Rig, engine: SamEngine, image: np.ndarray, boxes: np.ndarray, frames: int, stamp: int
) -> dict:
    """Serial latency interleaved frame by frame with the core's own step on the same image (so
    machine noise hits both alike and the ratio holds), then a flood at twice the node's rate."""
    rig.prompts.publish(ObjectPromptArray(prompts=[
        ObjectPrompt(action=ObjectPrompt.ACTION_ADD, has_box=True, box=b, track=True)
        for b in boxes]))
    message = convert.array_to_image(image, "rgb8")
    tracker = core_tracker(boxes)
    latencies, cores = [], []
    for i in range(frames + 1):
        sent = rig.publish(message, stamp + i)
        got = rig.wait(stamp + i)
        start = time.perf_counter()
        tracker.step(engine, image)
        if got is not None and i:  # frame 0 applies the prompts
            latencies.append((got - sent) * 1e3)
            cores.append((time.perf_counter() - start) * 1e3)
    latency = float(np.median(latencies))
    period = latency / 2e3
    first = stamp + frames + 1
    sent_at = {}
    dropped_before = rig.node._stats.dropped
    flood_start = time.perf_counter()
    for i in range(frames * 4):
        sent_at[first + i] = rig.publish(message, first + i)
        time.sleep(period)
    rig.wait(first + frames * 4 - 1, timeout=10)
    elapsed = time.perf_counter() - flood_start
    done = [(s, rig.results[(s, 0)] - t) for s, t in sent_at.items() if (s, 0) in rig.results]
    third = max(len(done) // 3, 1)
    early = np.median([d for _, d in done[:third]]) * 1e3
    late = np.median([d for _, d in done[-third:]]) * 1e3
    rig.node._session.submit(ClearRequest())
    return {
        "core": float(np.median(cores)),
        "latency": latency,
        "p95": float(np.percentile(latencies, 95)),
        "throughput": len(done) / elapsed,
        "dropped": rig.node._stats.dropped - dropped_before,
        "growth": late / early,
    }


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="edgesam-ros bench node", description=__doc__)
    parser.add_argument("--encoder", default="", help="encoder ONNX (default: bundled)")
    parser.add_argument("--decoder", default="", help="decoder ONNX (default: bundled)")
    parser.add_argument("--frames", type=int, default=30, help="frames per measurement")
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads")
    parser.add_argument("--providers", default="cpu", help="comma-separated providers")
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv or [])
    providers = args.providers.split(",")
    config = EngineConfig(providers=tuple(providers), intra_op_threads=args.threads)
    try:
        engine = (SamEngine(args.encoder, args.decoder, config) if args.encoder
                  else SamEngine.bundled(config))
    except ModelError as error:
        print(f"cannot load the model: {error}")
        return 1
    rclpy.init()
    rig = Rig({"model.encoder": args.encoder, "model.decoder": args.decoder,
               "engine.providers": providers, "engine.intra_op_threads": args.threads,
               "outputs.overlay": False})
    rows = []
    stamp = 1
    try:
        for size in SIZES:
            image = generate_scene(0, SceneConfig(height=size[0], width=size[1])).image
            for count in OBJECT_COUNTS:
                boxes = object_boxes(size, count)
                node = node_case(rig, engine, image, boxes, args.frames, stamp)
                stamp += args.frames * 10
                rows.append((size, count, node))
    finally:
        rig.close()
        rclpy.shutdown()
    print(f"model: {engine.info.encoder_path} on {engine.info.encoder_provider}\n")
    print("| image | objects | core ms | node latency ms (p95) | overhead | flood Hz | "
          "dropped | latency last/first third |")
    print("|---|---|---|---|---|---|---|---|")
    for (h, w), count, node in rows:
        core = node["core"]
        print(f"| {w}x{h} | {count} | {core:.1f} | {node['latency']:.1f} ({node['p95']:.1f}) | "
              f"{(node['latency'] / core - 1) * 100:+.0f} % | {node['throughput']:.1f} | "
              f"{node['dropped']} | {node['growth']:.2f} |")
    return 0
