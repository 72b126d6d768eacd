"""Sequences (videos) with persistent instance ids, occlusion episodes, crossings and exits.

`generate_sequence` only plans: paths, appearances, occluder motion and camera shake are fixed up
front (small arrays), and every frame is rendered on demand, so any frame can be produced in any
order and repeatedly with identical bytes, without holding the video in memory.

Planned events:
- exits: an object's path goes out of the frame past a border and comes back in later;
- entries: an object starts outside the frame;
- crossings: two objects reach the same point at the same frame (the nearer one hides the other);
- occluder episodes: a full-height pillar nearer than everything sweeps in, stays in front of its
  target (hiding it completely for the planned number of frames) and sweeps on.
What actually happened is measured from the masks (`Sequence.events`).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property

import cv2
import numpy as np

from .background import background_depth, make_background
from .camera import Imaging, apply_imaging
from .compose import Layer, compose, object_layer, occlusion_masks
from .config import SequenceConfig
from .events import Episode, Events, measure_events
from .motion import camera_shake
from .plan import Occluder, Track, plan_occluders, plan_tracks
from .scene import InstanceInfo, Scene, build_scene
from .shapes import bounds, pixel_area

SHAKE_PAD_SIGMAS = 4.0
"""The background is rendered this many shake sigmas larger on each side; shake is clipped to it."""


def generate_sequence(seed: int, config: SequenceConfig | None = None) -> Sequence:
    """Plan a random sequence; frames are rendered when indexed (same seed + config, same bytes)."""
    config = config or SequenceConfig()
    rng = np.random.default_rng(seed)
    height, width = config.height, config.width
    pad = int(np.ceil(SHAKE_PAD_SIGMAS * config.motion.shake_sigma))
    background = make_background(config.background, height + 2 * pad, width + 2 * pad, rng)
    background_color = np.array(cv2.mean(background)[:3])
    tracks = plan_tracks(config, background_color, rng)
    occluders, planned = plan_occluders(tracks, config, background_color, pad + 2.0, rng)
    motion = config.motion
    shake = camera_shake(config.num_frames, motion.shake_sigma, motion.shake_smoothing, rng)
    imaging = Imaging.sample(config.camera, rng)
    period = rng.uniform(*config.camera.exposure_period)
    exposure = 1 + config.camera.exposure_drift * np.sin(
        2 * np.pi * np.arange(config.num_frames) / period + rng.uniform(0, 2 * np.pi)
    )
    return Sequence(
        seed,
        config,
        background,
        tracks,
        occluders,
        planned,
        np.clip(shake, -pad, pad),
        imaging,
        exposure,
    )


class Sequence:
    """A lazily rendered video: `seq[t]` is frame t as a `Scene` (all ids, masks maybe empty).

    Attributes: `seed`, `config`, `ids` ((K,) int32, the same in every frame), `instances`
    (what each id looks like) and `events` (visibility and episodes, computed on first use).
    Frame t's sensor noise is seeded by (seed, t), so frames are independent of access order.
    """

    def __init__(
        self,
        seed: int,
        config: SequenceConfig,
        background: np.ndarray,
        tracks: list[Track],
        occluders: list[Occluder],
        planned_occlusions: tuple[Episode, ...],
        shake: np.ndarray,
        imaging: Imaging,
        exposure: np.ndarray,
    ) -> None:
        self.seed = seed
        self.config = config
        self.ids = np.arange(1, len(tracks) + 1, dtype=np.int32)
        self._background = background
        self._tracks = tracks
        self._occluders = occluders
        self._planned = planned_occlusions
        self._shake = shake
        self._imaging = imaging
        self._exposure = exposure
        self._pad = (background.shape[0] - config.height) // 2
        self._gain_map = imaging.gain_map(config.height, config.width)
        self._depth_plane = (
            background_depth(config.height, config.width, config.background_depth)
            if config.with_depth
            else None
        )
        self.instances = tuple(InstanceInfo.of(tr.shape, tr.appearance) for tr in tracks)

    def __len__(self) -> int:
        return self.config.num_frames

    def __iter__(self) -> Iterator[Scene]:
        return (self[t] for t in range(len(self)))

    def __getitem__(self, index: int) -> Scene:
        t = range(len(self))[index]  # normalises negative indices, raises IndexError
        height, width = self.config.height, self.config.width
        layers = self._layers(t)
        ox, oy = self._shake[t]
        y0, x0 = self._pad - oy, self._pad - ox
        background = self._background[y0 : y0 + height, x0 : x0 + width]
        composite = compose(background, layers, self._depth_plane)
        rng = np.random.default_rng([self.seed, t])
        gain_map = self._gain_map * np.float32(self._exposure[t])
        image = apply_imaging(composite.image, self._imaging, rng, gain_map)
        k = len(self._tracks)
        return build_scene(
            image=image,
            ids=self.ids,
            visible=composite.visible[:k],
            amodal=composite.amodal[:k],
            depths=np.array([tr.depth for tr in self._tracks]),
            full_areas=np.array([pixel_area(layer.contours) for layer in layers[:k]]),
            instances=self.instances,
            depth=composite.depth,
        )

    def _contours(self, t: int) -> list[list[np.ndarray]]:
        """Contours of every layer at frame t: the instances (in id order), then occluders."""
        offset = self._shake[t].astype(np.float64)
        return [tr.contours(t, offset) for tr in self._tracks] + [
            oc.contours(t, offset, self.config.height) for oc in self._occluders
        ]

    def _depths(self) -> list[float]:
        return [tr.depth for tr in self._tracks] + [oc.depth for oc in self._occluders]

    def _layers(self, t: int) -> list[Layer]:
        offset = self._shake[t].astype(np.float64)
        layers = [
            object_layer(
                tr.shape, tr.appearance, tr.centres[t] + offset, tr.angles[t], tr.sizes[t], tr.depth
            )
            for tr in self._tracks
        ]
        for oc in self._occluders:
            contours = oc.contours(t, offset, self.config.height)
            centre = contours[0].mean(axis=0)
            matrix = np.array([[1.0, 0, centre[0]], [0, 1.0, centre[1]]])
            matrix[:, 2] -= oc.appearance.centre
            layers.append(Layer(contours, oc.appearance.patch, matrix, oc.depth))
        return layers

    @cached_property
    def events(self) -> Events:
        """Visibility per object and frame, and the occlusions, absences and crossings in it.

        Computed from masks only (no textures), once, on first use.
        """
        size = (self.config.height, self.config.width)
        k, frames = len(self._tracks), len(self)
        visible_fraction = np.zeros((frames, k), np.float32)
        in_frame_fraction = np.zeros((frames, k), np.float32)
        overlap = np.zeros((frames, k, k), np.float32)
        for t in range(frames):
            contours = self._contours(t)
            amodal, visible = occlusion_masks(contours, self._depths(), size)
            full = np.maximum([pixel_area(c) for c in contours[:k]], 1)
            in_frame = np.count_nonzero(amodal[:k], axis=(1, 2))
            visible_fraction[t] = np.minimum(np.count_nonzero(visible[:k], axis=(1, 2)) / full, 1)
            in_frame_fraction[t] = np.minimum(in_frame / full, 1)
            boxes = [bounds(c, size) for c in contours[:k]]
            for i in range(k):
                for j in range(i + 1, k):
                    x1, y1 = max(boxes[i][0], boxes[j][0]), max(boxes[i][1], boxes[j][1])
                    x2, y2 = min(boxes[i][2], boxes[j][2]), min(boxes[i][3], boxes[j][3])
                    if x2 <= x1 or y2 <= y1:
                        continue
                    shared = np.count_nonzero(amodal[i, y1:y2, x1:x2] & amodal[j, y1:y2, x1:x2])
                    smaller = max(min(in_frame[i], in_frame[j]), 1)
                    overlap[t, i, j] = overlap[t, j, i] = shared / smaller
        return measure_events(
            self.ids,
            np.array([tr.depth for tr in self._tracks]),
            visible_fraction,
            in_frame_fraction,
            overlap,
            self.config.occluded_visible_max,
            self.config.crossing_min_overlap,
            self._planned,
        )
