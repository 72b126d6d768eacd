"""package.xml declares what the code imports, so `rosdep install` sets a workspace up completely.

Every top-level module imported anywhere in edgesam_ros/ (read with `ast`, standard library and
the package itself excepted) must be in `ROSDEP` (module -> its package.xml key, which must be
declared), in `PIP_ONLY` (no rosdep key exists: README.md must tell users to pip install it) or
in `INSTALLED_BY` (a dependency of a declared package, imported only to catch its errors, or a
module of the Triton server's Python backend).
"""

from __future__ import annotations

import ast
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: imported module -> rosdep key / ROS package in package.xml
ROSDEP = {
    "ament_index_python": "ament_index_python",
    "cv2": "python3-opencv",
    "cv_bridge": "cv_bridge",
    "diagnostic_msgs": "diagnostic_msgs",
    "geometry_msgs": "geometry_msgs",
    "lifecycle_msgs": "lifecycle_msgs",
    "numpy": "python3-numpy",
    "onnxruntime": "python3-onnxruntime-pip",
    "PIL": "python3-pil",
    "rcl_interfaces": "rcl_interfaces",
    "rclpy": "rclpy",
    "rosbags": "python3-rosbags-pip",
    "sensor_msgs": "sensor_msgs",
    "sensor_msgs_py": "sensor_msgs_py",
    "std_msgs": "std_msgs",
    "std_srvs": "std_srvs",
    "tqdm": "python3-tqdm",
    "vision_msgs": "vision_msgs",
    "yaml": "python3-yaml",
}
#: imported module -> the pip distribution README.md names (rosdep has no key for it)
PIP_ONLY = {
    "pycocotools": "pycocotools",
    "tritonclient": "tritonclient[grpc]",
    "torch": "torch",
    "onnx": "onnx",
    "onnxscript": "onnxscript",
}
#: imported module -> what provides it without a package.xml entry of its own
INSTALLED_BY = {
    # serving/python_model.py runs inside tritonserver's Python backend, never in the node
    "triton_python_backend_utils": "tritonserver",
    "apsw": "rosbags",
    "backports": "rosbags",  # backports.zstd before Python 3.14
    "compression": "rosbags",  # compression.zstd from Python 3.14 (standard library there)
}


def imported_modules() -> dict[str, str]:
    """Top-level third-party module -> one file importing it."""
    found: dict[str, str] = {}
    for path in sorted((REPO / "edgesam_ros").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "edgesam_ros":
                    found.setdefault(top, str(path.relative_to(REPO)))
    return found


def declared() -> set[str]:
    root = ET.parse(REPO / "package.xml").getroot()
    kinds = ("depend", "exec_depend", "build_depend", "buildtool_depend")
    return {element.text.strip() for kind in kinds for element in root.iter(kind)}


def test_every_imported_module_has_a_dependency():
    known = ROSDEP | PIP_ONLY | INSTALLED_BY
    unmapped = {m: f for m, f in imported_modules().items() if m not in known}
    assert not unmapped, f"add these to package.xml and ROSDEP (or PIP_ONLY): {unmapped}"


def test_every_rosdep_key_is_declared_in_package_xml():
    missing = {m: key for m, key in ROSDEP.items() if key not in declared()}
    assert not missing, f"package.xml lacks {missing}"


def test_pip_only_packages_are_named_in_the_readme():
    readme = (REPO / "README.md").read_text()
    assert [d for d in PIP_ONLY.values() if d not in readme] == []


def test_the_scan_sees_real_imports():
    modules = imported_modules()
    assert {"rclpy", "numpy", "rcl_interfaces", "rosbags"} <= set(modules)
    assert "os" not in modules and "edgesam_ros" not in modules
