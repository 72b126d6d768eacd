"""Rewrite the build prefix baked into the ROS 2 PyPI wheels' CMake export files.

The ros-* wheels are built under /opt/python/cp311-cp311 and their `share/*/cmake/*.cmake` files
keep that prefix for the Python include directory and numpy's include directory. Any package that
runs `rosidl_generate_interfaces` links against those targets, so CMake fails on a machine where the
prefix does not exist. This script points them at this interpreter's real directories. It is
idempotent: a second run finds nothing to rewrite.
"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

BAKED_PREFIX = "/opt/python/cp311-cp311"


def real_paths() -> dict[str, str]:
    """Map each baked directory to the same directory of the running interpreter."""
    import numpy

    include = sysconfig.get_paths()["include"]
    numpy_include = str(Path(numpy.get_include()))
    return {
        f"{BAKED_PREFIX}/include/python3.11": include,
        f"{BAKED_PREFIX}/lib/python3.11/site-packages/numpy/_core/include": numpy_include,
    }


def fix_tree(share: Path, mapping: dict[str, str]) -> list[Path]:
    """Rewrite each CMake file under `share` naming the baked prefix; return those changed."""
    changed = []
    for path in sorted(share.glob("*/cmake/*.cmake")):
        text = path.read_text()
        if BAKED_PREFIX not in text:
            continue
        new = text
        for baked, real in mapping.items():
            new = new.replace(baked, real)
        if BAKED_PREFIX in new:
            raise SystemExit(f"{path}: unexpected path under {BAKED_PREFIX} left after rewriting")
        path.write_text(new)
        changed.append(path)
    return changed


def main() -> int:
    share = Path(sys.prefix) / "share"
    changed = fix_tree(share, real_paths())
    print(f"fix_ros_wheels: rewrote {len(changed)} CMake file(s) under {share}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
