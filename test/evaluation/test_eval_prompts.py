"""Evaluation clicks: interior first point, correction clicks at the largest error's centre."""

from __future__ import annotations

import numpy as np

from edgesam_ros.evaluation.prompts import correction_click, interior_point, largest_region
from edgesam_ros.evaluation.segmentation import box_ious, mask_iou


def _rect(shape: tuple[int, int], y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


def test_interior_point_is_on_the_medial_line_of_a_rectangle() -> None:
    x, y = interior_point(_rect((40, 60), 10, 31, 20, 51))  # 21 rows: centre row 20
    assert y == 20 and 29 <= x <= 41


def test_interior_point_of_a_ring_avoids_the_hole() -> None:
    yy, xx = np.mgrid[:64, :64]
    r = np.hypot(xx - 32, yy - 32)
    ring = (r < 28) & (r > 14)
    x, y = interior_point(ring)
    assert ring[int(y), int(x)]


def test_image_edges_count_as_boundary() -> None:
    x, y = interior_point(_rect((20, 100), 0, 20, 0, 100))
    assert 9 <= y <= 10 and 9 <= x <= 90


def test_largest_region_picks_the_biggest_component() -> None:
    mask = _rect((30, 30), 0, 3, 0, 3) | _rect((30, 30), 10, 20, 10, 20)
    region, area = largest_region(mask)
    assert area == 100 and region[15, 15] and not region[1, 1]
    assert largest_region(np.zeros((5, 5), bool))[1] == 0


def test_correction_click_goes_to_the_larger_error_with_its_label() -> None:
    target = _rect((50, 50), 10, 40, 10, 40)
    missed_half = _rect((50, 50), 10, 40, 10, 25)
    (x, y), label = correction_click(missed_half, target)
    assert label == 1 and target[int(y), int(x)] and not missed_half[int(y), int(x)]
    too_big = _rect((50, 50), 0, 50, 0, 50)
    (x, y), label = correction_click(too_big, target)
    assert label == 0 and not target[int(y), int(x)]
    assert correction_click(target, target) is None


def test_iou_helpers() -> None:
    a = _rect((10, 10), 0, 10, 0, 5)
    assert mask_iou(a, a) == 1.0 and mask_iou(a, ~a) == 0.0
    assert mask_iou(np.zeros((3, 3), bool), np.zeros((3, 3), bool)) == 1.0
    ious = box_ious(np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float32),
                    np.array([[0, 0, 10, 20]], np.float32))
    np.testing.assert_allclose(ious[:, 0], [0.5, 0.0])
