"""The values that cross the engine boundary (see docs/architecture.md, "Engine contract").

Everything here is in pixels of the original image; the model frames never leak out.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np


@dataclass(frozen=True)
class Prompt:
    """What one object is prompted with on one frame.

    `points` may be empty when `box` is given; `mask_input` is a previous
    `MaskResult.low_res_logits` and is only used by decoders that have a mask input
    (`EngineInfo.has_mask_input`).
    """

    points: np.ndarray
    labels: np.ndarray
    box: np.ndarray | None = None
    mask_input: np.ndarray | None = None

    @classmethod
    def from_points(
        cls, points: np.ndarray | list, labels: np.ndarray | list | None = None
    ) -> Prompt:
        """Points prompt; every point is foreground unless `labels` says otherwise."""
        pts = np.asarray(points, dtype=np.float32).reshape(-1, 2)
        lbl = np.ones(len(pts), np.int32) if labels is None else np.asarray(labels, np.int32)
        return cls(points=pts, labels=lbl)

    @classmethod
    def from_box(cls, box: np.ndarray | list) -> Prompt:
        """Box prompt (x1, y1, x2, y2) with no points."""
        return cls(
            points=np.zeros((0, 2), np.float32),
            labels=np.zeros(0, np.int32),
            box=np.asarray(box, dtype=np.float32).reshape(4),
        )


@dataclass(frozen=True)
class Proposals:
    """Object proposals of the encoder's RPN head after score threshold and NMS."""

    boxes: np.ndarray
    scores: np.ndarray


@dataclass
class Embedding:
    """The encoder's output for one image; decode any number of prompts against it."""

    features: np.ndarray
    original_size: tuple[int, int]
    proposals: Proposals | None = None


@dataclass
class MaskResult:
    """One object's mask, stored as its tight box and the mask cropped to it.

    Cropping keeps a small object's result small: a 1080p full-frame bool mask is 2 MB per object.
    """

    box: tuple[int, int, int, int]
    mask: np.ndarray
    iou_prediction: float
    stability: float
    area: int
    low_res_logits: np.ndarray

    def full_mask(self, shape: tuple[int, int]) -> np.ndarray:
        """The mask pasted into an all-false (H, W) image."""
        full = np.zeros(shape, dtype=bool)
        x1, y1, x2, y2 = self.box
        full[y1:y2, x1:x2] = self.mask
        return full


@dataclass(frozen=True)
class ModelShape:
    """Sizes and capabilities of a loaded encoder/decoder pair, as read from the files."""

    image_size: int
    prompt_frame: int
    embedding_shape: tuple[int, int, int]
    low_res_size: tuple[int, int]
    batched: bool
    has_mask_input: bool
    has_proposals: bool

    def shape_fields(self) -> dict[str, object]:
        """The `ModelShape` fields of this object, to build another `ModelShape` from it."""
        return {f.name: getattr(self, f.name) for f in fields(ModelShape)}


@dataclass(frozen=True, kw_only=True)
class EngineInfo(ModelShape):
    """What was loaded and where it runs; published by the node as diagnostics."""

    family: str
    encoder_path: str
    decoder_path: str
    encoder_provider: str
    decoder_provider: str
    load_ms: float


@dataclass(frozen=True)
class Timings:
    """Wall-clock milliseconds of the last `encode` and the last `decode`, and how many decoder
    runs that `decode` made (one per group of equal-length prompts and `max_decoder_batch`)."""

    preprocess_ms: float = 0.0
    encoder_ms: float = 0.0
    decoder_ms: float = 0.0
    postprocess_ms: float = 0.0
    decoder_calls: int = 0

    @property
    def encode_ms(self) -> float:
        return self.preprocess_ms + self.encoder_ms

    @property
    def decode_ms(self) -> float:
        return self.decoder_ms + self.postprocess_ms
