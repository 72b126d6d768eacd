"""RPN proposals: score threshold, NMS and the mapping back to original pixels."""

from __future__ import annotations

import numpy as np

from edgesam_ros.engine import EngineConfig, SamEngine
from edgesam_ros.engine.proposals import box_iou, nms


def reference_nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    """Textbook greedy NMS, one pair at a time."""
    kept: list[int] = []
    for i in sorted(range(len(scores)), key=lambda k: -scores[k]):
        if all(box_iou(boxes[j], boxes[i : i + 1])[0] <= threshold for j in kept):
            kept.append(i)
    return kept


def test_nms_matches_reference_on_random_boxes():
    rng = np.random.default_rng(3)
    for _ in range(5):
        corners = rng.uniform(0, 100, (60, 2))
        sizes = rng.uniform(5, 40, (60, 2))
        boxes = np.hstack([corners, corners + sizes]).astype(np.float32)
        scores = rng.uniform(0, 1, 60).astype(np.float32)
        kept = nms(boxes, scores, 0.4, max_count=1000)
        assert kept.tolist() == reference_nms(boxes, scores, 0.4)
        assert nms(boxes, scores, 0.4, max_count=3).tolist() == kept[:3].tolist()


def test_box_iou_values():
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 0, 0]], float)
    np.testing.assert_allclose(box_iou(boxes[0], boxes), [1.0, 50 / 150, 0.0, 0.0])


def test_engine_returns_thresholded_nms_proposals_in_original_pixels(model_pair):
    boxes = np.array([[10, 10, 100, 100],   # best
                      [12, 12, 102, 102],   # duplicate of the best: suppressed
                      [150, 40, 200, 120],  # kept
                      [0, 0, 50, 50],       # below the score threshold
                      [180, 100, 260, 200]], np.float32)  # kept, clipped to the image
    scores = np.array([0.9, 0.8, 0.6, 0.2, 0.5], np.float32)
    encoder, decoder = model_pair("edgesam_ros", encoder={"proposals": (boxes, scores)})
    config = EngineConfig(providers=("cpu",), warmup=False, proposal_score_threshold=0.3,
                          proposal_nms_iou=0.5, max_proposals=10)
    engine = SamEngine(encoder, decoder, config)
    assert engine.info.has_proposals
    proposals = engine.encode(np.zeros((480, 640, 3), np.uint8)).proposals
    # 640 wide -> 256: every coordinate is multiplied by 2.5 on the way back.
    np.testing.assert_allclose(proposals.boxes, [[25, 25, 250, 250], [375, 100, 500, 300],
                                                 [450, 250, 640, 480]])
    np.testing.assert_allclose(proposals.scores, [0.9, 0.6, 0.5])
    capped = SamEngine(encoder, decoder, EngineConfig(providers=("cpu",), warmup=False,
                                                      max_proposals=1))
    assert len(capped.encode(np.zeros((480, 640, 3), np.uint8)).proposals.boxes) == 1


def test_no_proposals_without_rpn_outputs(engine_for):
    assert engine_for("edgesam_ros").encode(np.zeros((8, 8, 3), np.uint8)).proposals is None
