"""Every number the tracker's behaviour depends on, with its default and the reason for it.

One frozen dataclass so a node parameter file, the evaluation's ablations and the tests all speak
the same vocabulary; `TrackerConfig.ablation(name)` turns the propagation features on one by one
instead of keeping copies of the tracker for each experiment.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

#: Ablation name -> feature flags, in the order each adds one feature to the previous one.
ABLATIONS: dict[str, dict[str, bool]] = {
    "first-frame": dict(
        propagate=False, use_points=False, use_mask_input=False, use_motion=False, reacquire=False
    ),
    "box": dict(
        propagate=True, use_points=False, use_mask_input=False, use_motion=False, reacquire=False
    ),
    "+points": dict(
        propagate=True, use_points=True, use_mask_input=False, use_motion=False, reacquire=False
    ),
    "+mask-input": dict(
        propagate=True, use_points=True, use_mask_input=True, use_motion=False, reacquire=False
    ),
    "+motion": dict(
        propagate=True, use_points=True, use_mask_input=True, use_motion=True, reacquire=False
    ),
    "+reacquire": dict(
        propagate=True, use_points=True, use_mask_input=True, use_motion=True, reacquire=True
    ),
}


@dataclass(frozen=True)
class TrackerConfig:
    """Tracker parameters. Lengths are pixels, ratios are unitless, durations are frames."""

    # --- feature switches (the ablation ladder; all on by default) ---
    #: Build each frame's prompt from the previous mask. Off: re-send the first user prompt forever.
    propagate: bool = True
    #: Add a positive point at the previous mask's core and negatives at neighbours' cores.
    use_points: bool = True
    #: Feed the previous low-res logits as `mask_input` (only if the engine reports the input).
    use_mask_input: bool = True
    #: Move the prompt with a constant-velocity Kalman filter; off: the object is assumed static.
    use_motion: bool = True
    #: Try to re-acquire lost objects from proposals / a wider search box; off: they wait to die.
    reacquire: bool = True

    # --- prompt construction ---
    #: Previous box grown by this fraction of its size on each side: room for motion and growth
    #: without inviting neighbours (SAM-PT/NanoSAM use 10-20 %).
    box_margin: float = 0.15
    #: ...but at least this many pixels, so small objects still get slack.
    min_box_margin_px: float = 4.0
    #: A neighbour's core becomes a negative point when it lies inside this object's prompt box
    #: grown by this fraction; farther objects cannot leak into the mask anyway.
    negative_reach: float = 0.25
    #: At most this many negative points per object (nearest first): more only slow the decoder.
    max_negative_points: int = 4

    # --- motion model (constant velocity on box centre and size, noise relative to box scale) ---
    #: Process noise std of position per frame, as a fraction of the box scale sqrt(w * h).
    motion_position_noise: float = 0.05
    #: Process noise std of velocity per frame, same unit.
    motion_velocity_noise: float = 0.02
    #: Measurement noise std of a mask box, same unit: masks jitter by a few percent.
    motion_measurement_noise: float = 0.05
    #: Velocity is multiplied by this each frame without a measurement so a long coast stops
    #: drifting off (and box sizes stop growing) instead of extrapolating forever.
    coast_velocity_decay: float = 0.99

    # --- gating: accept a propagated mask only when plausible ---
    #: Minimum stability score (EdgeSAM's IoU head was not distilled; stability is the signal).
    min_stability: float = 0.6
    #: Accepted area / last accepted area must lie within [min, max]: a jump means a neighbour
    #: or the background was grabbed, a collapse means the prompt fell off the object.
    min_area_ratio: float = 0.4
    max_area_ratio: float = 2.5
    #: Minimum IoU between the mask's box and the motion-predicted box (for objects cut by the
    #: image border: intersection over the smaller box, as their boxes change size abruptly).
    min_box_iou: float = 0.2
    #: Fewer pixels than this is an empty mask.
    min_area: int = 16
    #: This many consecutive rejected/empty frames turn a tracked object into a lost one.
    lost_after: int = 3
    #: A lost object is removed after this many frames (SAM 3's video tracker uses 30).
    keep_alive: int = 30

    #: A mask smaller than this share of the object's reference area is taken as partly hidden:
    #: it updates the position but not the velocity (see `BoxKalman.update`).
    partial_visibility: float = 0.8

    # --- overlaps between objects ---
    #: An object keeps less than this share of its candidate mask after contested pixels went to
    #: the object in front: it is occluded, and its candidate (the occluder) is rejected.
    min_visible_share: float = 0.4
    #: Two masks sharing at least this share of the smaller one teach the depth order (who is in
    #: front); a few boundary pixels of touching objects do not.
    min_contest_share: float = 0.1
    #: The depth order of a pair is remembered this many frames after their last real contest.
    depth_memory: int = 30

    # --- re-acquisition of lost objects ---
    #: Search box = predicted box scaled by this factor around its centre...
    search_scale: float = 2.5
    #: ...times (1 + this x frames lost): the longer an object is hidden, the farther it may be.
    search_growth: float = 0.1
    #: The object's reference size and area (used to search for it) follow shrinking masks only
    #: by this factor per frame, so an object sliding behind an occluder is searched for at its
    #: full size, while one that really shrinks is followed within a few frames.
    reference_decay: float = 0.98
    #: At most this many prompts per lost object per frame: proposals nearest first, or (without
    #: proposals) boxes tiling the search box, a different slice each frame.
    max_reacquire_candidates: int = 3
    #: Side of those tiles in object sizes: bigger tiles cover the region in fewer frames but
    #: give the decoder more clutter to choose from.
    search_tile: float = 2.0
    #: Minimum colour-histogram similarity (1 - Bhattacharyya distance) to the last good mask.
    min_appearance: float = 0.5
    #: Histogram bins per channel (3 channels: bins**3 cells; mono: bins * 4). Coarse on purpose:
    #: exposure drift, shading and partial views must not make an object a stranger.
    histogram_bins: int = 4
    #: Weight of the newest mask in the running appearance histogram.
    appearance_update: float = 0.2

    # --- new objects from proposals ("auto" mode) ---
    #: Start objects from the engine's RPN proposals where nothing is tracked yet.
    auto: bool = False
    #: Proposal score needed to start an object.
    min_proposal_score: float = 0.5
    #: A proposal mask must be at least this share outside every existing mask (SAM-Track: 80 %).
    min_outside_share: float = 0.8
    #: ...and at least this large (SAM-Track: 200 px).
    min_new_area: int = 200
    #: A proposal whose box overlaps an object's box by more IoU than this is that object:
    #: not decoded (a cheap pre-filter before the mask test above).
    max_proposal_iou: float = 0.5
    #: Proposals decoded per frame for new objects (best scores first): bounds the decoder cost.
    max_new_per_frame: int = 8
    #: Objects alive at once (user objects included); further proposals are ignored.
    max_objects: int = 20

    def ablation(self, name: str) -> TrackerConfig:
        """This config with the feature flags of ablation `name` (see `ABLATIONS`)."""
        if name not in ABLATIONS:
            raise ValueError(f"unknown ablation {name!r}; choose from {', '.join(ABLATIONS)}")
        return dataclasses.replace(self, **ABLATIONS[name])
