"""The rosbags typestore of the bag tools: ROS 2 standard types plus this package's messages.

rosbags can only (de)serialise types whose definitions it knows; ours come from the `.msg` files
(the repository's `msg/` or an installed `share/edgesam_ros/msg/`), so bags written here carry
the same definitions and RIHS01 hashes as the rosidl-generated interfaces.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from .errors import BagError

PACKAGE = "edgesam_ros"
#: The standard types (sensor_msgs, std_msgs, ...) are those of the newest distro rosbags ships;
#: the ones we use have not changed since Humble.
BASE_STORE = Stores.ROS2_KILTED


def msg_dirs() -> list[Path]:
    """Where our .msg files may be: the source tree first, then every ament prefix."""
    candidates = [Path(__file__).resolve().parents[2] / "msg"]
    prefixes = os.environ.get("AMENT_PREFIX_PATH", "")
    candidates += [Path(p) / "share" / PACKAGE / "msg" for p in prefixes.split(os.pathsep) if p]
    return [path for path in candidates if any(path.glob("*.msg"))]


@cache
def typestore() -> Typestore:
    """The standard ROS 2 types and `edgesam_ros/msg/*` (built once per process)."""
    dirs = msg_dirs()
    if not dirs:
        raise BagError(f"cannot find the {PACKAGE} .msg files (source tree or AMENT_PREFIX_PATH)")
    store = get_typestore(BASE_STORE)
    types = {}
    for path in sorted(dirs[0].glob("*.msg")):
        types.update(get_types_from_msg(path.read_text(), f"{PACKAGE}/msg/{path.stem}"))
    store.register(types)
    return store


def message_class(msgtype: str) -> type:
    """The rosbags dataclass of `msgtype` ("pkg/msg/Name")."""
    return typestore().types[msgtype]
