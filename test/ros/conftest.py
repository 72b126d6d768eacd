"""Fixtures for tests that need rclpy and the built interfaces (`make build` first)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from node_process import call_service

rclpy = pytest.importorskip("rclpy", reason="rclpy is not installed (run through `make test`)")


@pytest.fixture(scope="session")
def ros_context() -> Iterator[None]:
    """One rclpy context for the session: init/shutdown per test costs ~0.5 s with Fast DDS."""
    rclpy.init()
    yield
    rclpy.shutdown()


@pytest.fixture
def ros_node(ros_context: None, request: pytest.FixtureRequest) -> Iterator[rclpy.node.Node]:
    """A throw-away node named after the test."""
    name = "test_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:50]
    node = rclpy.create_node(name)
    yield node
    node.destroy_node()


SpinUntil = Callable[..., bool]


@pytest.fixture(scope="session")
def spin_until() -> SpinUntil:
    """`spin_until(node, done, timeout=10.0)`: spin `node` until `done()` or time runs out."""

    def spin(node: rclpy.node.Node, done: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.05)
        return done()

    return spin


# --------------------------------------------------------------------------- segment node harness
# Used by test_node_*.py: one SegmentNode per test module, spun with a client node in a thread.

REPO = Path(__file__).resolve().parents[2]
RANDOM_MODEL = REPO / ".cache" / "random_tiny"


def random_model_parameters(**extra: object) -> dict[str, object]:
    """Overrides that run the node on the random-weight tiny model, single-threaded on CPU."""
    encoder, decoder = RANDOM_MODEL / "encoder.onnx", RANDOM_MODEL / "decoder.onnx"
    if not (encoder.is_file() and decoder.is_file()):
        pytest.skip(f"the random tiny test model is missing ({RANDOM_MODEL})")
    return {
        "model.encoder": str(encoder),
        "model.decoder": str(decoder),
        "engine.providers": ["cpu"],
        "engine.intra_op_threads": 1,
        "engine.warmup": False,
        **extra,
    }


class NodeHarness:
    """A SegmentNode plus a client node, both spun by one executor in a background thread."""

    def __init__(self, parameters: dict[str, object], name: str = "edgesam",
                 namespace: str = "") -> None:
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.parameter import Parameter

        from edgesam_ros.ros.node import SegmentNode

        overrides = [Parameter(k, value=v) for k, v in parameters.items()]
        self.node = SegmentNode(name, namespace=namespace or None,
                                parameter_overrides=overrides)
        self.client = rclpy.create_node(f"{name}_test_client", namespace=namespace or None)
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self.executor.add_node(self.client)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.prefix = f"{namespace}/{name}"

    def start(self) -> bool:
        """Drive the node to active (autostart) and start spinning."""
        ok = self.node.autostart()
        self.spin()
        return ok

    def spin(self) -> None:
        """Start spinning (without driving the lifecycle)."""
        self._thread.start()

    def listen(self, msg_type: type, topic: str, reliability: str = "reliable") -> list:
        from edgesam_ros.ros import qos

        received: list = []
        self.client.create_subscription(msg_type, topic, received.append,
                                        qos.profile(reliability, 50))
        return received

    def publisher(self, msg_type: type, topic: str, reliability: str = "reliable") -> object:
        from edgesam_ros.ros import qos

        publisher = self.client.create_publisher(msg_type, topic, qos.profile(reliability, 50))
        assert wait_for(lambda: publisher.get_subscription_count() > 0), f"no subscriber: {topic}"
        return publisher

    def call(self, srv_type: type, name: str, request: object) -> object:
        return call_service(self.client, srv_type, name, request)

    def close(self) -> None:
        self.node.on_shutdown(None)
        self.executor.shutdown()
        self._thread.join(5)
        self.node.destroy_node()
        self.client.destroy_node()


def wait_for(done: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll `done()` (other threads spin) until true or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        time.sleep(0.01)
    return done()
