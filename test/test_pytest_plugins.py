"""`python -m pytest test` works inside a sourced ROS 2 workspace.

A sourced workspace puts ROS's pytest plugins on the path (entry points `launch_testing`,
`launch_ros` (launch_testing_ros) and `launch_pytest`); pytest autoloads them, and releases whose
hooks still take pytest's removed `path` argument stop pytest 9 before any test runs
(PluginValidationError). pyproject.toml blocks those three by name; other plugins still load.
The workspace is simulated by a directory with a dist-info declaring such plugins.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROS_PLUGINS = ("launch_testing", "launch_ros", "launch_pytest")
BROKEN_HOOK = "def pytest_pycollect_makemodule(path, parent):\n    return None\n"
HEALTHY_HOOK = "def pytest_report_header(config):\n    return 'healthy third-party plugin loaded'\n"


def test_pytest_starts_with_ros_launch_plugins_on_the_path(tmp_path: Path) -> None:
    modules = {f"fake_{name}_hooks": BROKEN_HOOK for name in ROS_PLUGINS}
    modules["fake_healthy_plugin"] = HEALTHY_HOOK
    for module, text in modules.items():
        (tmp_path / f"{module}.py").write_text(text)
    info = tmp_path / "fake_ros_plugins-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-ros-plugins\nVersion: 1.0\n")
    entries = [f"{name} = fake_{name}_hooks" for name in ROS_PLUGINS]
    (info / "entry_points.txt").write_text(
        "[pytest11]\n" + "\n".join([*entries, "healthy = fake_healthy_plugin"]) + "\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])])}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "test/ros/test_delivery.py", "-p",
         "no:cacheprovider"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "PluginValidationError" not in out.stdout + out.stderr
    assert "healthy third-party plugin loaded" in out.stdout
    assert " passed" in out.stdout.splitlines()[-1]
