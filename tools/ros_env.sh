# Source this file to use the project's PyPI ROS 2 environment in the current shell:
#   . tools/ros_env.sh
# It activates the venv made by tools/setup_env.sh, points ament/CMake at it, and overlays this
# repository's colcon install space when it has been built. Users with a ROS 2 distro don't need it:
# they source /opt/ros/<distro>/setup.bash and their workspace's install/setup.bash instead.
_edgesam_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
_edgesam_venv=${EDGESAM_VENV:-$HOME/.cache/edgesam_ros/venv}
# shellcheck disable=SC1091
. "$_edgesam_venv/bin/activate"
export AMENT_PREFIX_PATH="$_edgesam_venv${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
export CMAKE_PREFIX_PATH="$_edgesam_venv${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
if [ -f "$_edgesam_repo/install/setup.bash" ]; then
  # shellcheck disable=SC1091
  . "$_edgesam_repo/install/setup.bash"
fi
unset _edgesam_repo _edgesam_venv
