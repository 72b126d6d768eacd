"""The held-out procedural scenes: fixed seeds that training never uses.

Training derives its scene seeds from below `HELDOUT_SEED_BASE` (see `training/data.py`), so
the two sets are disjoint by construction; both use `SCENE_CONFIG`.
"""

from __future__ import annotations

from collections.abc import Iterator

from edgesam_ros.scenes.config import SceneConfig
from edgesam_ros.scenes.scene import Scene
from edgesam_ros.scenes.still import generate_scene

HELDOUT_SEED_BASE = 2_000_000_000
#: The scene distribution of training and evaluation (640x480, 3-8 objects, clutter, noise).
SCENE_CONFIG = SceneConfig()


def heldout_scenes(count: int, config: SceneConfig = SCENE_CONFIG) -> Iterator[Scene]:
    """The first `count` held-out scenes, always the same."""
    for i in range(count):
        yield generate_scene(HELDOUT_SEED_BASE + i, config)
