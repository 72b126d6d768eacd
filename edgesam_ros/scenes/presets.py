"""Named configurations: the one place where the project's standard data sets are defined.

Scene presets are `SceneConfig`s for still images; sequence presets are `SequenceSuite`s, a config
plus how many sequences make up the set (sequence i uses seed `base_seed + i`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .config import (
    BackgroundStyle,
    CameraStyle,
    EventStyle,
    MotionStyle,
    ObjectStyle,
    SceneConfig,
    SequenceConfig,
)
from .sequence import Sequence, generate_sequence

_CLEAN_CAMERA = CameraStyle(
    gain=(1.0, 1.0),
    offset=(0.0, 0.0),
    light_gradient=(0.0, 0.0),
    blur_sigma=(0.0, 0.0),
    noise_sigma=(0.0, 0.0),
    exposure_drift=0.0,
)

SCENE_PRESETS: dict[str, SceneConfig] = {
    # The defaults: moderate clutter, occlusion and noise.
    "default": SceneConfig(),
    # Training variety for the bundled model: wider ranges of everything.
    "train": SceneConfig(
        num_objects=(1, 10),
        objects=ObjectStyle(size=(0.06, 0.5), low_contrast_prob=0.35),
        background=BackgroundStyle(clutter_count=(0, 80), clutter_size=(0.015, 0.09)),
        camera=CameraStyle(gain=(0.6, 1.4), blur_sigma=(0.0, 1.6), noise_sigma=(0.0, 9.0)),
        occlusion_prob=0.6,
        max_occlusion=0.8,
        min_visible_pixels=40,
    ),
    # No lighting, blur, noise or shading: every visible pixel shows its object's texture as
    # painted (useful for exact checks).
    "clean": SceneConfig(camera=_CLEAN_CAMERA, objects=ObjectStyle(shading_prob=0.0)),
}


@dataclass(frozen=True)
class SequenceSuite:
    """A set of sequences: `num_sequences` sequences of one config."""

    config: SequenceConfig
    num_sequences: int

    def seeds(self, base_seed: int = 0) -> range:
        return range(base_seed, base_seed + self.num_sequences)

    def generate(self, base_seed: int = 0) -> list[Sequence]:
        """The suite's sequences (planned only: frames render lazily when indexed)."""
        return [generate_sequence(seed, self.config) for seed in self.seeds(base_seed)]


_BENCHMARK = SequenceConfig(
    height=480,
    width=640,
    num_frames=60,
    num_objects=(3, 6),
    events=EventStyle(
        occlusions=(1, 2),
        occlusion_length=(5, 30),
        crossings=(1, 2),
        exit_prob=0.35,
        enter_prob=0.15,
    ),
    motion=MotionStyle(shake_sigma=1.5),
)

SEQUENCE_PRESETS: dict[str, SequenceSuite] = {
    # The tracking benchmark: occlusions of 5-30 frames, crossings, exits and re-entries, shake.
    "benchmark": SequenceSuite(_BENCHMARK, num_sequences=8),
    # Same difficulty, but objects never overlap each other (only the occluder hides them).
    "no_crossing": SequenceSuite(
        replace(_BENCHMARK, events=replace(_BENCHMARK.events, allow_crossings=False)),
        num_sequences=4,
    ),
    # One ~100-frame sequence that looks good in a demo: few, larger objects, mild camera.
    "demo": SequenceSuite(
        SequenceConfig(
            num_frames=100,
            num_objects=(3, 4),
            objects=ObjectStyle(size=(0.2, 0.32), low_contrast_prob=0.1),
            background=BackgroundStyle(clutter_count=(5, 20)),
            camera=CameraStyle(blur_sigma=(0.0, 0.6), noise_sigma=(0.0, 3.0)),
            motion=MotionStyle(speed=0.008, shake_sigma=1.0),
            events=EventStyle(
                occlusions=(1, 1),
                occlusion_length=(12, 20),
                crossings=(1, 1),
                exit_prob=0.25,
                enter_prob=0.0,
            ),
        ),
        num_sequences=1,
    ),
    # Small and short, for fast tests of code that consumes sequences.
    "tiny": SequenceSuite(
        SequenceConfig(
            height=120,
            width=160,
            num_frames=12,
            num_objects=(2, 3),
            events=EventStyle(occlusion_length=(3, 5), absence_length=(3, 4)),
            motion=MotionStyle(waypoint_interval=(4, 8), speed=0.03),
        ),
        num_sequences=2,
    ),
}


def scene_preset(name: str) -> SceneConfig:
    try:
        return SCENE_PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown scene preset {name!r}; known: {sorted(SCENE_PRESETS)}") from None


def sequence_preset(name: str) -> SequenceSuite:
    try:
        return SEQUENCE_PRESETS[name]
    except KeyError:
        known = sorted(SEQUENCE_PRESETS)
        raise KeyError(f"unknown sequence preset {name!r}; known: {known}") from None
