"""Session fixtures of the bag tests: small fixture bags (both storages) and one engine.

Bags are made once per session (a few hundred ms each). The model is the bundled one when its
weights are present, else the random-weight plumbing model (see `bag_helpers`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from bag_helpers import FRAMES, SMALL, model_paths

from edgesam_ros.bags.fixtures import FixtureOptions, make_bag
from edgesam_ros.engine import EngineConfig, SamEngine

if TYPE_CHECKING:
    from rclpy.node import Node


@pytest.fixture(scope="session")
def bags(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A fixture bag with prompts, depth and png images, per storage format."""
    root = tmp_path_factory.mktemp("bags")
    for storage in ("sqlite3", "mcap"):
        options = FixtureOptions(
            frames=FRAMES, storage=storage, compressed="png", depth=True, **SMALL
        )
        make_bag(root / storage, options)
    return {storage: root / storage for storage in ("sqlite3", "mcap")}


@pytest.fixture(scope="session")
def engine() -> SamEngine:
    """One CPU engine for the session (loading takes a second or two)."""
    encoder, decoder = model_paths()
    return SamEngine(encoder, decoder, EngineConfig(providers=("cpu",)))


@pytest.fixture
def ros_node(request: pytest.FixtureRequest) -> Iterator[Node]:
    """A node in a private rclpy context, spun by a background executor during the test."""
    rclpy = pytest.importorskip("rclpy", reason="rclpy is not installed (run through `make test`)")
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor

    context = Context()
    rclpy.init(context=context)
    name = "test_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:50]
    node = rclpy.create_node(name, context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    yield node
    executor.shutdown()
    node.destroy_node()
    rclpy.shutdown(context=context)
    spinner.join(timeout=5)
