"""Settings for the whole test session, applied before any test module imports rclpy."""

from __future__ import annotations

import os

# Each pytest run gets its own DDS domain, so two runs on one machine (CI beside a developer's run,
# or parallel helpers) never receive each other's prompts or images.
os.environ["ROS_DOMAIN_ID"] = os.environ.get("EDGESAM_TEST_DOMAIN_ID") or str(1 + os.getpid() % 100)
