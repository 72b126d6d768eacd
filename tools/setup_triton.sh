#!/usr/bin/env bash
# Install a Triton Inference Server for the tests and `edgesam-ros bench triton`, without Docker:
# the `nvidia-pytriton` wheel ships `tritonserver` (2.51) and the Python backend. It goes into its
# own venv (tools/triton/requirements.txt), never into the project's: see that file for why.
#
# Idempotent: nothing happens while the requirements and this script are unchanged since the last
# successful run. `edgesam_ros.serving.server` finds the server through $EDGESAM_TRITON_VENV
# (default below).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${EDGESAM_TRITON_VENV:-$HOME/.cache/edgesam_ros/triton}
stamp="$venv/.edgesam_ros-triton"

# The wheel's Python backend stub is built for Python 3.11 (it embeds libpython3.11).
python=${PYTHON:-python3.11}
if ! "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
  echo "setup_triton: Python 3.11 is required ($python is not); set PYTHON=..." >&2
  exit 1
fi

want=$(cat "$repo/tools/triton/requirements.txt" "$0" | sha256sum | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "setup_triton: $venv is up to date"
  exit 0
fi

echo "setup_triton: building $venv"
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
  -r "$repo/tools/triton/requirements.txt"
server=$("$venv/bin/python" -c 'import pathlib, sysconfig
print(pathlib.Path(sysconfig.get_paths()["purelib"]) / "pytriton" / "tritonserver")')
# The Python backend looks for its stub next to libtriton_python.so; the wheel keeps one per
# Python version elsewhere.
cp "$server/python_backend_stubs/3.11/triton_python_backend_stub" "$server/backends/python/"
chmod +x "$server/backends/python/triton_python_backend_stub" "$server/bin/tritonserver"
# The stub embeds the system's libpython3.11 (Debian: package libpython3.11).
missing=$(LD_LIBRARY_PATH="$server/../../nvidia_pytriton.libs" ldd "$server/backends/python/triton_python_backend_stub" | grep 'not found' || true)
if [ -n "$missing" ]; then
  echo "setup_triton: the Python backend stub misses libraries (apt-get install libpython3.11):" >&2
  echo "$missing" >&2
  exit 1
fi
echo "$want" > "$stamp"
echo "setup_triton: done ($server/bin/tritonserver)"
