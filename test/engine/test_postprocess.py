"""Mask selection and the region-only upsampling against SAM's full-frame postprocess."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgesam_ros.engine import LongestSide, MaskResult
from edgesam_ros.engine.postprocess import MaskUpsampler, stability_scores
from edgesam_ros.engine.selection import choose_masks, resolve_rule


def full_frame_postprocess(logits: np.ndarray, original: tuple[int, int], frame: int) -> np.ndarray:
    """SAM/EdgeSAM's naive postprocess: low-res -> frame, crop resized part, -> original, > 0."""
    h, w = original
    new_h, new_w = LongestSide(frame).resized_size(original)
    up = cv2.resize(logits, (frame, frame), interpolation=cv2.INTER_LINEAR)
    up = up[:new_h, :new_w]
    return cv2.resize(up, (w, h), interpolation=cv2.INTER_LINEAR) > 0


def blob_logits(low_res: int, seed: int) -> np.ndarray:
    """Smooth random logits with a few positive blobs, like a real decoder's output."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.normal(size=(low_res, low_res)).astype(np.float32), (0, 0), 6)
    return (noise / noise.std() * 6.0 - 4.0).astype(np.float32)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


@pytest.mark.parametrize(
    ("original", "frame", "low_res"),
    [((480, 640), 1024, 256), ((640, 480), 1024, 256), ((1080, 1920), 1024, 256),
     ((37, 100), 1024, 256), ((300, 200), 256, 64), ((333, 500), 512, 256)],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_region_upsampling_equals_full_frame(original, frame, low_res, seed):
    logits = blob_logits(low_res, seed)
    naive = full_frame_postprocess(logits, original, frame)
    assert naive.any()
    box, mask = MaskUpsampler(original, LongestSide(frame), (low_res, low_res)).upsample(
        logits, 0.0
    )
    result = MaskResult(box=box, mask=mask, iou_prediction=0, stability=0, area=int(mask.sum()),
                        low_res_logits=logits).full_mask(original)
    assert iou(result, naive) >= 0.99
    assert np.count_nonzero(result != naive) <= 8  # only float rounding on boundaries
    ys, xs = np.nonzero(naive)
    assert abs(box[0] - xs.min()) <= 1 and abs(box[2] - (xs.max() + 1)) <= 1
    assert abs(box[1] - ys.min()) <= 1 and abs(box[3] - (ys.max() + 1)) <= 1
    assert mask.shape == (box[3] - box[1], box[2] - box[0])


def test_small_object_is_computed_in_its_region_only():
    low_res = 256
    yy, xx = np.mgrid[0:low_res, 0:low_res]
    logits = (5.0 - np.hypot(xx - 40, yy - 30)).astype(np.float32)  # radius-5 disk
    box, mask = MaskUpsampler((1080, 1920), LongestSide(1024), (low_res, low_res)).upsample(
        logits, 0.0
    )
    naive = full_frame_postprocess(logits, (1080, 1920), 1024)
    ys, xs = np.nonzero(naive)
    assert box == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    np.testing.assert_array_equal(mask, naive[box[1]:box[3], box[0]:box[2]])
    assert mask.shape[0] < 100 and mask.shape[1] < 100


def test_empty_and_padding_only_logits_give_empty_result():
    upsampler = MaskUpsampler((480, 640), LongestSide(1024), (256, 256))
    assert upsampler.upsample(np.full((256, 256), -5, np.float32), 0.0)[0] == (0, 0, 0, 0)
    padding_only = np.full((256, 256), -5, np.float32)
    padding_only[250:, :] = 5  # rows below the resized image (768 / 4 = 192) are cropped away
    box, mask = upsampler.upsample(padding_only, 0.0)
    assert box == (0, 0, 0, 0) and mask.shape == (0, 0)


def test_stability_score_counts_thresholded_areas():
    logits = np.zeros((2, 1, 4, 4), np.float32)
    logits[0, 0, :2] = 5.0  # 8 pixels > 1 and 8 pixels > -1
    logits[1, 0, :1] = 5.0  # 4 pixels > 1 ...
    logits[1, 0, 1:3] = 0.5  # ... but 12 pixels > -1
    logits[1, 0, 3] = -5.0
    np.testing.assert_allclose(stability_scores(logits, 0.0, 1.0)[:, 0], [8 / 16, 4 / 12])
    assert stability_scores(np.full((1, 1, 4, 4), -9.0), 0.0, 1.0)[0, 0] == 0.0


#: Rows: a lone point, a box, two points, a box + a point.
IOU = np.array([[0.99, 0.2, 0.8, 0.5], [0.1, 0.9, 0.2, 0.3], [0.1, 0.2, 0.3, 0.4],
                [0.5, 0.6, 0.1, 0.2]])
STABILITY = np.array([[0.9, 0.3, 0.2, 0.7], [0.2, 0.8, 0.9, 0.1], [0.95, 0.1, 0.2, 0.3],
                      [0.1, 0.2, 0.9, 0.3]])
HAS_BOX = np.array([False, True, False, True])
LONE_POINT = np.array([True, False, False, False])


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # EdgeSAM's demo: no box -> best stability of all 4 (output 0 included); box -> 0.
        ("edgesam", [0, 0, 0, 0]),
        # SamPredictor users: a lone point -> best predicted IoU of 1..3, even if 0 is higher.
        ("sam", [2, 0, 0, 0]),
        # The former default: a lone point -> best stability of 1..3.
        ("stability", [3, 0, 0, 0]),
    ],
)
def test_choose_masks_by_rule(rule, expected):
    np.testing.assert_array_equal(choose_masks(rule, IOU, STABILITY, HAS_BOX, LONE_POINT),
                                  expected)
    assert choose_masks(rule, IOU[:, :1], STABILITY[:, :1], HAS_BOX, LONE_POINT).tolist() == \
        [0, 0, 0, 0]  # a single-mask decoder has chosen already


def test_edgesam_rule_looks_at_all_four_outputs_without_a_box():
    stability = np.array([[0.1, 0.2, 0.3, 0.9], [0.1, 0.2, 0.9, 0.3]])
    chosen = choose_masks("edgesam", np.zeros((2, 4)), stability, np.array([False, False]),
                          np.array([False, True]))
    np.testing.assert_array_equal(chosen, [3, 2])  # two points too, unlike SAM's rule


@pytest.mark.parametrize(
    ("selection", "family", "bundled", "rule"),
    [("family", "edgesam", False, "edgesam"), ("family", "sam", False, "sam"),
     ("family", "mobilesam", False, "sam"), ("family", "efficientvit", False, "sam"),
     ("family", "edgesam", True, "sam"), ("stability", "sam", False, "stability"),
     ("edgesam", "edgesam", True, "edgesam")],
)
def test_family_rule_resolution(selection, family, bundled, rule):
    assert resolve_rule(selection, family, bundled) == rule


def test_full_mask_pastes_the_crop():
    result = MaskResult(box=(2, 1, 5, 3), mask=np.ones((2, 3), bool), iou_prediction=0.0,
                        stability=0.0, area=6, low_res_logits=np.zeros((4, 4), np.float32))
    full = result.full_mask((4, 6))
    assert full.sum() == 6 and full[1:3, 2:5].all()


@pytest.mark.torch
@pytest.mark.parametrize(
    ("original", "frame", "low_res"),
    [((480, 640), 1024, 256), ((1080, 1920), 1024, 256), ((37, 100), 1024, 256),
     ((333, 500), 512, 128), ((300, 200), 384, 96)],
)
def test_upsampling_equals_upstreams_torch_postprocess(original, frame, low_res):
    """Sam.postprocess_masks: F.interpolate bilinear to frame x frame, crop the resized part,
    F.interpolate bilinear to the original size, > threshold; equal to float rounding."""
    torch = pytest.importorskip("torch")
    from torch.nn import functional as F

    logits = blob_logits(low_res, seed=7)
    new_h, new_w = LongestSide(frame).resized_size(original)
    up = F.interpolate(torch.from_numpy(logits)[None, None], (frame, frame), mode="bilinear",
                       align_corners=False)[..., :new_h, :new_w]
    upstream = F.interpolate(up, original, mode="bilinear", align_corners=False)[0, 0].numpy()
    upsampler = MaskUpsampler(original, LongestSide(frame), (low_res, low_res))
    ours = upsampler._rows @ logits @ upsampler._cols.T
    np.testing.assert_allclose(ours, upstream, atol=2e-5 * np.abs(logits).max())
    box, mask = upsampler.upsample(logits, 0.0)
    full = MaskResult(box=box, mask=mask, iou_prediction=0, stability=0, area=int(mask.sum()),
                      low_res_logits=logits).full_mask(original)
    decided = np.abs(upstream) > 1e-4  # pixels whose sign float rounding cannot flip
    np.testing.assert_array_equal(full[decided], (upstream > 0)[decided])
