"""The plain-Python decisions of launch/segment.launch.py, testable without launch_ros.

* RViz shows the topics the launch arguments name: `config/segment.rviz` is a template whose
  displays get the resolved image topic and the node's overlay/points topics (with `namespace`),
  written to a temporary file RViz is started with.
* RViz is started only when rviz2 is installed; otherwise launch would fail to start it, exit 1
  and leave segment_node running as an orphan.
* The node process gets the DDS profile the `dds_profile` argument names (`dds_profile`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml

from . import dds_profile

NODE_NAME = "edgesam"  # the name the launch file gives the node
#: RViz display name in config/segment.rviz -> the node-relative topic it shows
RVIZ_TOPICS = {"Input image": "image", "EdgeSAM overlay": "~/overlay", "Object points": "~/points"}


def resolve_topic(name: str, namespace: str, node_name: str = NODE_NAME) -> str:
    """The absolute topic `name` means for a node `node_name` in `namespace` (ROS 2 rules)."""
    ns = "/" + namespace.strip("/") if namespace.strip("/") else ""
    if name.startswith("/"):
        return name
    if name.startswith("~/"):
        return f"{ns}/{node_name}/{name[2:]}"
    return f"{ns}/{name}"


def rviz_config(template: str, image_topic: str, namespace: str) -> str:
    """The RViz config `template` with every display pointed at the launched node's topics.

    `image_topic` is the `image` launch argument (the node's remapped `image`); topics are
    resolved as the node resolves them, so relative names land in `namespace` too.
    """
    config = yaml.safe_load(template)
    topics = {display: resolve_topic(image_topic if name == "image" else name, namespace)
              for display, name in RVIZ_TOPICS.items()}
    for display in config["Visualization Manager"]["Displays"]:
        if display.get("Name") in topics:
            display["Topic"]["Value"] = topics[display["Name"]]
    return yaml.safe_dump(config, sort_keys=False)


def write_rviz_config(template: Path, image_topic: str, namespace: str) -> Path:
    """`rviz_config` of the template file, written to a new temporary .rviz file."""
    text = rviz_config(template.read_text(), image_topic, namespace)
    handle, name = tempfile.mkstemp(prefix="edgesam_", suffix=".rviz")
    with os.fdopen(handle, "w") as out:
        out.write(text)
    return Path(name)


def rviz_available() -> bool:
    """Whether `ros2 run rviz2 rviz2` would find an executable (launch_ros looks it up alike)."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_prefix
    except ImportError:
        return False
    try:
        executable = Path(get_package_prefix("rviz2")) / "lib" / "rviz2" / "rviz2"
    except PackageNotFoundError:
        return False
    return os.access(executable, os.X_OK)


def node_environment(profile: str, config_dir: Path) -> dict[str, str]:
    """Environment variables for the node process from the `dds_profile` argument.

    "" = none (the node inherits the launching shell's DDS settings), `dds_profile.SHIPPED` =
    the package's profile, else a file. A missing file is a ValueError naming it.
    """
    path = dds_profile.resolve(profile, config_dir)
    if path and not Path(path).is_file():
        raise ValueError(f"dds_profile: {path} does not exist")
    return dds_profile.environment(path)
