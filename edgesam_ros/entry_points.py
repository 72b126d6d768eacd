"""Executables of the package, resolved lazily so `ros2 run` and console scripts share one table.

Each entry imports its module only when run: the segment node pulls in rclpy, the exporter torch,
and neither should be paid for by the other.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

#: executable name -> "module:function"; the function takes argv (without the program name).
ENTRY_POINTS: dict[str, str] = {
    "segment_node": "edgesam_ros.ros.node:main",
    "prompt": "edgesam_ros.ros.prompt_cli:main",
    "edgesam-ros": "edgesam_ros.cli:main",
}


def run(name: str, argv: Sequence[str]) -> int:
    """Run executable `name` with `argv` and return its exit code."""
    module_name, function_name = ENTRY_POINTS[name].split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    return int(function(list(argv)) or 0)


def segment_node() -> int:
    """Console script `edgesam-ros-segment-node`."""
    return run("segment_node", sys.argv[1:])


def prompt() -> int:
    """Console script `edgesam-ros-prompt`."""
    return run("prompt", sys.argv[1:])


def edgesam_ros_cli() -> int:
    """Console script `edgesam-ros`."""
    return run("edgesam-ros", sys.argv[1:])
