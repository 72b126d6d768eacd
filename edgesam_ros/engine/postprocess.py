"""From the decoder's low-res logits to one cropped, original-resolution mask per object.

SAM's postprocess resizes the low-res logits to the S x S prompt frame (bilinear, half-pixel
centres), crops the resized-image part (h, w) and resizes that to the original (H, W). Both steps
are linear and separable, so the whole chain is `My @ logits @ Mx.T` with two small matrices that
depend only on the image size (`MaskUpsampler`). Bilinear weights are non-negative and sum to one,
so an output pixel can only exceed the threshold if a low-res pixel in its support does: computing
only the rows/columns whose support meets the low-res box of positive logits gives exactly the
full-frame result at the cost of the object's area.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from edgesam_ros.engine.transforms import LongestSide


def stability_scores(logits: np.ndarray, threshold: float, offset: float) -> np.ndarray:
    """IoU of (logits > t + offset) and (logits > t - offset) over the last two axes.

    A mask whose area barely moves when the threshold shifts is a confident one; EdgeSAM's README
    recommends this over its IoU head, which was not distilled.
    """
    inner = (logits > threshold + offset).sum(axis=(-1, -2))
    outer = (logits > threshold - offset).sum(axis=(-1, -2))
    return np.where(outer > 0, inner / np.maximum(outer, 1), 0.0).astype(np.float32)


def _bilinear_matrix(size_in: int, size_out: int) -> np.ndarray:
    """(size_out, size_in) weights of a half-pixel bilinear resize (align_corners=False)."""
    src = (np.arange(size_out) + 0.5) * (size_in / size_out) - 0.5
    src = np.clip(src, 0.0, size_in - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, size_in - 1)
    frac = src - lo
    weights = np.zeros((size_out, size_in), dtype=np.float64)
    rows = np.arange(size_out)
    np.add.at(weights, (rows, lo), 1.0 - frac)
    np.add.at(weights, (rows, hi), frac)
    return weights


def _axis_matrix(low_res: int, frame: int, kept: int, original: int) -> np.ndarray:
    """(original, low_res) weights of low-res -> frame, crop to `kept`, -> original, on one axis."""
    to_frame = _bilinear_matrix(low_res, frame)[:kept]
    return (_bilinear_matrix(kept, original) @ to_frame).astype(np.float32)


def _support(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last low-res index with non-zero weight, per output row (both non-decreasing)."""
    nonzero = weights > 0
    first = np.argmax(nonzero, axis=1)
    last = weights.shape[1] - 1 - np.argmax(nonzero[:, ::-1], axis=1)
    return first, last


class MaskUpsampler:
    """Upsamples low-res logits of one image size, computing only the object's region."""

    def __init__(
        self, original_size: tuple[int, int], frame: LongestSide, low_res_size: tuple[int, int]
    ) -> None:
        kept_h, kept_w = frame.resized_size(original_size)
        self.original_size = original_size
        self._rows = _axis_matrix(low_res_size[0], frame.size, kept_h, original_size[0])
        self._cols = _axis_matrix(low_res_size[1], frame.size, kept_w, original_size[1])
        self._row_support = _support(self._rows)
        self._col_support = _support(self._cols)

    @staticmethod
    def _span(support: tuple[np.ndarray, np.ndarray], lo: int, hi: int) -> tuple[int, int]:
        """Output index range [start, stop) whose support meets low-res indices [lo, hi]."""
        first, last = support
        start = int(np.searchsorted(last, lo, side="left"))
        stop = int(np.searchsorted(first, hi, side="right"))
        return start, stop

    def upsample(
        self, logits: np.ndarray, threshold: float
    ) -> tuple[tuple[int, int, int, int], np.ndarray]:
        """Tight (x1, y1, x2, y2) box and the bool mask cropped to it; empty -> zeros, (0, 0)."""
        positive = logits > threshold
        rows = np.flatnonzero(positive.any(axis=1))
        cols = np.flatnonzero(positive.any(axis=0))
        if rows.size == 0:
            return (0, 0, 0, 0), np.zeros((0, 0), dtype=bool)
        y1, y2 = self._span(self._row_support, rows[0], rows[-1])
        x1, x2 = self._span(self._col_support, cols[0], cols[-1])
        if y1 >= y2 or x1 >= x2:
            return (0, 0, 0, 0), np.zeros((0, 0), dtype=bool)
        # Low-res window feeding the crop: support of its first and last rows/columns.
        a1, a2 = self._row_support[0][y1], self._row_support[1][y2 - 1] + 1
        b1, b2 = self._col_support[0][x1], self._col_support[1][x2 - 1] + 1
        window = logits[a1:a2, b1:b2].astype(np.float32)
        crop = self._rows[y1:y2, a1:a2] @ window @ self._cols[x1:x2, b1:b2].T
        mask = crop > threshold
        inside_rows = np.flatnonzero(mask.any(axis=1))
        if inside_rows.size == 0:
            return (0, 0, 0, 0), np.zeros((0, 0), dtype=bool)
        inside_cols = np.flatnonzero(mask.any(axis=0))
        r0, r1 = inside_rows[0], inside_rows[-1] + 1
        c0, c1 = inside_cols[0], inside_cols[-1] + 1
        box = (x1 + int(c0), y1 + int(r0), x1 + int(c1), y1 + int(r1))
        return box, mask[r0:r1, c0:c1]


@lru_cache(maxsize=8)
def mask_upsampler(
    original_size: tuple[int, int], frame_size: int, low_res_size: tuple[int, int]
) -> MaskUpsampler:
    """Shared upsampler per image size: a camera stream has one size, so it is built once."""
    return MaskUpsampler(original_size, LongestSide(frame_size), low_res_size)
