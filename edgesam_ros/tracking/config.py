"""Every number the tracker's behaviour depends on, with its default and the reason for it.

One frozen dataclass so a node parameter file, the evaluation's ablations and the tests all speak
the same vocabulary; `TrackerConfig.ablation(name)` turns the propagation features on one by one
instead of keeping copies of the tracker for each experiment.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

#: Ablation name -> feature flags, in the order each adds one feature to the previous one.
_FEATURES = (
    "propagate",
    "use_points",
    "use_mask_input",
    "use_motion",
    "reacquire",
    "use_appearance",
)
ABLATIONS: dict[str, dict[str, bool]] = {
    name: {feature: i < on for i, feature in enumerate(_FEATURES)}
    for name, on in (
        ("first-frame", 0),
        ("box", 1),
        ("+points", 2),
        ("+mask-input", 3),
        ("+motion", 4),
        ("+reacquire", 5),
        ("+appearance", 6),
    )
}

#: Prompt settings for segmenters whose masks stay on the object inside a loose box (expected of
#: SAM and official EdgeSAM, measured with the ground-truth oracle), against the defaults, which
#: suit the bundled model:
#: `TrackerConfig(**SAM_LIKE)`; `edgesam-ros eval-tracking --set` takes the same names.
SAM_LIKE: dict[str, object] = {"box_margin": 0.15, "use_points": True}


@dataclass(frozen=True)
class TrackerConfig:
    """Tracker parameters. Lengths are pixels, ratios are unitless, durations are frames."""

    # --- feature switches (the ablation ladder; all on by default except use_points) ---
    #: Build each frame's prompt from the previous mask. Off: re-send the first user prompt forever.
    propagate: bool = True
    #: Add a positive point at the previous mask's core and negatives at neighbours' cores.
    #: Off by default: the bundled model segments worse from a box plus points than from the box
    #: alone, and frame after frame the worse masks compound (`eval-tracking`, benchmark seeds
    #: 0-7 / 100-107, margin 0.05: J&F 0.488 / 0.479 without points, 0.415 / 0.439 with).
    #: SAM-like segmenters gain from the point, which picks the object inside a loose box
    #: (ground-truth oracle: 0.878 with points and a 0.15 margin); see docs/tracking.md.
    use_points: bool = False
    #: Feed the previous low-res logits as `mask_input` (only if the engine reports the input).
    use_mask_input: bool = True
    #: Move the prompt with a constant-velocity Kalman filter; off: the object is assumed static.
    use_motion: bool = True
    #: Try to re-acquire lost objects from proposals / a wider search box; off: they wait to die.
    reacquire: bool = True
    #: Check every mask's colours against the object's (hue/saturation histogram): a propagated
    #: mask must still look like the object, a re-acquired one must look like it. Off: position
    #: and size alone decide (also when `step` is given no image).
    use_appearance: bool = True

    # --- prompt construction ---
    #: Previous box grown by this fraction of its size on each side: room for motion and growth
    #: without inviting neighbours. SAM-PT/NanoSAM use 10-20 %, which suits SAM, whose masks stay
    #: on the object inside a loose box; the bundled model was trained on tight boxes and leaks
    #: into a loose one, the leak growing the next box (model J&F on the benchmark, no points,
    #: before `edge_margin`: 0.345 at 0.15, 0.488 at 0.05, 0.499 at 0.03; the oracle, whose masks
    #: stop at the box, needs some room: 0.684 at 0.0, 0.808 at 0.03, 0.833 at 0.15).
    box_margin: float = 0.03
    #: ...but at least this many pixels, so small objects still get slack.
    min_box_margin_px: float = 4.0
    #: Margin on a side the last mask reached (the segmenter stopped at the box there, so the
    #: object probably goes on): without it a tight box can never follow an object that grows or
    #: comes out from behind something, and the part left outside is free for another track.
    edge_margin: float = 0.15
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
    #: Accepted area / last accepted area must not fall below this: a collapse means the prompt
    #: fell off the object. A smaller mask that still looks like the object (`use_appearance`)
    #: is accepted as a partial view: the object is sliding behind something.
    min_area_ratio: float = 0.4
    #: Accepted area / max(last area, reference area) must not exceed this: a jump means a
    #: neighbour or the background was grabbed. Growing back to the reference size after a
    #: partial view is no jump.
    max_area_ratio: float = 2.5
    #: Minimum IoU between the mask's box and the motion-predicted box (for objects cut by the
    #: image border: intersection over the smaller box, as their boxes change size abruptly).
    min_box_iou: float = 0.2
    #: Until the motion model has measured a velocity (birth, re-acquisition, correction), a
    #: mask may lie this many box sizes away from the prediction on each side.
    unsettled_reach: float = 1.0
    #: Fewer pixels than this is an empty mask.
    min_area: int = 16
    #: This many consecutive rejected/empty frames turn a tracked object into a lost one.
    lost_after: int = 3
    #: A lost object is removed after this many lost frames. SAM 3's video tracker uses 30, but
    #: it re-detects everything on every frame; here removal is final, so an object hidden for
    #: up to ~1.5 s at 30 fps must survive it.
    keep_alive: int = 45
    #: ...and this many when it was lost at the image border (it left the field of view and
    #: comes back where it left, typically later than from behind an occluder).
    keep_alive_outside: int = 90

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
    #: Search region = the object's reference box around its prediction and around where it was
    #: last seen, scaled by this factor...
    search_scale: float = 4.0
    #: ...times (1 + this x frames lost): the longer an object is hidden, the farther it may be.
    #: Wide on purpose: appearance and the overlap test keep it from grabbing other objects
    #: (oracle J&F on the benchmark: 2.5 / 0.1 gave 0.75, 4.0 / 0.3 gives 0.81).
    search_growth: float = 0.3
    #: ...but at most this factor: a long-lost object is not searched for all over the image,
    #: where a part of another object with the same hues could pass for it.
    max_search_scale: float = 12.0
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
    #: A re-acquisition candidate's area / the object's reference area must be at least this
    #: (an object coming out from behind something is seen partly at first; not at the border,
    #: where any sliver may be the object re-entering).
    search_min_area_ratio: float = 0.25
    #: A search mask sharing more than this share of its pixels with an object followed on this
    #: frame is that object, not the lost one.
    max_search_overlap: float = 0.5
    #: Minimum colour-histogram similarity (1 - Bhattacharyya distance) to the object's running
    #: histogram. On the benchmark's objects (GT masks), the same object 30 frames later scores
    #: >= 0.53 in 95 % of cases, a different object <= 0.42 in 95 % of cases.
    min_appearance: float = 0.5
    #: Hue x saturation bins of the appearance histogram (grey images: `hue_bins` intensity bins).
    #: Brightness is left out on purpose: exposure drift, light gradients and shading change it
    #: (an RGB histogram of the same object 30 frames later fell below 0.05 similarity in 5 % of
    #: cases).
    hue_bins: int = 12
    saturation_bins: int = 4
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
        """This config on rung `name` of the ladder (see `ABLATIONS`): the features above the
        rung switched off; a feature this config already has off stays off, so the ladder's top
        is the config itself."""
        if name not in ABLATIONS:
            raise ValueError(f"unknown ablation {name!r}; choose from {', '.join(ABLATIONS)}")
        flags = {f: on and getattr(self, f) for f, on in ABLATIONS[name].items()}
        return dataclasses.replace(self, **flags)
