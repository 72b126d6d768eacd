"""Planning a sequence: object paths with exits, entries and crossings, and occluder sweeps.

Everything here is decided once per sequence from the seed; the result is small per-frame pose
arrays (`Track`, `Occluder`) that `sequence.Sequence` renders frame by frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .appearance import Appearance, object_appearance
from .config import SequenceConfig
from .events import Episode
from .motion import hermite, outside_point, wander, waypoint_times
from .shapes import Shape, place, random_shape

OUTSIDE_GAP = 0.03
"""Extra distance beyond the border (fraction of min(H, W)) for waypoints of exiting objects."""
PLAN_ATTEMPTS = 30
REVEAL_FRACTION = 0.25
"""Part of its target the occluder leaves uncovered the frame before and after full occlusion."""
RASTER_MARGIN = 2.0
"""Pixels a rasterised polygon may extend beyond its exact outline."""


@dataclass(frozen=True)
class Track:
    """One object's appearance and per-frame pose (before camera shake)."""

    shape: Shape
    appearance: Appearance
    depth: float
    centres: np.ndarray  # (T, 2)
    angles: np.ndarray  # (T,)
    sizes: np.ndarray  # (T,) pixels across

    def contours(self, t: int, offset: np.ndarray) -> list[np.ndarray]:
        return place(self.shape, self.centres[t] + offset, self.angles[t], self.sizes[t])


@dataclass(frozen=True)
class Occluder:
    """A full-height pillar; `edges[t]` are its left and right x (before camera shake)."""

    appearance: Appearance
    edges: np.ndarray  # (T, 2)
    depth: float
    margin: float  # how far above and below the image it extends

    def contours(self, t: int, offset: np.ndarray, height: int) -> list[np.ndarray]:
        left, right = self.edges[t] + offset[0]
        top, bottom = -self.margin + offset[1], height + self.margin + offset[1]
        return [np.array([[left, top], [right, top], [right, bottom], [left, bottom]])]


class _Waypoints:
    """Timed (x, y, log-scale) waypoints of one object; events edit them before evaluation."""

    def __init__(self, times: list[int], values: np.ndarray) -> None:
        self.points = dict(zip(times, values, strict=True))
        self.last = times[-1]

    def evaluate(self, frames: np.ndarray) -> np.ndarray:
        times = sorted(self.points)
        return hermite(np.array(times), np.array([self.points[t] for t in times]), frames)

    def replace(self, lo: float, hi: float, new: dict[int, np.ndarray]) -> None:
        """Drop interior waypoints strictly between lo and hi, then add `new`."""
        for t in [t for t in self.points if lo < t < hi and 0 < t < self.last]:
            del self.points[t]
        self.points.update(new)


def _cells(count: int, height: int, width: int) -> list[tuple[float, float, float, float]]:
    """A grid of at least `count` disjoint cells (x1, y1, x2, y2) covering the image."""
    cols = int(np.ceil(np.sqrt(count * width / height)))
    rows = int(np.ceil(count / cols))
    cw, ch = width / cols, height / rows
    return [(c * cw, r * ch, (c + 1) * cw, (r + 1) * ch) for r in range(rows) for c in range(cols)]


def _inset(box: tuple[float, float, float, float], by: float) -> tuple[float, float, float, float]:
    """Box shrunk by `by` on each side; collapses to its centre rather than inverting."""
    x1, y1, x2, y2 = box
    bx, by_ = min(by, (x2 - x1) / 2), min(by, (y2 - y1) / 2)
    return x1 + bx, y1 + by_, x2 - bx, y2 - by_


def plan_tracks(
    config: SequenceConfig, background_color: np.ndarray, rng: np.random.Generator
) -> list[Track]:
    """Objects with paths, including the planned exits, entries and crossings."""
    height, width, frames = config.height, config.width, config.num_frames
    short_side = min(height, width)
    events, motion = config.events, config.motion
    count = int(rng.integers(config.num_objects[0], config.num_objects[1] + 1))
    max_scale = motion.scale_change[1]
    sizes = rng.uniform(*config.objects.size, count) * short_side
    if events.allow_crossings:
        regions = [_inset((0, 0, width, height), 0.25 * s * max_scale) for s in sizes]
    else:
        # Each object keeps its whole silhouette inside its own cell: no overlaps, ever.
        cells = rng.permutation(np.array(_cells(count, height, width)))[:count]
        fit = np.array([min(x2 - x1, y2 - y1) for x1, y1, x2, y2 in cells]) / max_scale
        sizes = np.minimum(sizes, 0.9 * fit - 2 * RASTER_MARGIN)
        regions = [
            _inset(tuple(cell), s * max_scale / 2 + RASTER_MARGIN)
            for cell, s in zip(cells, sizes, strict=True)
        ]
    log_scale = np.log(motion.scale_change)
    paths = []
    for region in regions:
        times = waypoint_times(frames, motion.waypoint_interval, rng)
        xy = wander(times, region, motion.speed * short_side, rng)
        values = np.column_stack([xy, rng.uniform(*log_scale, len(times))])
        paths.append(_Waypoints(times, values))
    if events.allow_crossings:
        radii = sizes * max_scale / 2
        busy = _plan_exits(paths, radii, config, rng)
        _plan_crossings(paths, radii, busy, config, rng)

    all_frames = np.arange(frames, dtype=np.float64)
    tracks = []
    colors = [background_color]
    for k, (path, size) in enumerate(zip(paths, sizes, strict=True)):
        values = path.evaluate(all_frames)
        centres = values[:, :2]
        if not events.allow_crossings:
            x1, y1, x2, y2 = regions[k]
            centres = np.clip(centres, (x1, y1), (x2, y2))  # splines may overshoot waypoints
        scales = np.exp(np.clip(values[:, 2], *log_scale))
        angles = rng.uniform(0, 2 * np.pi) + rng.uniform(*motion.rotation_speed) * all_frames
        appearance = object_appearance(config.objects, size * max_scale, colors, rng)
        colors.append(appearance.color)
        shape = random_shape(str(rng.choice(config.objects.shape_kinds)), rng)
        depth = rng.uniform(*config.object_depth)
        tracks.append(Track(shape, appearance, depth, centres, angles, size * scales))
    return tracks


def _plan_exits(
    paths: list[_Waypoints], radii: np.ndarray, config: SequenceConfig, rng: np.random.Generator
) -> list[list[tuple[float, float]]]:
    """Send some objects out of the frame and back, or let them start outside.

    Returns per object the frame windows its path is reserved for (crossings avoid them).
    """
    height, width, frames = config.height, config.width, config.num_frames
    size = (height, width)
    events = config.events
    lead = config.motion.waypoint_interval[0] / 2
    speed = config.motion.speed * min(height, width)
    busy: list[list[tuple[float, float]]] = [[] for _ in paths]
    for k, path in enumerate(paths):
        distance = radii[k] + OUTSIDE_GAP * min(height, width)
        # Frames to go from centre-on-the-border to fully outside, at about twice the usual speed.
        travel = max(2, int(np.ceil(distance / (2 * speed))))
        absence = int(rng.integers(events.absence_length[0], events.absence_length[1] + 1))
        # A sequence too short for this absence gets a start whose exit cannot fit (refused below).
        first = int(0.15 * frames)
        start = int(rng.integers(first, max(int(0.85 * frames) - absence, first) + 1))
        # Coming back in from fully outside also takes about `travel` frames while still unseen.
        outside = max(1, absence - travel)
        leave, back = start - travel, start + outside + travel
        if rng.random() < events.exit_prob and leave > lead and back < frames - 1 - lead:
            here = path.evaluate(np.array([float(leave)]))[0]
            out, side = outside_point(here[:2], size, distance)
            along = np.array([[0, 1], [0, 1], [1, 0], [1, 0]][side]) * rng.uniform(-0.2, 0.2)
            out_again = out + along * min(height, width)
            # Waypoints: on the border, outside, outside (shifted along it), on the border.
            steps = {
                leave: outside_point(here[:2], size, 0.0, side)[0],
                start: out,
                start + outside: out_again,
                back: outside_point(out_again, size, 0.0, side)[0],
            }
            path.replace(
                leave - lead, back + lead, {t: np.append(p, here[2]) for t, p in steps.items()}
            )
            busy[k].append((leave - lead, back + lead))
        elif rng.random() < events.enter_prob:
            first = path.points[0]
            out, _ = outside_point(first[:2], (height, width), distance)
            path.points[0] = np.append(out, first[2])
            busy[k].append((0, 2 * lead))
    return busy


def _plan_crossings(
    paths: list[_Waypoints],
    radii: np.ndarray,
    busy: list[list[tuple[float, float]]],
    config: SequenceConfig,
    rng: np.random.Generator,
) -> None:
    """Make pairs of objects meet at the same point at the same frame."""
    frames, height, width = config.num_frames, config.height, config.width
    lead = config.motion.waypoint_interval[0] / 2
    wanted = int(rng.integers(config.events.crossings[0], config.events.crossings[1] + 1))
    if len(paths) < 2:
        return
    for _ in range(wanted):
        for _ in range(PLAN_ATTEMPTS):
            a, b = rng.choice(len(paths), 2, replace=False)
            when = int(rng.integers(int(0.2 * frames), max(int(0.8 * frames), 1) + 1))
            if any(lo <= when <= hi for k in (a, b) for lo, hi in busy[k]):
                continue
            x1, y1, x2, y2 = _inset((0, 0, width, height), max(radii[a], radii[b]))
            meet = np.array([rng.uniform(x1, x2), rng.uniform(y1, y2)])
            for k in (a, b):
                scale = paths[k].evaluate(np.array([float(when)]))[0, 2]
                paths[k].replace(when - lead, when + lead, {when: np.append(meet, scale)})
                busy[k].append((when - lead, when + lead))
            break


def plan_occluders(
    tracks: list[Track],
    config: SequenceConfig,
    background_color: np.ndarray,
    margin: float,
    rng: np.random.Generator,
) -> tuple[list[Occluder], tuple[Episode, ...]]:
    """Pillars that each hide one target completely for a planned number of frames.

    The pillar sweeps in from one side at `occluder_speed`, leaves `REVEAL_FRACTION` of the
    target uncovered the frame before the episode, then moves with the target (as wide as the
    target's widest extent during the episode), and sweeps on out the other way.
    """
    height, width, frames = config.height, config.width, config.num_frames
    events = config.events
    speed = events.occluder_speed * width
    wanted = int(rng.integers(events.occlusions[0], events.occlusions[1] + 1))
    occluders: list[Occluder] = []
    episodes: list[Episode] = []
    taken: list[tuple[int, int]] = []
    for _ in range(wanted if tracks else 0):
        for _ in range(PLAN_ATTEMPTS):
            k = int(rng.integers(len(tracks)))
            length = int(rng.integers(events.occlusion_length[0], events.occlusion_length[1] + 1))
            if length + 2 > frames:
                continue
            start = int(rng.integers(1, frames - length))
            end = start + length  # frame `end` exists: the target shows again there
            if any(start - 1 <= e and s - 1 <= end for s, e in taken):
                continue
            extents = np.array([_extent(tracks[k], t) for t in range(start - 1, end + 1)])
            x1, y1, x2, y2 = extents[:, 0].min(), extents[:, 1].min(), *extents[:, 2:].max(0)
            if x1 < 0 or y1 < 0 or x2 > width or y2 > height:
                continue  # the target must be in the frame: hidden, not absent
            occluders.append(
                _sweep(tracks[k], start, end, extents, speed, config, background_color, margin, rng)
            )
            episodes.append(Episode(k + 1, start, end))
            taken.append((start, end))
            break
    return occluders, tuple(episodes)


def _extent(track: Track, t: int) -> np.ndarray:
    """x1, y1, x2, y2 of the object's outline at frame t (before shake), with raster margin."""
    outline = track.contours(t, np.zeros(2))[0]
    return np.concatenate([outline.min(0) - RASTER_MARGIN, outline.max(0) + RASTER_MARGIN])


def _sweep(
    track: Track,
    start: int,
    end: int,
    extents: np.ndarray,
    speed: float,
    config: SequenceConfig,
    background_color: np.ndarray,
    margin: float,
    rng: np.random.Generator,
) -> Occluder:
    """The pillar of one occlusion episode; `extents` cover frames start - 1 ... end."""
    frames = np.arange(config.num_frames, dtype=np.float64)
    left_edges, right_edges = extents[:, 0], extents[:, 2]
    pillar = float((right_edges - left_edges)[1:-1].max())
    centres = (left_edges + right_edges) / 2
    reveal = REVEAL_FRACTION * (right_edges - left_edges)
    from_left = rng.random() < 0.5
    lefts = np.empty_like(frames)
    inside = slice(start, end)
    lefts[inside] = centres[1:-1] - pillar / 2
    before, after = frames < start, frames >= end
    if from_left:  # moving right: right edge short of the target's right edge, then past it
        lefts[before] = right_edges[0] - reveal[0] - pillar - speed * (start - 1 - frames[before])
        lefts[after] = left_edges[-1] + reveal[-1] + speed * (frames[after] - end)
    else:  # moving left
        lefts[before] = left_edges[0] + reveal[0] + speed * (start - 1 - frames[before])
        lefts[after] = right_edges[-1] - reveal[-1] - pillar - speed * (frames[after] - end)
    side = max(config.height + 2 * margin, pillar) + 2
    appearance = object_appearance(
        config.objects, side, [background_color, track.appearance.color], rng
    )
    return Occluder(
        appearance, np.column_stack([lefts, lefts + pillar]), config.occluder_depth, margin
    )
