"""Imaging: lighting, exposure, optical blur and sensor noise applied to a composed scene.

Sampled once per still image or per sequence (`Imaging.sample`); the noise is drawn per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .config import CameraStyle

MIN_BLUR_SIGMA = 0.3
"""Below this sigma the blur is skipped (it would change nothing visible)."""


@dataclass(frozen=True)
class Imaging:
    gain: float
    offset: float
    light_angle: float
    """Direction (radians) in which the light gradient brightens the image."""
    light_strength: float
    blur_sigma: float
    noise_sigma: float

    @classmethod
    def sample(cls, style: CameraStyle, rng: np.random.Generator) -> Imaging:
        return cls(
            gain=rng.uniform(*style.gain),
            offset=rng.uniform(*style.offset),
            light_angle=rng.uniform(0, 2 * np.pi),
            light_strength=rng.uniform(*style.light_gradient),
            blur_sigma=rng.uniform(*style.blur_sigma),
            noise_sigma=rng.uniform(*style.noise_sigma),
        )

    def gain_map(self, height: int, width: int) -> np.ndarray:
        """Float32 (H, W * 3): exposure gain times a linear light gradient, laid out like an
        RGB image viewed as (H, W * 3) so it multiplies the image in one pass."""
        strength = self.gain * self.light_strength
        x = np.linspace(-0.5, 0.5, width, dtype=np.float32) * np.float32(
            strength * np.cos(self.light_angle)
        )
        y = np.linspace(-0.5, 0.5, height, dtype=np.float32) * np.float32(
            strength * np.sin(self.light_angle)
        ) + np.float32(self.gain)
        return np.repeat(x, 3)[None, :] + y[:, None]


def apply_imaging(
    image: np.ndarray, imaging: Imaging, rng: np.random.Generator, gain_map: np.ndarray
) -> np.ndarray:
    """Light, blur, add noise and quantise a uint8 RGB image; `gain_map` from `Imaging.gain_map`.

    The gain map is passed in so a sequence computes it once for all its frames. The noise comes
    from OpenCV's RNG (3x faster than numpy's normal), seeded from `rng` so results stay
    deterministic; this reseeds OpenCV's per-thread default RNG as a side effect.
    """
    height, width = image.shape[:2]
    out = cv2.multiply(image.reshape(height, width * 3), gain_map, dtype=cv2.CV_32F)
    if imaging.blur_sigma >= MIN_BLUR_SIGMA:
        out = cv2.GaussianBlur(out.reshape(height, width, 3), (0, 0), imaging.blur_sigma)
        out = out.reshape(height, width * 3)
    cv2.setRNGSeed(int(rng.integers(2**31)))
    # Noise around the black-level offset; cv2.add rounds and saturates into uint8.
    noise = cv2.randn(np.empty_like(out), imaging.offset, imaging.noise_sigma)
    return cv2.add(out, noise, dtype=cv2.CV_8U).reshape(height, width, 3)
