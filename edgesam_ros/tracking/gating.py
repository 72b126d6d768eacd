"""Deciding which decoded masks to believe: plausibility, appearance, and contested pixels.

A memory-free segmenter happily returns a neighbour, the background or the occluder when an
object's prompt lands on the wrong thing. These checks turn such masks into "misses" the tracker
can coast through instead of silently switching identities. Everything works on the masks'
crops; pixel work is limited to the intersections of overlapping boxes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from edgesam_ros.engine.types import MaskResult

from .config import TrackerConfig
from .prompts import scale_box

EMPTY_BOX = (0, 0, 0, 0)


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two (x1, y1, x2, y2) boxes."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def box_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection of two boxes over the smaller one's area."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return float(iw * ih / smaller) if smaller > 0 else 0.0


def touches_border(box: np.ndarray | tuple, size: tuple[int, int], margin: float = 2.0) -> bool:
    """Whether a box reaches the image border: its object may be partly outside the frame."""
    h, w = size
    return bool(
        box[0] <= margin or box[1] <= margin or box[2] >= w - margin or box[3] >= h - margin
    )


def implausibility(
    result: MaskResult,
    previous: MaskResult,
    reference_area: float,
    predicted: np.ndarray,
    settled: bool,
    config: TrackerConfig,
    size: tuple[int, int],
) -> tuple[str, bool]:
    """(why a propagated mask should not be believed or "", whether it shrank a lot).

    A mask that shrank below `min_area_ratio` is returned as plausible but flagged: it is a
    partial view if it still looks like the object (the caller checks appearance), else a miss.
    The area tests are skipped for objects cut by the image border: an object entering or
    leaving the frame legitimately grows or shrinks by any factor from one frame to the next.
    Before the motion model has `settled` (its velocity is still unknown), the mask need only
    lie mostly within `unsettled_reach` box sizes of the prediction.
    """
    if result.area < config.min_area:
        return "empty mask", False
    if result.stability < config.min_stability:
        return f"stability {result.stability:.2f} < {config.min_stability:.2f}", False
    at_border = touches_border(previous.box, size) or touches_border(result.box, size)
    growth = result.area / max(previous.area, reference_area, 1.0)
    if not at_border and growth > config.max_area_ratio:
        return f"area grew x{growth:.2f}", False
    shrunk = not at_border and result.area < config.min_area_ratio * previous.area
    box = np.asarray(result.box, np.float64)
    # At the border the box grows or shrinks with the visible part: there, it is enough that
    # the smaller of the two boxes lies mostly inside the other.
    if not settled:
        predicted = scale_box(predicted, 1 + 2 * config.unsettled_reach)
    # A partial view's box is smaller than the prediction: it must lie mostly inside it.
    partial = at_border or shrunk or not settled
    iou = box_overlap(box, predicted) if partial else box_iou(box, predicted)
    if iou < config.min_box_iou:
        return f"box overlap {iou:.2f} with the prediction < {config.min_box_iou:.2f}", False
    return "", shrunk


def appearance_histogram(
    image: np.ndarray, result: MaskResult, config: TrackerConfig
) -> np.ndarray:
    """Normalised hue x saturation histogram of the image (RGB) under the mask.

    Brightness is left out so exposure changes and shading do not make an object a stranger;
    grey images get an intensity histogram instead.
    """
    x1, y1, x2, y2 = result.box
    crop = np.ascontiguousarray(image[y1:y2, x1:x2])
    mask = result.mask.view(np.uint8)
    if crop.ndim == 2:
        hist = cv2.calcHist([crop], [0], mask, [config.hue_bins], [0, 256])
    else:
        hsv = cv2.cvtColor(crop, cv2.COLOR_RGB2HSV)
        bins = [config.hue_bins, config.saturation_bins]
        hist = cv2.calcHist([hsv], [0, 1], mask, bins, [0, 180, 0, 256])
    return (hist / max(float(hist.sum()), 1.0)).astype(np.float32)


def appearance_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """1 - Bhattacharyya distance: 1 for identical colour distributions, 0 for disjoint ones."""
    return 1.0 - float(cv2.compareHist(a, b, cv2.HISTCMP_BHATTACHARYYA))


def with_mask(result: MaskResult, x0: int, y0: int, mask: np.ndarray) -> MaskResult:
    """`result` with its pixels replaced by `mask` placed at (x0, y0), re-cropped tight."""
    rows = np.flatnonzero(mask.any(axis=1))
    if len(rows) == 0:
        empty = np.zeros((0, 0), bool)
        return dataclasses.replace(result, box=EMPTY_BOX, mask=empty, area=0)
    cols = np.flatnonzero(mask.any(axis=0))
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    tight = mask[r0:r1, c0:c1]
    box = (x0 + int(c0), y0 + int(r0), x0 + int(c1), y0 + int(r1))
    return dataclasses.replace(result, box=box, mask=tight, area=int(tight.sum()))


def subtract(result: MaskResult, others: list[MaskResult]) -> MaskResult:
    """`result` without any pixel of `others` (each intersected within the boxes' overlap only)."""
    keep = None
    x0, y0, x1, y1 = result.box
    for other in others:
        ox0, oy0, ox1, oy1 = other.box
        lx, ly, hx, hy = max(x0, ox0), max(y0, oy0), min(x1, ox1), min(y1, oy1)
        if hx <= lx or hy <= ly:
            continue
        if keep is None:
            keep = result.mask.copy()
        keep[ly - y0 : hy - y0, lx - x0 : hx - x0] &= ~other.mask[
            ly - oy0 : hy - oy0, lx - ox0 : hx - ox0
        ]
    return result if keep is None else with_mask(result, x0, y0, keep)


@dataclass
class Candidate:
    """A mask an object would like to take on this frame."""

    id: int
    result: MaskResult
    user: bool  # a user prompt produced it: it wins every contest
    confidence: float  # stability x area consistency with the object's history


@dataclass
class _Contest:
    """Two candidates' overlapping pixels, in image coordinates (x0, y0) + crop."""

    winner: int
    loser: int
    x0: int
    y0: int
    pixels: np.ndarray  # bool crop of the intersection


class DepthOrder:
    """Who was in front of whom the last time two objects overlapped substantially.

    The memory expires after `depth_memory` frames so objects that cross again later in the other
    order are not forced into an old arrangement.
    """

    def __init__(self, config: TrackerConfig) -> None:
        self._config = config
        self._front: dict[tuple[int, int], tuple[int, int]] = {}  # pair -> (winner id, frame)

    def winner(self, a: Candidate, b: Candidate, inter: int, frame: int) -> int:
        """The id that keeps the pixels `a` and `b` both claim."""
        if a.user != b.user:
            return a.id if a.user else b.id
        key = (min(a.id, b.id), max(a.id, b.id))
        remembered = self._front.get(key)
        if remembered is not None and frame - remembered[1] <= self._config.depth_memory:
            winner = remembered[0]
        else:
            share_a, share_b = inter / max(a.result.area, 1), inter / max(b.result.area, 1)
            # A mask lying mostly inside another's is the smaller object seen in front of it.
            if share_a >= 2 * share_b:
                winner = a.id
            elif share_b >= 2 * share_a:
                winner = b.id
            else:
                winner = a.id if a.confidence >= b.confidence else b.id
        if inter >= self._config.min_contest_share * min(a.result.area, b.result.area):
            self._front[key] = (winner, frame)
        return winner

    def forget(self, object_id: int) -> None:
        self._front = {k: v for k, v in self._front.items() if object_id not in k}


def _contests(candidates: list[Candidate], order: DepthOrder, frame: int) -> list[_Contest]:
    """Every pair of candidates sharing pixels, with the depth order's verdict."""
    if len(candidates) < 2:
        return []
    boxes = np.array([c.result.box for c in candidates], np.int64).reshape(-1, 4)
    lo = np.maximum(boxes[:, None, :2], boxes[None, :, :2])
    hi = np.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    touching = np.all(hi > lo, axis=2) & np.triu(np.ones((len(boxes),) * 2, bool), 1)
    contests = []
    for i, j in zip(*np.nonzero(touching), strict=True):
        a, b = candidates[i], candidates[j]
        (x0, y0), (x1, y1) = lo[i, j], hi[i, j]
        pa = a.result.mask[
            y0 - a.result.box[1] : y1 - a.result.box[1], x0 - a.result.box[0] : x1 - a.result.box[0]
        ]
        pb = b.result.mask[
            y0 - b.result.box[1] : y1 - b.result.box[1], x0 - b.result.box[0] : x1 - b.result.box[0]
        ]
        pixels = pa & pb
        inter = int(np.count_nonzero(pixels))
        if inter:
            winner = order.winner(a, b, inter, frame)
            loser = b.id if winner == a.id else a.id
            contests.append(_Contest(winner, loser, int(x0), int(y0), pixels))
    return contests


def resolve_overlaps(
    candidates: list[Candidate], order: DepthOrder, config: TrackerConfig, frame: int
) -> tuple[dict[int, MaskResult], dict[int, int]]:
    """Give every contested pixel to one object; report the objects that are mostly hidden.

    Returns (id -> mask without the pixels it lost, occluded id -> occluder id). A candidate that
    keeps less than `min_visible_share` of itself is occluded: its mask is dropped and the pixels
    it won go back to the others, so a hidden object can neither jump onto its occluder nor
    punch holes into third objects.
    """
    contests = _contests(candidates, order, frame)
    by_id = {c.id: c for c in candidates}
    occluded: dict[int, int] = {}
    while True:
        lost = {c.id: np.zeros_like(c.result.mask) for c in candidates if c.id not in occluded}
        blame: dict[int, int] = {}
        for contest in contests:
            if contest.winner in occluded or contest.loser in occluded:
                continue
            x1, y1 = by_id[contest.loser].result.box[:2]
            h, w = contest.pixels.shape
            region = lost[contest.loser][
                contest.y0 - y1 : contest.y0 - y1 + h, contest.x0 - x1 : contest.x0 - x1 + w
            ]
            region |= contest.pixels
            blame[contest.loser] = contest.winner
        shares = {i: 1.0 - np.count_nonzero(lost[i]) / max(by_id[i].result.area, 1) for i in blame}
        worst = min(shares, key=shares.__getitem__, default=None)
        if worst is None or shares[worst] >= config.min_visible_share:
            break
        # One at a time: pixels the hidden object won may rescue the others on the next pass.
        occluded[worst] = blame[worst]
    kept = {}
    for i, removed in lost.items():
        result = by_id[i].result
        if i in blame:
            result = with_mask(result, *result.box[:2], result.mask & ~removed)
        kept[i] = result
    return kept, occluded
