"""Turning an object's history into the next frame's decoder prompt.

EdgeSAM has no temporal memory, so everything it knows about an object on frame t is what this
module puts into the prompt: the predicted box with a margin, a positive point at the previous
mask's core, negative points at neighbours' cores, and optionally the previous low-res logits.
Lost objects get search prompts instead (proposal boxes, or boxes tiling a search region).
All functions work on boxes, points and cropped masks only: nothing here is full-frame.

Coordinates follow the engine (and SAM): pixel (x, y) has its centre at integer (x, y); boxes are
x1, y1 inclusive, x2, y2 exclusive.
"""

from __future__ import annotations

import cv2
import numpy as np

from edgesam_ros.engine.types import MaskResult, Prompt, Proposals

from .config import TrackerConfig
from .objects import Track, UserPrompt

_NO_POINTS = np.zeros((0, 2), np.float32)
_NO_LABELS = np.zeros(0, np.int32)


def clip_box(box: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Box clipped to an image of size (H, W); may become empty (x2 <= x1 or y2 <= y1)."""
    h, w = size
    return np.clip(np.asarray(box, np.float32), 0, [w, h, w, h]).astype(np.float32)


def box_is_empty(box: np.ndarray) -> bool:
    return bool(box[2] - box[0] < 1 or box[3] - box[1] < 1)


def expand_box(box: np.ndarray, fraction: float | np.ndarray, min_px: float) -> np.ndarray:
    """Grow a box on every side by `fraction` of its width/height, at least `min_px`;
    `fraction` is one number or one per side (left, top, right, bottom)."""
    x1, y1, x2, y2 = box
    size = np.array([x2 - x1, y2 - y1, x2 - x1, y2 - y1], np.float64)
    grow = np.maximum(size * np.broadcast_to(fraction, 4), min_px)
    return np.array([x1 - grow[0], y1 - grow[1], x2 + grow[2], y2 + grow[3]], np.float32)


def side_margins(track: Track, config: TrackerConfig) -> np.ndarray:
    """Margin per side (left, top, right, bottom) of a followed object's next prompt box.

    `box_margin` everywhere, except where the last mask reached the box it was prompted with:
    the segmenter stopped at the box there, so the object probably goes on (it grows, turns, or
    comes out from behind something), and that side gets `edge_margin`.
    """
    margins = np.full(4, config.box_margin)
    if track.prompt_box is not None:
        reached = np.abs(np.asarray(track.mask.box, np.float64) - track.prompt_box) <= 1.0
        margins[reached] = max(config.edge_margin, config.box_margin)
    return margins


def scale_box(box: np.ndarray, factor: float) -> np.ndarray:
    """Box scaled by `factor` about its centre."""
    centre = (box[:2] + box[2:]) / 2
    half = (box[2:] - box[:2]) * factor / 2
    return np.concatenate([centre - half, centre + half]).astype(np.float32)


def box_centre(box: np.ndarray) -> np.ndarray:
    return (np.asarray(box[:2], np.float32) + np.asarray(box[2:], np.float32)) / 2


def mask_core(result: MaskResult) -> np.ndarray:
    """(x, y) of the mask's most interior pixel (distance-transform maximum).

    The mask is padded by one background pixel so a mask touching its crop border (it always
    does: the crop is its tight box) still measures distance to its real outline.
    """
    padded = cv2.copyMakeBorder(result.mask.view(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, 0)
    distance = cv2.distanceTransform(padded, cv2.DIST_L2, 3)
    _, _, _, (px, py) = cv2.minMaxLoc(distance)
    return np.array([result.box[0] + px - 1, result.box[1] + py - 1], np.float32)


def mask_contains(result: MaskResult, points: np.ndarray) -> np.ndarray:
    """bool (N,): which (x, y) points fall on the mask (looked up in its crop)."""
    x1, y1, x2, y2 = result.box
    xs = np.floor(points[:, 0] + 0.5).astype(np.int64)
    ys = np.floor(points[:, 1] + 0.5).astype(np.int64)
    inside = (xs >= x1) & (xs < x2) & (ys >= y1) & (ys < y2)
    hit = np.zeros(len(points), bool)
    hit[inside] = result.mask[ys[inside] - y1, xs[inside] - x1]
    return hit


def predicted_core(track: Track) -> np.ndarray:
    """The last core moved along with the box from where it was measured to the prediction."""
    return track.core + box_centre(track.predicted) - box_centre(track.core_box)


def merge_refinement(
    points: np.ndarray, labels: np.ndarray, box: np.ndarray | None, refine: UserPrompt | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """A user refinement on top of a propagated prompt.

    Its points replace the propagated ones (those were the tracker's guesses; a correction click
    says the guess was wrong), and its box, if any, replaces the box. Without a box of its own,
    the propagated box is kept only if it contains every positive click: SAM segments within
    the box, so a click outside it could never take effect.
    """
    if refine is None:
        return points, labels, box
    if len(refine.points):
        points, labels = refine.points, refine.labels
    if refine.box is not None:
        return points, labels, refine.box
    if box is not None:
        clicks = refine.points[refine.labels == 1]
        inside = (clicks >= box[:2]) & (clicks < box[2:])
        if not inside.all():
            box = None
    return points, labels, box


def negative_points(
    own: Track, box: np.ndarray, cores: np.ndarray, ids: np.ndarray, config: TrackerConfig
) -> np.ndarray:
    """Neighbours' cores inside `box` (grown by `negative_reach`), nearest first, capped.

    Cores that fall on this object's own previous mask are skipped: a negative point there
    would contradict the positive one (the two objects overlapped last time).
    """
    if len(cores) == 0:
        return _NO_POINTS
    reach = expand_box(box, config.negative_reach, 0.0)
    near = (
        (ids != own.id)
        & (cores[:, 0] >= reach[0])
        & (cores[:, 0] < reach[2])
        & (cores[:, 1] >= reach[1])
        & (cores[:, 1] < reach[3])
    )
    candidates = cores[near]
    if len(candidates) == 0:
        return _NO_POINTS
    shift = box_centre(own.core_box) - box_centre(own.predicted)  # back to last frame's place
    candidates = candidates[~mask_contains(own.mask, candidates + shift)]
    order = np.argsort(((candidates - box_centre(box)) ** 2).sum(axis=1))
    return candidates[order[: config.max_negative_points]]


def propagated_prompt(
    track: Track,
    cores: np.ndarray,
    core_ids: np.ndarray,
    config: TrackerConfig,
    size: tuple[int, int],
    mask_input: bool,
) -> Prompt | None:
    """The next prompt of a followed object, or None when it would fall outside the image.

    Without a mask yet (or with propagation off) the first user prompt is sent again.
    """
    if not config.propagate or track.mask is None:
        first = track.first_prompt
        points, labels, box = merge_refinement(first.points, first.labels, first.box, track.refine)
        return Prompt(points=points, labels=labels, box=box, mask_input=None)
    box = clip_box(
        expand_box(prompt_base(track, config), side_margins(track, config),
                   config.min_box_margin_px),
        size,
    )
    if box_is_empty(box):
        return None
    points, labels = _NO_POINTS, _NO_LABELS
    if config.use_points:
        h, w = size
        positive = np.clip(predicted_core(track), 0, [w - 1, h - 1])[None]
        negatives = negative_points(track, box, cores, core_ids, config)
        points = np.concatenate([positive, negatives]).astype(np.float32)
        labels = np.concatenate([[1], np.zeros(len(negatives), np.int32)]).astype(np.int32)
    points, labels, box = merge_refinement(points, labels, box, track.refine)
    # The previous logits would argue with a correction, so a refined frame goes without them.
    use_logits = mask_input and config.use_mask_input and track.refine is None
    logits = track.mask.low_res_logits if use_logits else None
    return Prompt(points=points, labels=labels, box=box, mask_input=logits)


def extent_box(track: Track, box: np.ndarray) -> np.ndarray:
    """A box of the object's reference size (`Track.extent`) centred on `box`'s centre."""
    centre = box_centre(box)
    return np.concatenate([centre - track.extent / 2, centre + track.extent / 2])


def prompt_base(track: Track, config: TrackerConfig) -> np.ndarray:
    """The box a followed object's prompt is built around: the prediction, grown to the
    object's reference size while only part of it is seen (it is sliding behind something or
    out of the frame), so the part coming back into view lies inside the box SAM is given,
    and by `unsettled_reach` box sizes while its velocity is unknown (see `gating`) if the
    prompt has the core point: a box that big often holds a neighbour that fills it better, and
    only the point says which object is meant. Without points the prediction is used as it is
    (benchmark J&F of the bundled model 0.503 -> 0.557, seeds 100-107 0.518 -> 0.574)."""
    if config.use_motion and not track.motion.settled and config.use_points:
        return scale_box(track.predicted, 1 + 2 * config.unsettled_reach)
    if track.mask.area >= config.partial_visibility * track.reference_area:
        return track.predicted
    full = extent_box(track, track.predicted)
    return np.concatenate(
        [np.minimum(track.predicted[:2], full[:2]), np.maximum(track.predicted[2:], full[2:])]
    )


def search_region(track: Track, config: TrackerConfig) -> np.ndarray:
    """Where a lost object may reappear (unclipped): around its predicted box and around where
    it was last seen (objects stop and turn while nobody sees them), both at its reference size
    scaled by a factor that grows with the time it has been lost, up to `max_search_scale`."""
    growth = 1 + config.search_growth * track.lost_frames
    factor = min(config.search_scale * growth, config.max_search_scale)
    predicted = scale_box(extent_box(track, track.predicted), factor)
    seen = scale_box(extent_box(track, track.core_box), factor)
    return np.concatenate(
        [np.minimum(predicted[:2], seen[:2]), np.maximum(predicted[2:], seen[2:])]
    )


def box_ious(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """(N, M) IoU of every box in `boxes` with every box in `others` (x1, y1, x2, y2 rows)."""
    lo = np.maximum(boxes[:, None, :2], others[None, :, :2])
    hi = np.minimum(boxes[:, None, 2:], others[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=2)
    area = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    other_area = np.prod(others[:, 2:] - others[:, :2], axis=1)
    return inter / np.maximum(area[:, None] + other_area[None] - inter, 1e-6)


def reacquire_prompts(
    track: Track,
    proposals: Proposals | None,
    followed: np.ndarray,
    config: TrackerConfig,
    size: tuple[int, int],
) -> list[Prompt]:
    """Candidate prompts for a lost object, best guesses first: `max_reacquire_candidates`.

    First a box around the predicted position (where an object that moved on behind an
    occluder, or waited at the border it left by, comes back). Then, with proposals: the ones
    centred in the search region whose size is plausible and that are not an object followed on
    this frame (IoU above `max_proposal_iou` with a box of `followed`), nearest first. Without:
    boxes
    (`search_tile` object sizes) tiling the search region, nearest first, a different slice on
    each lost frame so the region is covered over time.
    """
    region = clip_box(search_region(track, config), size)
    wh = track.predicted[2:] - track.predicted[:2]
    if box_is_empty(region) or np.any(wh < 1):
        return []
    centre = box_centre(track.predicted)
    if proposals is not None:
        boxes = proposals.boxes
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        ratio = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1) / float(np.prod(wh))
        ok = (
            np.all(centres >= region[:2], axis=1)
            & np.all(centres < region[2:], axis=1)
            & (ratio >= config.min_area_ratio)
            & (ratio <= config.max_area_ratio)
        )
        if len(followed) and len(boxes):
            ok &= box_ious(boxes, followed).max(axis=1) <= config.max_proposal_iou
        anchors = np.stack([centre, box_centre(track.core_box)])
        distance = ((centres[ok, None] - anchors[None]) ** 2).sum(axis=2).min(axis=1)
        order = np.argsort(distance)
        chosen = boxes[ok][order[: config.max_reacquire_candidates - 1]]
    else:
        # A grid anchored on the prediction (or the nearest point of the image when the object
        # left it), so it stays put while the region grows.
        tile = wh * config.search_tile
        anchor = np.clip(centre, region[:2], region[2:])
        lo = np.ceil((region[:2] - anchor) / tile)
        hi = np.floor((region[2:] - anchor) / tile)
        steps = np.stack(
            np.meshgrid(np.arange(lo[0], hi[0] + 1), np.arange(lo[1], hi[1] + 1)), axis=-1
        ).reshape(-1, 2)
        steps = steps[np.argsort((steps**2).sum(axis=1), kind="stable")]
        grid = anchor + steps * tile
        count = config.max_reacquire_candidates - 1
        picks = grid[(track.lost_frames * count + np.arange(count)) % len(grid)]
        chosen = np.concatenate([picks - tile / 2, picks + tile / 2], axis=1)
    predicted = expand_box(track.predicted, config.box_margin, config.min_box_margin_px)
    prompts = [Prompt(points=_NO_POINTS, labels=_NO_LABELS, box=clip_box(predicted, size))]
    if box_is_empty(prompts[0].box):
        prompts = []
    for box in np.unique(chosen, axis=0):
        clipped = clip_box(box, size)
        if box_is_empty(clipped):
            continue
        if config.use_points:
            points, labels = box_centre(clipped)[None], np.ones(1, np.int32)
        else:
            points, labels = _NO_POINTS, _NO_LABELS
        prompts.append(Prompt(points=points, labels=labels, box=clipped, mask_input=None))
    return prompts
