"""J&F of segmentation results against a fixture bag's ground truth, on the frames that have one.

Fixture prompts ask for each object's ground-truth id, so predicted id == GT id and no matching
is needed. A live run drops frames by design: frames without a result are left out, and an object
is scored from the first result after the one its prompt was applied to (DAVIS convention, see
`edgesam_ros.tracking.metrics`).

Objects started another way (command-line points or boxes, proposals) carry ids of their own:
`score_matched` pairs them with ground-truth objects first.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from edgesam_ros.tracking.metrics import SequenceScorer, jaccard

from .groundtruth import GroundTruth


@dataclass(frozen=True)
class Score:
    """Mean over prompted objects (objects without a scored frame are left out)."""

    j: float
    f: float
    frames: int  # frames with a result
    objects: int  # objects scored
    j_prompted: float  # mean J on each object's first result (where its exact GT box applied)

    @property
    def jf(self) -> float:
        return (self.j + self.f) / 2

    def __str__(self) -> str:
        return (f"J&F {self.jf:.3f} (J {self.j:.3f}, F {self.f:.3f}) over {self.objects} objects; "
                f"J {self.j_prompted:.3f} on the prompted frames")


def score(truth: GroundTruth, predictions: dict[int, np.ndarray]) -> Score:
    """Score id images keyed by header stamp (ns) against the ground truth."""
    scorer = SequenceScorer()
    prompt_frames = {
        int(o["id"]): o["prompt_frame"]
        for o in truth.info["objects"]
        if o["prompt_frame"] is not None
    }
    frames, prompted_j = 0, []
    for t, stamp in enumerate(truth.stamps_ns.tolist()):
        predicted = predictions.get(stamp)
        if predicted is None:
            continue
        frames += 1
        started = frozenset(
            i for i, first in prompt_frames.items() if first <= t and i not in scorer.objects
        )
        for object_id in started:
            scorer.prompt(object_id, object_id)
            prompted_j.append(jaccard(predicted == object_id, truth.id_images[t] == object_id))
        scorer.add(truth.id_images[t], predicted.astype(np.uint16), skip=started)
    results = [m for m in scorer.results().values() if m.frames]
    j_prompted = float(np.mean(prompted_j)) if prompted_j else math.nan
    if not results:
        return Score(math.nan, math.nan, frames, 0, j_prompted)
    return Score(
        float(np.mean([m.j for m in results])),
        float(np.mean([m.f for m in results])),
        frames,
        len(results),
        j_prompted,
    )


def match_ids(truth: GroundTruth, predictions: dict[int, np.ndarray]) -> dict[int, int]:
    """Predicted id -> ground-truth id, one to one, greedily by the pixels they share over the
    run (most first); predicted objects that share no pixel with a free GT object are left out."""
    shared: Counter[tuple[int, int]] = Counter()
    for t, stamp in enumerate(truth.stamps_ns.tolist()):
        predicted = predictions.get(stamp)
        if predicted is None:
            continue
        both = (predicted != 0) & (truth.id_images[t] != 0)
        pairs, counts = np.unique(
            np.stack([predicted[both].astype(np.int64), truth.id_images[t][both].astype(np.int64)]),
            axis=1, return_counts=True,
        )
        shared.update({(int(p), int(g)): int(n) for (p, g), n in zip(pairs.T, counts, strict=True)})
    mapping: dict[int, int] = {}
    for (predicted_id, truth_id), _ in shared.most_common():
        if predicted_id not in mapping and truth_id not in mapping.values():
            mapping[predicted_id] = truth_id
    return mapping


def score_matched(truth: GroundTruth, predictions: dict[int, np.ndarray]) -> Score:
    """`score` for results whose ids were not asked for: each predicted object is renamed to the
    GT object it overlaps most (`match_ids`, unmatched ones are dropped) and counts as prompted on
    the first frame it appears; GT objects no prediction matched are not scored."""
    mapping = match_ids(truth, predictions)
    size = max([0, *(int(p.max()) for p in predictions.values() if p.size)]) + 1
    rename = np.zeros(size, np.uint16)
    for predicted_id, truth_id in mapping.items():
        rename[predicted_id] = truth_id
    renamed = {stamp: rename[p] for stamp, p in predictions.items()}
    first: dict[int, int] = {}
    for t, stamp in enumerate(truth.stamps_ns.tolist()):
        if stamp in renamed:
            for truth_id in np.unique(renamed[stamp]).tolist():
                first.setdefault(int(truth_id), t)
    info = copy.deepcopy(truth.info)
    for obj in info["objects"]:
        obj["prompt_frame"] = first.get(int(obj["id"]))
    return score(GroundTruth(truth.id_images, truth.stamps_ns, info), renamed)
