"""The memory mode's run-time side stays torch-free (the node never imports torch)."""

from __future__ import annotations

import subprocess
import sys


def test_the_memory_mode_runs_without_torch() -> None:
    modules = ("edgesam_ros.engine.edgetam", "edgesam_ros.tracking.memory_tracker",
               "edgesam_ros.ros.session", "edgesam_ros.bench.memory_bench")
    code = (f"import sys, {', '.join(modules)}; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
