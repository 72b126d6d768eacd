"""The installed `segment_node` as its own process, and a client in a private rclpy context.

The robustness tests talk to the node only as a user's camera and tools would: DDS topics,
services and its log. `NodeProcess` (test/node_process.py) collects the node's stderr lines,
`start_node(name, ...)` starts one on the test model; `Client` publishes frames
and prompts, collects results and the latest diagnostics values. The client has its own rclpy
context, so this suite runs beside test/ros (whose session fixture owns the default context).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from node_process import EXE, REPO, NodeProcess, call_service, wait_for
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from sensor_msgs.msg import Image

from edgesam_ros.ros import convert, qos
from edgesam_ros.ros.diagnostics import status_name

msg = pytest.importorskip("edgesam_ros.msg", reason="interfaces not built (run `make build`)")

MODEL = REPO / ".cache" / "random_tiny"
_stamps = itertools.count(1000)


def start_node(name: str, *ros_args: str) -> NodeProcess:
    """The node named `name` on the test model, once it is active."""
    process = NodeProcess("-r", f"__node:={name}", *model_args(), *ros_args)
    process.line("active: segmenting", timeout=60)
    return process


def model_args() -> list[str]:
    """Parameters running the node on the random tiny model, one CPU thread, no warm-up."""
    encoder, decoder = MODEL / "encoder.onnx", MODEL / "decoder.onnx"
    if not (encoder.is_file() and decoder.is_file()):
        pytest.skip(f"the random tiny test model is missing ({MODEL})")
    return ["-p", f"model.encoder:={encoder}", "-p", f"model.decoder:={decoder}",
            "-p", "engine.providers:=[cpu]", "-p", "engine.intra_op_threads:=1",
            "-p", "engine.warmup:=false"]


def run_node(*ros_args: str, timeout: float = 60,
             program_args: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run the node to completion (start-up failures), stderr as text."""
    if not EXE.is_file():
        pytest.skip("not built with colcon (run `make build`)")
    return subprocess.run([str(EXE), *program_args, "--ros-args", *ros_args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "OMP_NUM_THREADS": "1"})


class Client:
    """Publishers and listeners for one node, spun in a background thread."""

    def __init__(self, node_name: str, namespace: str = "") -> None:
        self.prefix = f"{namespace}/{node_name}"
        self.context = Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(f"{node_name}_client", namespace=namespace or None,
                                      context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.results: list = []
        self.diagnostics: dict[str, str] = {}
        self.listen(msg.SegmentationArray, f"{self.prefix}/segmentation", self.results.append)
        self.listen(DiagnosticArray, "/diagnostics", self._on_diagnostics)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()
        self._publishers: dict[str, Any] = {}

    def _on_diagnostics(self, array: DiagnosticArray) -> None:
        for status in array.status:
            if status.name == status_name(self.prefix):
                self.diagnostics = {kv.key: kv.value for kv in status.values}

    def listen(self, msg_type: type, topic: str, callback: Callable) -> None:
        self.node.create_subscription(msg_type, topic, callback, qos.profile("reliable", 50))

    def publisher(self, msg_type: type, topic: str, reliability: str = "reliable",
                  depth: int = 50) -> Any:
        """A publisher on `topic`, created once and connected to the node."""
        if topic not in self._publishers:
            publisher = self.node.create_publisher(msg_type, topic, qos.profile(reliability, depth))
            assert wait_for(lambda: publisher.get_subscription_count() > 0), f"no node on {topic}"
            self._publishers[topic] = publisher
        return self._publishers[topic]

    def publish_image(self, image: Image, topic: str = "/image") -> None:
        self.publisher(type(image), topic, "best_effort", 10).publish(image)

    def result_for(self, image: Image, topic: str = "/image", timeout: float = 15.0) -> Any:
        """Publish `image` (again every second: best effort) and return its SegmentationArray."""
        found = lambda: [r for r in self.results if r.header == image.header]  # noqa: E731
        deadline = time.monotonic() + timeout
        while not found() and time.monotonic() < deadline:
            self.publish_image(image, topic)
            wait_for(lambda: bool(found()), 1.0)
        assert found(), f"no result for stamp {image.header.stamp.sec}"
        return found()[0]

    def counter(self, key: str) -> int:
        return int(self.diagnostics.get(key, "0"))

    def call(self, srv_type: type, name: str, request: Any) -> Any:
        return call_service(self.node, srv_type, name, request)

    def close(self) -> None:
        self.executor.shutdown()
        self._thread.join(5)
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


def frame(pixels: np.ndarray | None = None, encoding: str = "rgb8", stamp: int | None = None,
          frame_id: str = "camera") -> Image:
    """A camera frame (default 64x48 gradient) with a fresh stamp (seconds) and frame_id."""
    if pixels is None:
        ramp = np.linspace(0, 255, 64, dtype=np.uint8)
        pixels = np.dstack([np.tile(ramp, (48, 1))] * 3)
    out = convert.array_to_image(np.ascontiguousarray(pixels), encoding)
    out.header.stamp.sec = next(_stamps) if stamp is None else stamp
    out.header.frame_id = frame_id
    return out


def prompt(points=((10.0, 10.0, 1),), box=None, action: int = 0, object_id: int = 0,
           label: str = "thing", stamp: int = 0, frame_id: str = "") -> Any:
    out = msg.ObjectPrompt(action=action, object_id=object_id, track=True, label=label)
    out.header.stamp.sec, out.header.frame_id = stamp, frame_id
    out.points = [msg.PromptPoint(x=float(x), y=float(y), label=int(lbl)) for x, y, lbl in points]
    if box is not None:
        out.has_box, out.box = True, np.asarray(box, np.float32)
    return out


def rejections(result: Any) -> list[str]:
    """Status messages of the rejected objects of a result."""
    return [o.status_message for o in result.objects
            if o.state == msg.ObjectSegmentation.STATE_REJECTED]
