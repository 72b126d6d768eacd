"""Training batches generated on the fly from `edgesam_ros.scenes`, in the model's frame.

Scene seeds are a pure function of (run seed, step, slot), so a resumed run sees exactly the
images it would have seen, and they stay below `HELDOUT_SEED_BASE` so evaluation scenes are
never trained on. Generation costs ~20 ms per 640x480 scene, small next to a training step, so
no scene pool is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from edgesam_ros.engine.preprocess import preprocess_image
from edgesam_ros.engine.signatures import SAM_PIXEL_MEAN, SAM_PIXEL_STD
from edgesam_ros.engine.transforms import LongestSide
from edgesam_ros.evaluation.heldout import HELDOUT_SEED_BASE, SCENE_CONFIG
from edgesam_ros.scenes.config import SceneConfig
from edgesam_ros.scenes.scene import Scene
from edgesam_ros.scenes.still import generate_scene

#: Training seeds of run seed r are r * SEEDS_PER_RUN + index; each stage draws from its own
#: block of STREAM_SEEDS indices.
SEEDS_PER_RUN = 10_000_000
STREAM_SEEDS = 2_000_000


@dataclass
class Sample:
    """One image and its instances, everything in the S x S model frame."""

    image: np.ndarray
    """(3, S, S) float32, normalised and padded exactly as the engine does."""
    targets: np.ndarray
    """(K, L, L) float32 fraction of each loss-grid cell covered by the instance."""
    boxes: np.ndarray
    """(K, 4) float32 x1, y1, x2, y2 tight boxes in frame pixels."""
    teacher_image: np.ndarray | None = None
    """(3, T, T) float32: the same scene preprocessed by the engine for a teacher of size T."""


@dataclass
class Batch:
    """Images of one step and their instances flattened, with the image each belongs to."""

    images: torch.Tensor  # (I, 3, S, S)
    targets: torch.Tensor  # (B, L, L) float
    boxes: torch.Tensor  # (B, 4)
    image_index: torch.Tensor  # (B,) long
    teacher_images: torch.Tensor | None = None  # (I, 3, T, T) when a teacher is used

    def to(self, device: torch.device) -> Batch:
        teacher = None if self.teacher_images is None else self.teacher_images.to(device)
        return Batch(self.images.to(device), self.targets.to(device), self.boxes.to(device),
                     self.image_index.to(device), teacher)


def train_seed(run_seed: int, index: int) -> int:
    """Seed of the index-th training scene of a run; never a held-out seed."""
    seed = run_seed * SEEDS_PER_RUN + index
    if index >= SEEDS_PER_RUN or seed >= HELDOUT_SEED_BASE:
        raise ValueError("training seed range would reach the held-out scenes")
    return seed


def frame_targets(masks: np.ndarray, frame: LongestSide, loss_size: int) -> np.ndarray:
    """(K, L, L) coverage fractions of (K, H, W) bool masks resized and padded like the image."""
    new_h, new_w = frame.resized_size(masks.shape[1:])
    factor = frame.size // loss_size
    out = np.zeros((len(masks), frame.size, frame.size), np.float32)
    for k, mask in enumerate(masks):
        out[k, :new_h, :new_w] = cv2.resize(mask.astype(np.float32), (new_w, new_h),
                                            interpolation=cv2.INTER_AREA)
    return out.reshape(len(masks), loss_size, factor, loss_size, factor).mean(axis=(2, 4))


def scene_sample(scene: Scene, frame: LongestSide, loss_size: int, max_instances: int,
                 pixel_mean: np.ndarray, pixel_std: np.ndarray,
                 teacher_frame: LongestSide | None = None) -> Sample:
    """Model-frame sample of a scene's non-empty instances (at most `max_instances`), plus the
    image as a teacher of frame `teacher_frame` gets it from the engine (SAM's mean/std)."""
    keep = np.flatnonzero(scene.instance_masks.any(axis=(1, 2)))[:max_instances]
    image = preprocess_image(scene.image, "rgb", frame, pixel_mean, pixel_std)[0]
    boxes = frame.to_frame(scene.boxes[keep], scene.image.shape[:2])
    teacher = None
    if teacher_frame is not None:
        teacher = preprocess_image(scene.image, "rgb", teacher_frame, np.array(SAM_PIXEL_MEAN),
                                   np.array(SAM_PIXEL_STD))[0]
    return Sample(image, frame_targets(scene.instance_masks[keep], frame, loss_size), boxes,
                  teacher)


def collate(samples: list[Sample]) -> Batch:
    teacher = None
    if samples[0].teacher_image is not None:
        teacher = torch.from_numpy(np.stack([s.teacher_image for s in samples]))
    return Batch(
        images=torch.from_numpy(np.stack([s.image for s in samples])),
        targets=torch.from_numpy(np.concatenate([s.targets for s in samples])),
        boxes=torch.from_numpy(np.concatenate([s.boxes for s in samples])),
        image_index=torch.cat([torch.full((len(s.boxes),), i, dtype=torch.long)
                               for i, s in enumerate(samples)]),
        teacher_images=teacher,
    )


class SceneBatches:
    """Deterministic batches of procedural scenes for a model of frame size S."""

    def __init__(self, image_size: int, loss_size: int, batch_images: int, max_instances: int,
                 run_seed: int, pixel_mean: tuple[float, ...], pixel_std: tuple[float, ...],
                 scene_config: SceneConfig = SCENE_CONFIG, teacher_size: int | None = None
                 ) -> None:
        self.frame = LongestSide(image_size)
        self.teacher_frame = LongestSide(teacher_size) if teacher_size else None
        self.loss_size = loss_size
        self.batch_images = batch_images
        self.max_instances = max_instances
        self.run_seed = run_seed
        self.mean = np.asarray(pixel_mean, np.float32)
        self.std = np.asarray(pixel_std, np.float32)
        self.scene_config = scene_config

    def batch(self, stream: int, step: int) -> Batch:
        """Batch `step` of `stream` (one stream per stage, so stages see different scenes)."""
        first = stream * STREAM_SEEDS + step * self.batch_images
        return collate([
            scene_sample(generate_scene(train_seed(self.run_seed, first + i), self.scene_config),
                         self.frame, self.loss_size, self.max_instances, self.mean, self.std,
                         self.teacher_frame)
            for i in range(self.batch_images)])
