"""The colcon install space has what `ros2 run`, `ros2 launch` and ament expect."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "install" / "edgesam_ros"
pytestmark = [
    pytest.mark.ros,
    pytest.mark.skipif(not INSTALL.is_dir(), reason="not built with colcon (run `make build`)"),
]


@pytest.mark.parametrize("exe", ["segment_node", "prompt"])
def test_executables_are_where_ros2_run_finds_them(exe):
    path = INSTALL / "lib" / "edgesam_ros" / exe
    assert path.is_file()
    assert os.access(path, os.X_OK)
    shebang = path.read_text().splitlines()[0]
    assert shebang.startswith("#!") and "python" in shebang


def test_edgesam_ros_command_runs_from_the_install_space():
    path = INSTALL / "bin" / "edgesam-ros"
    out = subprocess.run(
        [sys.executable, str(path), "--help"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "segment-bag" in out.stdout


def test_ament_index_registers_the_package():
    marker = INSTALL / "share" / "ament_index" / "resource_index" / "packages" / "edgesam_ros"
    assert marker.is_file()
    assert (INSTALL / "share" / "edgesam_ros" / "package.xml").is_file()


def test_generated_interfaces_and_core_share_one_package():
    code = (
        "import edgesam_ros.msg as m, edgesam_ros.entry_points as e;"
        "print(m.SegmentationArray.__name__, e.__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd="/"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["SegmentationArray", "edgesam_ros.entry_points"]


def test_launch_and_config_files_are_installed():
    share = INSTALL / "share" / "edgesam_ros"
    assert (share / "launch" / "segment.launch.py").is_file()
    assert (share / "config" / "segment.yaml").is_file()


@pytest.mark.parametrize(
    "name",
    ["PromptPoint", "ObjectPrompt", "ObjectPromptArray", "ObjectSegmentation", "SegmentationArray"],
)
def test_generated_interfaces_for_c_cpp_and_python(name):
    """A C++ consumer needs the headers and type support libraries, not only the Python module."""
    share = INSTALL / "share" / "edgesam_ros" / "msg"
    assert (share / f"{name}.msg").is_file() and (share / f"{name}.idl").is_file()
    snake = "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
    header = INSTALL / "include" / "edgesam_ros" / "edgesam_ros" / "msg" / f"{snake}.hpp"
    assert header.is_file(), header
    libs = {p.name for p in (INSTALL / "lib").glob("libedgesam_ros__rosidl_typesupport_*.so")}
    assert "libedgesam_ros__rosidl_typesupport_cpp.so" in libs
    assert "libedgesam_ros__rosidl_typesupport_fastrtps_c.so" in libs


def test_segment_node_console_script_runs_the_node():
    """`edgesam-ros-segment-node` (pip's console script) is the same node as `ros2 run`."""
    setup = (REPO / "setup.py").read_text()
    assert '"edgesam-ros-segment-node=edgesam_ros.entry_points:segment_node"' in setup
    code = ("import sys; from edgesam_ros.entry_points import segment_node; "
            "sys.argv = ['edgesam-ros-segment-node', '--ros-args', '-p', 'mode:=everything']; "
            "sys.exit(segment_node())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 1, out.stderr
    assert "mode = 'everything': expected one of prompt, auto, both" in out.stderr
