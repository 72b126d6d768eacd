"""Scoring results against a fixture's ground truth, with and without the fixture's own ids."""

from __future__ import annotations

import numpy as np

from edgesam_ros.bags.evaluate import match_ids, score, score_matched
from edgesam_ros.bags.groundtruth import GroundTruth


def _truth() -> GroundTruth:
    """Three frames, object 1 on the left from frame 0, object 2 on the right from frame 1,
    object 3 (bottom row) never found by the predictions below."""
    ids = np.zeros((3, 8, 8), np.uint16)
    ids[:, 1:4, 0:3] = 1
    ids[1:, 1:4, 5:8] = 2
    ids[:, 7, :] = 3
    objects = [{"id": 1, "prompt_frame": 0}, {"id": 2, "prompt_frame": 1},
               {"id": 3, "prompt_frame": 0}]
    return GroundTruth(ids, np.array([10, 20, 30], np.int64), {"objects": objects})


def _own_ids(truth: GroundTruth) -> dict[int, np.ndarray]:
    """Perfect masks of objects 1 and 2 under ids 9 and 7, plus a stray object 5."""
    predictions = {}
    for t, stamp in enumerate(truth.stamps_ns.tolist()):
        predicted = np.zeros_like(truth.id_images[t])
        predicted[truth.id_images[t] == 1] = 9
        predicted[truth.id_images[t] == 2] = 7
        predicted[5, 4] = 5
        predictions[stamp] = predicted
    return predictions


def test_objects_with_their_own_ids_are_matched_by_overlap() -> None:
    truth = _truth()
    predictions = _own_ids(truth)
    assert match_ids(truth, predictions) == {9: 1, 7: 2}
    matched = score_matched(truth, predictions)
    assert (matched.objects, matched.jf, matched.j_prompted) == (2, 1.0, 1.0)
    unmatched = score(truth, predictions)  # the fixture-id scoring sees only wrong ids
    assert unmatched.jf == 0.0


def test_matching_is_one_to_one_and_keeps_fixture_ids() -> None:
    truth = _truth()
    predictions = {int(s): truth.id_images[t].copy() for t, s in enumerate(truth.stamps_ns)}
    predictions[20][truth.id_images[1] == 2] = 1  # on one frame, object 1 swallows object 2
    mapping = match_ids(truth, predictions)
    assert mapping[1] == 1 and len(set(mapping.values())) == len(mapping)
    assert score_matched(truth, {}).objects == 0
