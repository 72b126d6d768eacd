"""Settings for the whole test session, applied before any test module imports rclpy."""

from __future__ import annotations

import os

import pytest

# Each pytest run gets its own DDS domain, so two runs on one machine (CI beside a developer's run,
# or parallel helpers) never receive each other's prompts or images.
os.environ["ROS_DOMAIN_ID"] = os.environ.get("EDGESAM_TEST_DOMAIN_ID") or str(1 + os.getpid() % 100)


@pytest.fixture(scope="session")
def edgetam_micro(tmp_path_factory):
    """The four EdgeTAM graphs of the random-weight ``micro`` variant (+ fp16), exported once
    per session through the CLI; yields the directory. Needs torch (skips without it)."""
    pytest.importorskip("torch")
    from edgesam_ros.export.cli import main as export_main

    out = tmp_path_factory.mktemp("edgetam_micro")
    assert export_main(["--family", "edgetam", "--variant", "micro", "--random-init", "--fp16",
                        "-o", str(out)]) == 0
    return out
