#!/usr/bin/env bash
# Run a command inside the project's ROS 2 environment (venv + this repository's install space).
set -eo pipefail
# shellcheck disable=SC1091
. "$(dirname "$0")/ros_env.sh"
exec "$@"
