"""Video object segmentation metrics: DAVIS J/F, plus what matters for a tracker on a robot.

Inputs are id images (0 = background), one ground-truth and one predicted per frame, and the
assignment GT object -> predicted id made when the object was prompted. Every frame updates the
running scores (`SequenceScorer.add`), so a sequence never has to be held in memory.

Conventions (documented because they change the numbers):
- An object is scored from the frame after its prompt on (the prompt frame got its answer for
  free; DAVIS likewise leaves out the first frame).
- Frames where the GT object is absent (occluded, out of the frame) follow DAVIS: J = F = 1 when
  the prediction is empty too, else 0. The same frames count as "invisible" for
  false positives: a predicted mask on such a frame is a false positive.
- Recall = share of scored frames with J > 0.5; decay = mean J of the first quarter of the scored
  frames minus that of the last quarter (DAVIS).
- ID switch: a GT object whose best-matching prediction (IoU >= 0.5) has a different id than the
  last time it was matched.
- Occlusion episode: a run of frames with the GT absent after it was seen. Its recovery time is
  the number of frames from its reappearance (the first frame at least `reappear_share` of the
  object's median visible area is back) to the first frame with J > 0.5; an episode never
  recovered before the sequence ends is counted separately as unrecovered. Its length is the
  number of frames from disappearance to reappearance (hidden or out of the frame alike).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


def jaccard(pred: np.ndarray, gt: np.ndarray) -> float:
    """IoU of two bool masks; 1 when both are empty (DAVIS)."""
    union = np.count_nonzero(pred | gt)
    return 1.0 if union == 0 else np.count_nonzero(pred & gt) / union


def boundary(mask: np.ndarray) -> np.ndarray:
    """One-pixel inner boundary of a bool mask (mask minus its erosion)."""
    m = mask.view(np.uint8)
    return (m & ~cv2.erode(m, _CROSS, borderType=cv2.BORDER_CONSTANT, borderValue=0)).view(bool)


def boundary_radius(shape: tuple[int, int], tolerance: float) -> int:
    """DAVIS's matching distance: `tolerance` x the image diagonal, rounded up."""
    return max(1, math.ceil(tolerance * math.hypot(*shape)))


def boundary_f(pred: np.ndarray, gt: np.ndarray, radius: int) -> float:
    """DAVIS boundary F-measure: boundary pixels matched within `radius` (a disc dilation).

    1 when both masks are empty, 0 when exactly one is. Only the crop spanning both masks plus
    the radius is processed.
    """
    both = pred | gt
    if not both.any():
        return 1.0
    if not pred.any() or not gt.any():
        return 0.0
    rows = np.flatnonzero(both.any(axis=1))
    cols = np.flatnonzero(both.any(axis=0))
    y0, y1 = max(rows[0] - radius, 0), rows[-1] + radius + 1
    x0, x1 = max(cols[0] - radius, 0), cols[-1] + radius + 1
    pb, gb = boundary(pred[y0:y1, x0:x1]), boundary(gt[y0:y1, x0:x1])
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    gb_wide = cv2.dilate(gb.view(np.uint8), disc).view(bool)
    pb_wide = cv2.dilate(pb.view(np.uint8), disc).view(bool)
    precision = np.count_nonzero(pb & gb_wide) / np.count_nonzero(pb)
    recall = np.count_nonzero(gb & pb_wide) / np.count_nonzero(gb)
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def overlaps(gt_ids: np.ndarray, pred_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intersection counts of every (GT id, predicted id) pair in one pass, with both areas.

    Returns (inter[G+1, P+1], gt_area[G+1], pred_area[P+1]) indexed by id values.
    """
    g, p = int(gt_ids.max()) + 1, int(pred_ids.max()) + 1
    joint = np.bincount((gt_ids.astype(np.int64) * p + pred_ids).ravel(), minlength=g * p)
    inter = joint.reshape(g, p)
    return inter, inter.sum(axis=1), inter.sum(axis=0)


@dataclass(frozen=True)
class Episode:
    """One occlusion episode of a GT object."""

    length: int  # frames from disappearance to reappearance
    recovery: int | None  # frames from reappearance to the first J > 0.5; None: never


@dataclass
class ObjectTrack:
    """Running scores of one GT object."""

    predicted_id: int
    j: list[float] = field(default_factory=list)
    f: list[float] = field(default_factory=list)
    areas: list[int] = field(default_factory=list)  # GT area per scored frame
    matched: int | None = None  # predicted id it was last matched to
    id_switches: int = 0
    invisible_frames: int = 0
    false_positive_frames: int = 0

    def episodes(self, reappear_share: float) -> list[Episode]:
        """The occlusion episodes, in order (scanning stops at the first unrecovered one)."""
        areas = np.asarray(self.areas)
        if not areas.any():
            return []
        present = areas >= reappear_share * np.median(areas[areas > 0])
        absent = areas == 0
        good = np.asarray(self.j) > 0.5
        found = []
        t = np.flatnonzero(areas > 0)[0]
        while True:
            gone = np.flatnonzero(absent[t:])
            if len(gone) == 0:
                break
            back = np.flatnonzero(present[t + gone[0] :])
            if len(back) == 0:
                break
            start = t + gone[0] + back[0]
            hit = np.flatnonzero(good[start:] & ~absent[start:])
            found.append(Episode(int(back[0]), int(hit[0]) if len(hit) else None))
            if not len(hit):
                break
            t = start
        return found


@dataclass(frozen=True)
class ObjectMetrics:
    j: float
    f: float
    recall: float
    decay: float
    id_switches: int
    episodes: list[Episode]
    invisible_frames: int
    false_positive_frames: int
    frames: int

    @property
    def jf(self) -> float:
        return (self.j + self.f) / 2

    @property
    def recovery_frames(self) -> list[int]:
        """Frames to recover, per recovered episode."""
        return [e.recovery for e in self.episodes if e.recovery is not None]

    @property
    def unrecovered(self) -> int:
        return sum(e.recovery is None for e in self.episodes)


def summarize(track: ObjectTrack, reappear_share: float) -> ObjectMetrics:
    j = np.asarray(track.j)
    quarter = max(len(j) // 4, 1)
    return ObjectMetrics(
        j=float(j.mean()) if len(j) else math.nan,
        f=float(np.mean(track.f)) if len(j) else math.nan,
        recall=float((j > 0.5).mean()) if len(j) else math.nan,
        decay=float(j[:quarter].mean() - j[-quarter:].mean()) if len(j) else math.nan,
        id_switches=track.id_switches,
        episodes=track.episodes(reappear_share),
        invisible_frames=track.invisible_frames,
        false_positive_frames=track.false_positive_frames,
        frames=len(j),
    )


class SequenceScorer:
    """Accumulates per-object scores frame by frame (see the module docstring)."""

    def __init__(self, tolerance: float = 0.008, reappear_share: float = 0.5) -> None:
        self.tolerance = tolerance
        self.reappear_share = reappear_share
        self.objects: dict[int, ObjectTrack] = {}
        self.frame_ms: list[float] = []

    def prompt(self, gt_id: int, predicted_id: int) -> None:
        """GT object `gt_id` was prompted and given `predicted_id`; scored from the next frame."""
        self.objects[gt_id] = ObjectTrack(predicted_id, matched=predicted_id)

    def add(
        self,
        gt_ids: np.ndarray,
        pred_ids: np.ndarray,
        frame_ms: float | None = None,
        skip: frozenset[int] = frozenset(),
    ) -> None:
        """Score one frame; objects in `skip` (prompted on this frame) are not scored."""
        if frame_ms is not None:
            self.frame_ms.append(frame_ms)
        inter, gt_area, pred_area = overlaps(gt_ids, pred_ids)
        radius = boundary_radius(gt_ids.shape, self.tolerance)
        for gt_id, track in self.objects.items():
            if gt_id in skip:
                continue
            row = inter[gt_id] if gt_id < len(inter) else np.zeros(len(pred_area), np.int64)
            g_area = int(gt_area[gt_id]) if gt_id < len(gt_area) else 0
            p = track.predicted_id
            p_area = int(pred_area[p]) if p < len(pred_area) else 0
            both = int(row[p]) if p < len(row) else 0
            union = g_area + p_area - both
            track.j.append(1.0 if union == 0 else both / union)
            if g_area == 0 or p_area == 0:
                track.f.append(1.0 if g_area == p_area else 0.0)
            else:
                track.f.append(boundary_f(pred_ids == p, gt_ids == gt_id, radius))
            track.areas.append(g_area)
            if g_area == 0:
                track.invisible_frames += 1
                track.false_positive_frames += p_area > 0
                continue
            ious = row / np.maximum(g_area + pred_area - row, 1)
            ious[0] = 0.0
            best = int(ious.argmax())
            if ious[best] >= 0.5:
                track.id_switches += track.matched is not None and best != track.matched
                track.matched = best

    def results(self) -> dict[int, ObjectMetrics]:
        return {g: summarize(t, self.reappear_share) for g, t in self.objects.items()}
