"""Procedural scenes with exact ground truth: still images and videos (numpy + OpenCV only).

The project has no real data set: this generator is what the bundled model is trained on, what
evaluation, demo and rosbag fixtures use, and what tracking is measured on.

    scene = generate_scene(seed, SceneConfig())        # or scene_preset("train")
    seq = generate_sequence(seed, SequenceConfig())    # lazy: seq[t] renders frame t
    seq.events.occlusions, seq.events.crossings        # measured from the masks

Conventions (see `scene.py`): RGB uint8 images, pixel centres at integer x (right), y (down);
boxes x1, y1 inclusive, x2, y2 exclusive; ids start at 1, 0 is background.
"""

from .config import (
    BACKGROUND_KINDS,
    SHAPE_KINDS,
    TEXTURE_KINDS,
    BackgroundStyle,
    CameraStyle,
    EventStyle,
    MotionStyle,
    ObjectStyle,
    SceneConfig,
    SequenceConfig,
)
from .events import Crossing, Episode, Events
from .presets import (
    SCENE_PRESETS,
    SEQUENCE_PRESETS,
    SequenceSuite,
    scene_preset,
    sequence_preset,
)
from .scene import InstanceInfo, Scene, mask_boxes
from .sequence import Sequence, generate_sequence
from .still import generate_scene

__all__ = [
    "BACKGROUND_KINDS",
    "SCENE_PRESETS",
    "SEQUENCE_PRESETS",
    "SHAPE_KINDS",
    "TEXTURE_KINDS",
    "BackgroundStyle",
    "CameraStyle",
    "Crossing",
    "Episode",
    "EventStyle",
    "Events",
    "InstanceInfo",
    "MotionStyle",
    "ObjectStyle",
    "Scene",
    "SceneConfig",
    "Sequence",
    "SequenceConfig",
    "SequenceSuite",
    "generate_scene",
    "generate_sequence",
    "mask_boxes",
    "scene_preset",
    "sequence_preset",
]
