"""A ground-truth "segmenter" with the engine's `encode`/`decode` contract: the oracle.

Scoring the tracker with a trained model mixes two kinds of error: masks the model got wrong, and
prompts the tracker got wrong. `OracleEngine` removes the first kind. Its "embedding" is the
frame's ground-truth id image, and `decode` answers each prompt the way a perfect SAM would:

- the object under the first positive point that no negative point excludes;
- else (box prompt without a usable point) the object that best fills the box: highest IoU
  between the object's visible pixels and the box taken as a filled rectangle, so a tight box
  gets its own object even when a bigger neighbour covers more of it;
- the mask is that object's visible pixels restricted to the prompt box (SAM does not segment
  far outside the box it was given), its outline optionally moved by a random number of pixels
  in `boundary_shift` (dilation if positive, erosion if negative) to mimic a real model's
  imprecise outlines, or (a fixed positive shift) masks that bleed into their neighbours;
- `mask_input` is ignored (the oracle needs no memory), `proposals` are the boxes of every
  visible object (a perfect RPN) when enabled.

Used by `evaluate --oracle`, the tracker tests and the tracker bench. Torch-free.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from edgesam_ros.engine.types import Embedding, EngineInfo, MaskResult, Prompt, Proposals

LOW_RES = 256  # EdgeSAM's low-res logits are 256 x 256
PROPOSAL_SCORE = 0.9


def mask_result(full: np.ndarray, stability: float = 0.95) -> MaskResult:
    """MaskResult of a full-frame bool mask: cropped to its tight box, with low-res logits."""
    ys, xs = np.nonzero(full)
    if len(ys) == 0:
        logits = np.full((LOW_RES, LOW_RES), -10.0, np.float32)
        return MaskResult((0, 0, 0, 0), np.zeros((0, 0), bool), 0.0, 0.0, 0, logits)
    x1, y1, x2, y2 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
    small = cv2.resize(full.view(np.uint8), (LOW_RES, LOW_RES), interpolation=cv2.INTER_AREA)
    logits = np.where(small > 0, 10.0, -10.0).astype(np.float32)
    crop = full[y1:y2, x1:x2].copy()
    return MaskResult((x1, y1, x2, y2), crop, stability, stability, len(ys), logits)


def object_boxes(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ids present, their tight boxes (K, 4) float32) of a ground-truth id image."""
    present = [int(i) for i in np.unique(ids) if i]
    boxes = [cv2.boundingRect((ids == i).astype(np.uint8)) for i in present]
    xywh = np.array(boxes, np.float32).reshape(-1, 4)
    return np.array(present, np.int64), np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1)


class OracleEngine:
    """`encode(ids)` / `decode(embedding, prompts)` from ground truth (see the module docstring).

    `decode_calls` and `prompts` (those of the last call) are kept for inspection by tests.
    """

    def __init__(
        self,
        proposals: bool = True,
        boundary_shift: tuple[int, int] = (0, 0),
        stability: float = 0.95,
        has_mask_input: bool = True,
        seed: int = 0,
    ) -> None:
        self.proposals = proposals
        self.boundary_shift = boundary_shift
        self.stability = stability
        self.info = EngineInfo(
            family="oracle",
            encoder_path="",
            decoder_path="",
            encoder_provider="ground truth",
            decoder_provider="ground truth",
            image_size=0,
            prompt_frame=0,
            embedding_shape=(1, 0, 0),
            low_res_size=(LOW_RES, LOW_RES),
            batched=True,
            has_mask_input=has_mask_input,
            has_proposals=proposals,
            load_ms=0.0,
        )
        self._rng = np.random.default_rng(seed)
        self.decode_calls = 0
        self.prompts: list[Prompt] = []

    def encode(self, ids: np.ndarray) -> Embedding:
        """The "embedding" of a frame: its ground-truth id image (0 = background)."""
        found = None
        if self.proposals:
            _, boxes = object_boxes(ids)
            found = Proposals(boxes, np.full(len(boxes), PROPOSAL_SCORE, np.float32))
        return Embedding(ids[None, None].astype(np.float32), ids.shape, found)

    def decode(self, embedding: Embedding, prompts: Sequence[Prompt]) -> list[MaskResult]:
        self.decode_calls += 1
        self.prompts = list(prompts)
        ids = embedding.features[0, 0].astype(np.int64)
        areas = np.bincount(ids.ravel())
        return [self._segment(ids, areas, prompt) for prompt in prompts]

    def _segment(self, ids: np.ndarray, areas: np.ndarray, prompt: Prompt) -> MaskResult:
        h, w = ids.shape
        pixel = np.clip(np.rint(prompt.points).astype(np.int64), 0, [w - 1, h - 1])
        values = ids[pixel[:, 1], pixel[:, 0]]
        excluded = set(values[prompt.labels == 0].tolist()) | {0}
        chosen = next((int(v) for v in values[prompt.labels == 1] if v not in excluded), 0)
        window = (slice(0, h), slice(0, w))
        if prompt.box is not None:
            x1, y1 = np.floor(prompt.box[:2]).astype(np.int64).clip(0, [w, h])
            x2, y2 = np.ceil(prompt.box[2:]).astype(np.int64).clip(0, [w, h])
            window = (slice(y1, y2), slice(x1, x2))
            if not chosen and x2 > x1 and y2 > y1:
                inside = np.bincount(ids[window].ravel(), minlength=len(areas))
                fill = inside / ((x2 - x1) * (y2 - y1) + areas - inside)
                fill[list(excluded)] = 0.0
                chosen = int(fill.argmax()) if fill.max() > 0 else 0
        full = np.zeros((h, w), bool)
        if chosen:
            full[window] = ids[window] == chosen
            full = self._roughen(full)
            if prompt.box is not None:
                clipped = np.zeros_like(full)
                clipped[window] = full[window]
                full = clipped
        return mask_result(full, self.stability)

    def _roughen(self, full: np.ndarray) -> np.ndarray:
        """Move the outline out (k > 0) or in by k pixels, k drawn from `boundary_shift`."""
        low, high = self.boundary_shift
        k = int(self._rng.integers(low, high + 1)) if high > low else low
        if k == 0:
            return full
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(k) + 1,) * 2)
        morph = cv2.dilate if k > 0 else cv2.erode
        return morph(full.view(np.uint8), kernel).view(bool)
