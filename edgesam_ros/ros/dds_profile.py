"""Which Fast DDS XML profile a process starts with: the shipped one for camera-sized messages.

Fast DDS (the default RMW) puts a 900 kB 640x480 rgb8 frame into ~15 UDP fragments, because its
built-in shared-memory segment (512 kB) cannot hold it; a best-effort frame is lost when any
fragment is, and most are (22 of 100 frames at 10 Hz between two processes, docs/node.md).
`config/fastdds_large_images.xml` gives shared memory a 32 MB segment. Fast DDS reads a default
profile file from an environment variable when a process creates its first participant, so it
must be set before `rclpy.init`, in BOTH the publishing and the subscribing process.

Fast DDS 2.x (Humble, Iron, Jazzy) reads FASTRTPS_DEFAULT_PROFILES_FILE; Fast DDS 3 (Kilted on)
reads FASTDDS_DEFAULT_PROFILES_FILE and warns at every start when given the old name, so exactly
the one this distro's Fast DDS reads is set. An empty variable is not "none" to Fast DDS (it logs
an XML parser error), so "no profile" means leaving the variables alone. Nothing here imports
rclpy: the launch file and the bag tools use it before any participant exists.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path

log = logging.getLogger("edgesam_ros.dds")

#: The `dds_profile` / `--dds-profile` value naming the shipped profile.
SHIPPED = "large_images"
SHIPPED_FILE = "fastdds_large_images.xml"
FASTDDS_VARIABLE = "FASTDDS_DEFAULT_PROFILES_FILE"
FASTRTPS_VARIABLE = "FASTRTPS_DEFAULT_PROFILES_FILE"
#: Distros whose Fast DDS is 2.x (reads only the FASTRTPS_ variable).
FASTDDS_2_DISTROS = ("humble", "iron", "jazzy")


def share_config_dir() -> Path:
    """The package's `config/` directory: installed share when built, else the source tree."""
    try:
        from ament_index_python.packages import (
            PackageNotFoundError,
            get_package_share_directory,
        )
    except ImportError:
        return Path(__file__).resolve().parents[2] / "config"
    try:
        installed = Path(get_package_share_directory("edgesam_ros")) / "config"
    except PackageNotFoundError:
        return Path(__file__).resolve().parents[2] / "config"
    return installed


def resolve(profile: str, config_dir: Path | None = None) -> str:
    """The profile file `profile` names: "" (none), `SHIPPED`, or a path (made absolute)."""
    if not profile:
        return ""
    if profile == SHIPPED:
        return str((config_dir or share_config_dir()) / SHIPPED_FILE)
    return str(Path(profile).expanduser().resolve())


def variable(distro: str | None = None) -> str:
    """The variable the Fast DDS of `distro` (default: $ROS_DISTRO) reads its profile from."""
    distro = os.environ.get("ROS_DISTRO", "") if distro is None else distro
    return FASTRTPS_VARIABLE if distro.lower() in FASTDDS_2_DISTROS else FASTDDS_VARIABLE


def environment(profile_file: str, distro: str | None = None) -> dict[str, str]:
    """The environment a process needs to start with `profile_file` ({} for none)."""
    return {variable(distro): profile_file} if profile_file else {}


def user_profile(env: Mapping[str, str] | None = None) -> str:
    """A profile file the user already chose through either variable, or ""."""
    env = os.environ if env is None else env
    return env.get(FASTDDS_VARIABLE) or env.get(FASTRTPS_VARIABLE) or ""


def apply(profile: str, env: MutableMapping[str, str] | None = None) -> str:
    """Set the profile of this process (or of `env`) before rclpy.init; returns the file in effect.

    A profile the user exported already wins over the shipped default (their DDS set-up knows
    better), an explicit path replaces it, and "" removes both variables (Fast DDS defaults).
    A missing file is a ValueError: Fast DDS would only log an XML error and carry on with the
    defaults that lose frames. Only the shipped default may be missing (a pip install without
    the package's share directory): then this warns and changes nothing.
    """
    env = os.environ if env is None else env
    chosen = user_profile(env)
    if chosen and profile == SHIPPED:
        return chosen
    path = resolve(profile)
    if path and not Path(path).is_file():
        if profile != SHIPPED:
            raise ValueError(f"DDS profile {path} does not exist")
        log.warning("the shipped DDS profile %s is not installed: large camera frames may be "
                    "lost between processes (docs/node.md)", path)
        return chosen
    for name in (FASTDDS_VARIABLE, FASTRTPS_VARIABLE):
        env.pop(name, None)
    env.update(environment(path))
    return path
