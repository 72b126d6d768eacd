"""Textures and colours: the appearance of objects, backgrounds and clutter.

A texture is a scalar pattern `t` in [0, 1] mapped through a two-colour palette, so every pattern
kind gets colour variety for free and the colour difficulty (how close an object is to what is
behind it) is controlled by the palette alone.
"""

from __future__ import annotations

import colorsys

import cv2
import numpy as np


def _coordinates(height: int, width: int, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Float32 (H, W) pixel coordinates u, v rotated by `angle`."""
    y = np.arange(height, dtype=np.float32)[:, None]
    x = np.arange(width, dtype=np.float32)[None, :]
    c, s = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    return x * c + y * s, y * c - x * s


def _smooth_noise(height: int, width: int, cell: float, rng: np.random.Generator) -> np.ndarray:
    """Value noise with features about `cell` pixels across, in [0, 1]."""
    gh, gw = max(2, round(height / cell) + 1), max(2, round(width / cell) + 1)
    grid = rng.random((gh, gw), dtype=np.float32)
    t = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
    lo, hi = float(t.min()), float(t.max())
    return (t - lo) / max(hi - lo, 1e-6)


def pattern(
    kind: str, height: int, width: int, scale: float, rng: np.random.Generator
) -> np.ndarray:
    """A float32 (H, W) pattern in [0, 1]; `scale` (pixels) sets the size of its features."""
    angle = rng.uniform(0, np.pi)
    if kind == "flat":
        return np.zeros((height, width), np.float32)
    if kind == "gradient":
        u, _ = _coordinates(height, width, angle)
        return (u - u.min()) / max(float(u.max() - u.min()), 1e-6)
    if kind == "stripes":
        u, _ = _coordinates(height, width, angle)
        period = scale * rng.uniform(0.08, 0.35)
        wave = 0.5 + 0.5 * np.sin(u * np.float32(2 * np.pi / period))
        return (wave > 0.5).astype(np.float32) if rng.random() < 0.5 else wave
    if kind in ("checker", "tiles"):
        u, v = _coordinates(height, width, angle if kind == "checker" else 0.0)
        cell = np.float32(scale * rng.uniform(0.08, 0.3))
        cu, cv_ = np.floor(u / cell), np.floor(v / cell)
        if kind == "checker":
            return ((cu + cv_) % 2).astype(np.float32)
        # Tiles: each tile its own shade, separated by dark grout lines.
        shades = rng.uniform(0.2, 0.8, 64).astype(np.float32)
        t = shades[((cu * 7 + cv_ * 13) % 64).astype(np.int64)]
        grout = np.float32(max(1.0, float(cell) * 0.06))
        return np.where(((u % cell) < grout) | ((v % cell) < grout), np.float32(1.0), t)
    if kind == "noise":
        t = _smooth_noise(height, width, scale * rng.uniform(0.05, 0.25), rng)
        return t * t * (3 - 2 * t)  # sharpen the blotches a little
    raise ValueError(f"unknown texture kind {kind!r}")


def paint(t: np.ndarray, color_a: np.ndarray, color_b: np.ndarray) -> np.ndarray:
    """Map a [0, 1] pattern to uint8 RGB between two colours (fast: a 256-entry palette)."""
    ramp = np.linspace(0, 1, 256, dtype=np.float32)[:, None]
    palette = np.clip(color_a + ramp * (np.asarray(color_b) - color_a), 0, 255)
    index = (t * 255 + 0.5).astype(np.uint8)
    return cv2.LUT(cv2.merge([index, index, index]), palette.astype(np.uint8)[:, None, :])


def shade(image: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Multiply by a linear brightness ramp through the centre (light falling on it sideways)."""
    h, w = image.shape[:2]
    u, _ = _coordinates(h, w, rng.uniform(0, 2 * np.pi))
    u = u - (u.max() + u.min()) / 2
    ramp = 1 + np.float32(strength) * u / max(float(np.abs(u).max()), 1e-6)
    return cv2.multiply(image, cv2.merge([ramp, ramp, ramp]), dtype=cv2.CV_8U)


def random_color(rng: np.random.Generator) -> np.ndarray:
    """A natural-looking RGB colour: any hue, mostly muted saturation, broad brightness.

    Uniform RGB gives mostly garish colours; real scenes are dominated by greys, browns and
    washed-out tones with occasional saturated ones.
    """
    hue, saturation, value = rng.random(), rng.beta(1.2, 2.0), rng.uniform(0.12, 0.95)
    return np.array(colorsys.hsv_to_rgb(hue, saturation, value)) * 255


def color_at_distance(
    reference: np.ndarray, distance: tuple[float, float], rng: np.random.Generator
) -> np.ndarray:
    """A colour inside the RGB cube whose distance to `reference` lies in `distance` (lo, hi).

    Random directions are tried first; a direction towards the cube's far corner always fits as
    long as `hi` is reachable, which keeps the result inside [lo, hi] where possible.
    """
    reference = np.asarray(reference, np.float64)
    lo, hi = distance
    for _ in range(16):
        direction = rng.normal(size=3)
        candidate = reference + direction / np.linalg.norm(direction) * rng.uniform(lo, hi)
        if np.all((candidate >= 0) & (candidate <= 255)):
            return candidate
    corner = np.where(reference < 127.5, 255.0, 0.0)
    span = corner - reference
    reach = float(np.linalg.norm(span))
    return reference + span * min(1.0, rng.uniform(lo, hi) / max(reach, 1e-6))
