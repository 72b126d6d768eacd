"""Smooth motion for sequences: spline paths through timed waypoints, and camera shake.

Paths are precomputed for every frame (a few numbers per object and frame), which is what makes
frames random-accessible: rendering frame t needs only the poses at t.
"""

from __future__ import annotations

import numpy as np


def hermite(times: np.ndarray, values: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Cubic Hermite (Catmull-Rom style, non-uniform) interpolation of (n, d) `values` at `frames`.

    Passes exactly through every waypoint with finite-difference tangents, so velocity is
    continuous; `times` must be strictly increasing and cover `frames`.
    """
    times = np.asarray(times, np.float64)
    values = np.asarray(values, np.float64).reshape(len(times), -1)
    if len(times) == 1:
        return np.repeat(values, len(frames), axis=0)
    tangents = np.gradient(values, times, axis=0)
    seg = np.clip(np.searchsorted(times, frames, side="right") - 1, 0, len(times) - 2)
    t0, t1 = times[seg], times[seg + 1]
    h = (t1 - t0)[:, None]
    u = ((frames - t0) / (t1 - t0))[:, None]
    h00, h10 = 2 * u**3 - 3 * u**2 + 1, u**3 - 2 * u**2 + u
    h01, h11 = -2 * u**3 + 3 * u**2, u**3 - u**2
    return (
        h00 * values[seg]
        + h10 * h * tangents[seg]
        + h01 * values[seg + 1]
        + h11 * h * tangents[seg + 1]
    )


def waypoint_times(
    num_frames: int, interval: tuple[int, int], rng: np.random.Generator
) -> list[int]:
    """Frame indices 0 = t_0 < t_1 < ... = num_frames - 1 spaced by `interval` (lo, hi)."""
    times = [0]
    while times[-1] < num_frames - 1:
        step = int(rng.integers(interval[0], interval[1] + 1))
        times.append(min(times[-1] + step, num_frames - 1))
    return times


def wander(
    times: list[int],
    region: tuple[float, float, float, float],
    speed: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """(n, 2) waypoints of a random walk inside `region` (x1, y1, x2, y2) at about `speed`
    pixels per frame, turning gradually so paths look purposeful rather than jittery."""
    x1, y1, x2, y2 = region
    point = np.array([rng.uniform(x1, x2), rng.uniform(y1, y2)])
    heading = rng.uniform(0, 2 * np.pi)
    points = [point]
    for dt in np.diff(times):
        heading += rng.normal(0, 0.8)
        step = speed * dt * rng.uniform(0.5, 1.5)
        point = point + step * np.array([np.cos(heading), np.sin(heading)])
        # Bounce off the region's border.
        for axis, (lo, hi) in enumerate(((x1, x2), (y1, y2))):
            if point[axis] < lo or point[axis] > hi:
                point[axis] = np.clip(2 * np.clip(point[axis], lo, hi) - point[axis], lo, hi)
                heading = np.pi - heading if axis == 0 else -heading
        points.append(point)
    return np.array(points)


def outside_point(
    point: np.ndarray, size: tuple[int, int], distance: float, side: int | None = None
) -> tuple[np.ndarray, int]:
    """The point moved beyond an image border by `distance` (the nearest border unless `side`
    is given: 0 left, 1 right, 2 top, 3 bottom); also returns the side."""
    height, width = size
    x, y = point
    if side is None:
        side = int(np.argmin([x, width - x, y, height - y]))
    out = np.array(
        [(-distance, y), (width + distance, y), (x, -distance), (x, height + distance)][side]
    )
    return out, side


def camera_shake(
    num_frames: int, sigma: float, smoothing: float, rng: np.random.Generator
) -> np.ndarray:
    """(T, 2) integer pixel offsets of the scene content: an AR(1) jitter of std `sigma`.

    Integers keep the background crop and the objects exactly aligned without resampling.
    """
    noise = rng.normal(0, sigma, (num_frames, 2))
    offsets = np.zeros((num_frames, 2))
    innovation = np.sqrt(1 - smoothing**2)
    for t in range(num_frames):
        offsets[t] = noise[t] if t == 0 else smoothing * offsets[t - 1] + innovation * noise[t]
    return np.round(offsets).astype(np.int64)
