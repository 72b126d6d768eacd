"""Prompt propagation across frames for EdgeSAM (no temporal memory): objects, ids, gating, metrics.

`Tracker` is the entry point (its module docstring describes the life cycle of an object);
`TrackerConfig` holds every threshold; `metrics` and `evaluate` score it on procedural sequences.
ROS-free and torch-free.
"""

from edgesam_ros.tracking.config import ABLATIONS, SAM_LIKE, TrackerConfig
from edgesam_ros.tracking.objects import (
    FrameResult,
    RejectedPrompt,
    Source,
    State,
    TrackedObject,
    UserPrompt,
)
from edgesam_ros.tracking.tracker import Tracker

__all__ = [
    "ABLATIONS",
    "SAM_LIKE",
    "FrameResult",
    "RejectedPrompt",
    "Source",
    "State",
    "TrackedObject",
    "Tracker",
    "TrackerConfig",
    "UserPrompt",
]
