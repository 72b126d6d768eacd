"""A stand-in for `SamEngine` that "segments" from ground truth, plus tiny hand-made sequences.

The tracker's logic (ids, gating, occlusion, recovery) must be testable without a trained model:
the fake embedding carries the frame's ground-truth id image in `features`, and `decode` answers
each prompt with the GT object a SAM-like model would most plausibly return: the object under
the first positive point, else the object covering most of the box (objects under negative points
excluded). Masks are the object's visible pixels, optionally grown by `grow` pixels so neighbours'
masks overlap like real ones do at boundaries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace

import cv2
import numpy as np

from edgesam_ros.engine.types import Embedding, MaskResult, Prompt, Proposals

LOW_RES = 64


def _empty() -> MaskResult:
    return MaskResult(
        (0, 0, 0, 0),
        np.zeros((0, 0), bool),
        0.0,
        0.0,
        0,
        np.full((LOW_RES, LOW_RES), -10.0, np.float32),
    )


def mask_result(full: np.ndarray, stability: float = 0.95) -> MaskResult:
    """MaskResult of a full-frame bool mask (cropped to its tight box)."""
    ys, xs = np.nonzero(full)
    if len(ys) == 0:
        return _empty()
    x1, y1, x2, y2 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
    small = cv2.resize(full.view(np.uint8), (LOW_RES, LOW_RES), interpolation=cv2.INTER_AREA)
    logits = np.where(small > 0, 10.0, -10.0).astype(np.float32)
    return MaskResult(
        (x1, y1, x2, y2), full[y1:y2, x1:x2].copy(), stability, stability, len(ys), logits
    )


class FakeEngine:
    """`decode(embedding, prompts)` from the ground-truth id image inside the embedding."""

    def __init__(self, has_mask_input: bool = True, grow: int = 0, stability: float = 0.95):
        self.info = SimpleNamespace(has_mask_input=has_mask_input, batched=True)
        self.grow = grow
        self.stability = stability
        self.decode_calls = 0
        self.prompts: list[Prompt] = []  # of the last decode call

    def encode(self, ids: np.ndarray, proposals: bool = False) -> Embedding:
        """Embedding of a GT id image; with `proposals`, every visible object's box."""
        found = None
        if proposals:
            boxes = [mask_result(ids == i).box for i in np.unique(ids) if i]
            found = Proposals(
                np.array(boxes, np.float32).reshape(-1, 4), np.full(len(boxes), 0.9, np.float32)
            )
        return Embedding(ids[None, None].astype(np.float32), ids.shape, found)

    def decode(self, embedding: Embedding, prompts: Sequence[Prompt]) -> list[MaskResult]:
        self.decode_calls += 1
        self.prompts = list(prompts)
        ids = embedding.features[0, 0].astype(np.int64)
        return [self._segment(ids, prompt) for prompt in prompts]

    def _segment(self, ids: np.ndarray, prompt: Prompt) -> MaskResult:
        h, w = ids.shape
        pixel = np.clip(np.rint(prompt.points).astype(np.int64), 0, [w - 1, h - 1])
        values = ids[pixel[:, 1], pixel[:, 0]]
        excluded = set(values[prompt.labels == 0].tolist()) | {0}
        chosen = next((v for v in values[prompt.labels == 1] if v not in excluded), 0)
        if not chosen and prompt.box is not None:
            x1, y1, x2, y2 = np.rint(prompt.box).astype(np.int64)
            counts = np.bincount(ids[y1:y2, x1:x2].ravel(), minlength=ids.max() + 1)
            counts[list(excluded)] = 0
            chosen = int(counts.argmax()) if counts.max() > 0 else 0
        if not chosen:
            return _empty()
        full = ids == chosen
        if self.grow:
            size = 2 * self.grow + 1
            full = cv2.dilate(full.view(np.uint8), np.ones((size, size), np.uint8)).view(bool)
        return mask_result(full, self.stability)


@dataclass
class Disc:
    """A disc moving at constant velocity; `depth` smaller = in front."""

    id: int
    centre: tuple[float, float]
    velocity: tuple[float, float]
    radius: float
    depth: float
    color: tuple[int, int, int]
    visible: tuple[int, int] = (0, 10**9)  # frames [start, stop) in which it exists

    def at(self, t: int) -> tuple[int, int]:
        return (
            round(self.centre[0] + self.velocity[0] * t),
            round(self.centre[1] + self.velocity[1] * t),
        )


def render(discs: Sequence[Disc], t: int, size: tuple[int, int] = (240, 320)):
    """(id image uint16, RGB image) of frame t, far discs drawn first."""
    ids = np.zeros(size, np.uint16)
    rgb = np.full((*size, 3), 40, np.uint8)
    for disc in sorted(discs, key=lambda d: -d.depth):
        if disc.visible[0] <= t < disc.visible[1]:
            cv2.circle(ids, disc.at(t), round(disc.radius), int(disc.id), -1)
            cv2.circle(rgb, disc.at(t), round(disc.radius), disc.color, -1)
    return ids, rgb


def gt_box(ids: np.ndarray, object_id: int) -> np.ndarray:
    return np.asarray(mask_result(ids == object_id).box, np.float32)


def iou(result: MaskResult | None, ids: np.ndarray, object_id: int) -> float:
    """IoU of a tracked mask with GT object `object_id` (0 when either is missing)."""
    if result is None:
        return 0.0
    predicted = result.full_mask(ids.shape)
    gt = ids == object_id
    union = np.count_nonzero(predicted | gt)
    return np.count_nonzero(predicted & gt) / union if union else 0.0
