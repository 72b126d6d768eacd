"""Evaluation metadata of a sequence, measured from its exact masks (not from the plan).

Occlusions, absences and crossings are derived from per-frame visibility and overlap, so they are
true of the rendered frames whatever combination of motion, occluders and camera shake made them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Episode:
    """Frames [start, end) of an object's occlusion (or absence); end is exclusive."""

    object_id: int
    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Crossing:
    """Two objects' silhouettes overlap during frames [start, end); `front_id` is the nearer."""

    first_id: int
    second_id: int
    start: int
    end: int
    front_id: int
    max_overlap: float
    """Largest overlap over the episode as a fraction of the smaller silhouette."""


@dataclass(frozen=True)
class Events:
    """Per-frame visibility and the episodes derived from it; arrays are (T, K) in `ids` order."""

    ids: np.ndarray
    visible_fraction: np.ndarray
    """Visible pixels / whole-silhouette pixels (including outside the image)."""
    in_frame_fraction: np.ndarray
    """Silhouette pixels inside the image / whole-silhouette pixels."""
    occlusions: tuple[Episode, ...]
    """Runs of frames where an object is (partly) inside the frame but hidden."""
    absences: tuple[Episode, ...]
    """Runs of frames where an object is entirely outside the frame."""
    crossings: tuple[Crossing, ...]
    planned_occlusions: tuple[Episode, ...]
    """The occluder episodes the generator planned (target fully hidden in [start, end))."""

    @property
    def has_crossings(self) -> bool:
        return bool(self.crossings)


def runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """Maximal [start, end) runs of True in a 1-D bool array."""
    padded = np.concatenate([[False], np.asarray(flags, bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def measure_events(
    ids: np.ndarray,
    depths: np.ndarray,
    visible_fraction: np.ndarray,
    in_frame_fraction: np.ndarray,
    overlap: np.ndarray,
    occluded_visible_max: float,
    crossing_min_overlap: float,
    planned_occlusions: tuple[Episode, ...],
) -> Events:
    """Events from (T, K) fractions and a (T, K, K) overlap-of-the-smaller matrix."""
    occluded = (visible_fraction <= occluded_visible_max) & (in_frame_fraction > 0)
    absent = in_frame_fraction <= 0
    occlusions, absences, crossings = [], [], []
    for k, object_id in enumerate(ids.tolist()):
        occlusions += [Episode(object_id, s, e) for s, e in runs(occluded[:, k])]
        absences += [Episode(object_id, s, e) for s, e in runs(absent[:, k])]
        for j in range(k + 1, len(ids)):
            for s, e in runs(overlap[:, k, j] > 0):
                peak = float(overlap[s:e, k, j].max())
                if peak >= crossing_min_overlap:
                    front = object_id if depths[k] <= depths[j] else int(ids[j])
                    crossings.append(Crossing(object_id, int(ids[j]), s, e, front, peak))
    return Events(
        ids=ids,
        visible_fraction=visible_fraction,
        in_frame_fraction=in_frame_fraction,
        occlusions=tuple(occlusions),
        absences=tuple(absences),
        crossings=tuple(sorted(crossings, key=lambda c: (c.start, c.first_id))),
        planned_occlusions=planned_occlusions,
    )
