"""Which frames of a bag go into a dataset, and into which split.

Consecutive camera frames are near-duplicates, so a dataset of every frame is mostly repetition
and a random train/val split leaks: the validation frames have twins in training. Hence:

- candidates: frames whose result holds at least one object (unless `keep_empty`: a frame before
  the first click, or with every object lost, would teach "nothing here" where objects are);
- `every`: every Nth candidate;
- `min_change`: of those, a frame is kept only if it differs enough from the last frame kept.
  The measure is the mean absolute difference, in grey levels (0-255), of the two frames in
  grey and downscaled to `THUMB_WIDTH` pixels wide (INTER_AREA): cheap, insensitive to sensor
  noise and to single pixels, and it rises with camera motion and with objects moving;
- split by time: the span from the first to the last candidate is cut into `blocks` equal time
  blocks; `floor(blocks * val_fraction)` of them, spread evenly (block k is validation when
  floor((k + 1) * f) > floor(k * f)), are validation, the rest training. Whole blocks, so a
  validation frame's near-duplicates are (all but those at a block edge) in validation too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

THUMB_WIDTH = 64
TRAIN, VAL = "train", "val"


@dataclass(frozen=True)
class Selection:
    every: int = 1
    min_change: float = 0.0  # grey levels; 0 keeps every frame `every` gives
    val_fraction: float = 0.2
    blocks: int = 10
    keep_empty: bool = False

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError(f"every must be at least 1, got {self.every}")
        if not 0 <= self.min_change <= 255:
            raise ValueError(f"min_change is in grey levels, 0 to 255; got {self.min_change}")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.blocks < 1:
            raise ValueError(f"blocks must be at least 1, got {self.blocks}")
        if self.val_fraction > 0 and self.val_blocks == 0:
            raise ValueError(f"val_fraction {self.val_fraction} of {self.blocks} blocks is no "
                             "whole block: raise --blocks or --val-fraction")

    @property
    def val_blocks(self) -> int:
        return math.floor(self.blocks * self.val_fraction + 1e-9)

    @property
    def splits(self) -> tuple[str, ...]:
        return (TRAIN, VAL) if self.val_fraction > 0 else (TRAIN,)


def candidates(objects_per_stamp: dict[int, int], selection: Selection) -> list[int]:
    """Stamps of the frames that may be exported, in time order, after `every`."""
    stamps = sorted(s for s, n in objects_per_stamp.items() if n or selection.keep_empty)
    return stamps[::selection.every]


def is_val_block(block: int, fraction: float) -> bool:
    """Whether time block `block` is validation (val blocks spread evenly over the recording)."""
    return math.floor((block + 1) * fraction + 1e-9) > math.floor(block * fraction + 1e-9)


def splits(stamps: list[int], selection: Selection) -> dict[int, str]:
    """The split of each stamp: by equal time blocks over the stamps' span."""
    if not stamps:
        return {}
    first, span = stamps[0], stamps[-1] - stamps[0]
    chosen = {}
    for stamp in stamps:
        block = min(selection.blocks - 1, (stamp - first) * selection.blocks // span) if span else 0
        chosen[stamp] = VAL if is_val_block(int(block), selection.val_fraction) else TRAIN
    return chosen


def thumbnail(rgb: np.ndarray) -> np.ndarray:
    """The frame in grey, THUMB_WIDTH pixels wide, float32 (what `change` compares)."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    height = max(1, round(grey.shape[0] * THUMB_WIDTH / grey.shape[1]))
    return cv2.resize(grey, (THUMB_WIDTH, height), interpolation=cv2.INTER_AREA).astype(np.float32)


def change(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two thumbnails, in grey levels."""
    return float(np.mean(np.abs(a - b)))


class ChangeFilter:
    """Keeps a frame when it differs from the last kept one by at least `min_change`."""

    def __init__(self, min_change: float) -> None:
        self.min_change = min_change
        self._last: np.ndarray | None = None

    def keep(self, rgb: np.ndarray) -> bool:
        if self.min_change <= 0:
            return True
        thumb = thumbnail(rgb)
        if self._last is not None and change(thumb, self._last) < self.min_change:
            return False
        self._last = thumb
        return True
