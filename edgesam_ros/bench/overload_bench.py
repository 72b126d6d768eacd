"""Overload and soak benchmark: a camera far faster than the node, for a minute or ten.

    edgesam-ros bench overload [--seconds 60] [--rate 200] [--soak-minutes 10] [--objects 1]

The segment node runs as its own process (as on a robot); this process publishes frames at
`--rate` Hz over DDS with `--objects` tracked objects and listens to the results. A node that
drops frames instead of queuing them keeps its latency flat (last third / first third about 1)
and its memory flat (RSS end / start about 1), however long the flood lasts. Prints one markdown
table: latency first/last third, RSS start/end (the node's), frames published by us and
received / processed / dropped by the node (its diagnostics).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.executors import SingleThreadedExecutor
from sensor_msgs.msg import Image

from edgesam_ros.msg import ObjectPrompt, ObjectPromptArray, SegmentationArray
from edgesam_ros.ros import convert, qos
from edgesam_ros.ros.diagnostics import status_name
from edgesam_ros.scenes.config import SceneConfig
from edgesam_ros.scenes.still import generate_scene

from .node_bench import object_boxes

NODE = "edgesam_overload"
IMAGE_TOPIC = "/overload/image"
RUN_NODE = "import sys; from edgesam_ros.ros.node import main; sys.exit(main(sys.argv[1:]))"


def rss_mb(pid: int) -> float:
    """Resident memory of process `pid` in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Listener:
    """Result arrival times by stamp and the node's latest diagnostics values."""

    arrived: dict[tuple[int, int], float] = field(default_factory=dict)
    diagnostics: dict[str, str] = field(default_factory=dict)

    def on_result(self, msg: SegmentationArray) -> None:
        self.arrived[(msg.header.stamp.sec, msg.header.stamp.nanosec)] = time.perf_counter()

    def on_diagnostics(self, array: DiagnosticArray) -> None:
        for status in array.status:
            if status.name == status_name(f"/{NODE}"):
                self.diagnostics = {kv.key: kv.value for kv in status.values}


def start_node(args: argparse.Namespace) -> subprocess.Popen:
    ros_args = ["--ros-args", "-r", f"__node:={NODE}", "-r", f"image:={IMAGE_TOPIC}",
                "-p", "engine.providers:=[cpu]", "-p", f"engine.intra_op_threads:={args.threads}",
                "-p", "outputs.overlay:=false", "-p", "log_throttle:=30.0"]
    if args.encoder:
        ros_args += ["-p", f"model.encoder:={args.encoder}", "-p", f"model.decoder:={args.decoder}"]
    return subprocess.Popen([sys.executable, "-c", RUN_NODE, *ros_args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def third_ratio(latencies: list[float]) -> tuple[float, float]:
    """Median latency of the first and of the last third of the frames (ms)."""
    third = max(len(latencies) // 3, 1)
    return float(np.median(latencies[:third])), float(np.median(latencies[-third:]))


def flood(args: argparse.Namespace, pid: int, images, listener: Listener) -> dict:
    """Publish at `args.rate` for the run's duration; latency and RSS as the node sees them."""
    h, w = args.height, args.width
    message = convert.array_to_image(generate_scene(0, SceneConfig(height=h, width=w)).image,
                                     "rgb8")
    period, seconds = 1.0 / args.rate, args.soak_minutes * 60 if args.soak_minutes else args.seconds
    sent: dict[tuple[int, int], float] = {}
    rss: list[float] = []
    start = time.perf_counter()
    next_sample = start + min(2.0, seconds / 4)  # after the first frames have set up the buffers
    i = 0
    while (now := time.perf_counter()) - start < seconds:
        message.header.stamp.sec, message.header.stamp.nanosec = 1 + i // 1000, i % 1000 * 10**6
        sent[(message.header.stamp.sec, message.header.stamp.nanosec)] = time.perf_counter()
        images.publish(message)
        if now >= next_sample:
            rss.append(rss_mb(pid))
            next_sample = now + 1.0
        i += 1
        time.sleep(max(0.0, start + i * period - time.perf_counter()))
    time.sleep(2.0)  # the last results and a diagnostics message
    rss.append(rss_mb(pid))
    latencies = [(listener.arrived[s] - t) * 1e3 for s, t in sent.items() if s in listener.arrived]
    first, last = third_ratio(latencies) if latencies else (float("nan"), float("nan"))
    return {"seconds": seconds, "published": len(sent), "results": len(latencies),
            "first": first, "last": last, "rss_start": rss[0], "rss_end": rss[-1]}


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="edgesam-ros bench overload", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="flood duration")
    parser.add_argument("--soak-minutes", type=float, default=0.0,
                        help="soak instead: flood for this many minutes")
    parser.add_argument("--rate", type=float, default=200.0, help="frames per second published")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--objects", type=int, default=1, help="objects tracked during the flood")
    parser.add_argument("--encoder", default="", help="encoder ONNX (default: bundled)")
    parser.add_argument("--decoder", default="", help="decoder ONNX (default: bundled)")
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads")
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv or [])
    process = start_node(args)
    rclpy.init()
    client = rclpy.create_node("edgesam_overload_bench")
    listener = Listener()
    client.create_subscription(SegmentationArray, f"/{NODE}/segmentation", listener.on_result,
                               qos.profile("reliable", 100))
    client.create_subscription(DiagnosticArray, "/diagnostics", listener.on_diagnostics,
                               qos.profile("reliable", 10))
    images = client.create_publisher(Image, IMAGE_TOPIC, qos.profile("best_effort", 1))
    prompts = client.create_publisher(ObjectPromptArray, f"/{NODE}/prompts",
                                      qos.profile("reliable", 10))
    executor = SingleThreadedExecutor()
    executor.add_node(client)
    threading.Thread(target=executor.spin, daemon=True).start()
    try:
        deadline = time.monotonic() + 60
        while not (images.get_subscription_count() and prompts.get_subscription_count()):
            if process.poll() is not None or time.monotonic() > deadline:
                print("the node did not start (run it by hand to see why)", file=sys.stderr)
                return 1
            time.sleep(0.05)
        boxes = object_boxes((args.height, args.width), args.objects)
        prompts.publish(ObjectPromptArray(prompts=[
            ObjectPrompt(action=ObjectPrompt.ACTION_ADD, has_box=True, box=b, track=True)
            for b in boxes]))
        row = flood(args, process.pid, images, listener)
    finally:
        executor.shutdown()
        client.destroy_node()
        rclpy.shutdown()
        process.terminate()
        process.wait(20)
    d = listener.diagnostics
    print(f"{args.width}x{args.height} rgb8 at {args.rate:g} Hz for {row['seconds']:g} s, "
          f"{args.objects} object(s), node: {args.encoder or 'bundled model'}\n")
    print("| published | node received | processed | dropped | results | latency first third ms "
          "| last third ms | last/first | RSS start MB | RSS end MB | end/start |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {row['published']} | {d.get('frames received', '?')} | "
          f"{d.get('frames processed', '?')} | {d.get('frames dropped', '?')} | {row['results']} | "
          f"{row['first']:.1f} | {row['last']:.1f} | {row['last'] / row['first']:.2f} | "
          f"{row['rss_start']:.0f} | {row['rss_end']:.0f} | "
          f"{row['rss_end'] / row['rss_start']:.3f} |")
    return 0
