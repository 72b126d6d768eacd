"""Fixtures for tests that need rclpy and the built interfaces (`make build` first)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import pytest

rclpy = pytest.importorskip("rclpy", reason="rclpy is not installed (run through `make test`)")


@pytest.fixture(scope="session")
def ros_context() -> Iterator[None]:
    """One rclpy context for the session: init/shutdown per test costs ~0.5 s with Fast DDS."""
    os.environ.setdefault("ROS_DOMAIN_ID", "42")
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
