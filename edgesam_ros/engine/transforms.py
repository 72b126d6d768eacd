"""The one place that knows how an original image maps onto a square model frame.

SAM-style models resize the longest side of the image to the frame size (new size rounded as
int(x * scale + 0.5), like segment-anything's ResizeLongestSide) and pad bottom/right. Points are
scaled per axis by new/old size, exactly as upstream, so a point at the right or bottom edge lands
on the last resized pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LongestSide:
    """A square frame of `size` pixels into which images are resized by their longest side."""

    size: int

    def resized_size(self, original_size: tuple[int, int]) -> tuple[int, int]:
        """(h, w) of an (H, W) image after its longest side is scaled to `size`."""
        h, w = original_size
        scale = self.size * 1.0 / max(h, w)
        return int(h * scale + 0.5), int(w * scale + 0.5)

    def _axis_scales(self, original_size: tuple[int, int]) -> np.ndarray:
        """(sx, sy) multipliers from original to frame pixels."""
        h, w = original_size
        new_h, new_w = self.resized_size(original_size)
        return np.array([new_w / w, new_h / h], dtype=np.float64)

    def to_frame(self, coords: np.ndarray, original_size: tuple[int, int]) -> np.ndarray:
        """Original-pixel (..., 2) x, y (or (..., 4) boxes) to frame pixels, float32."""
        return self._scale(coords, self._axis_scales(original_size))

    def to_original(self, coords: np.ndarray, original_size: tuple[int, int]) -> np.ndarray:
        """Frame-pixel (..., 2) x, y (or (..., 4) boxes) back to original pixels, float32."""
        return self._scale(coords, 1.0 / self._axis_scales(original_size))

    @staticmethod
    def _scale(coords: np.ndarray, scales: np.ndarray) -> np.ndarray:
        coords = np.asarray(coords, dtype=np.float64)
        pairs = coords.reshape(*coords.shape[:-1], coords.shape[-1] // 2, 2) * scales
        return pairs.reshape(coords.shape).astype(np.float32)
