"""The in-loop click sampler: positives in misses, negatives in extras, ignore when near-perfect."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from edgesam_ros.training.prompts import initial_prompts  # noqa: E402
from edgesam_ros.training.sampler import (  # noqa: E402
    IGNORE_LABEL,
    grid_to_frame,
    sample_refinement_points,
)

pytestmark = pytest.mark.torch


def _square(size: int, y0: int, y1: int, x0: int, x1: int) -> torch.Tensor:
    m = torch.zeros(size, size, dtype=torch.bool)
    m[y0:y1, x0:x1] = True
    return m


def test_positive_clicks_land_in_false_negatives() -> None:
    target = _square(32, 4, 28, 4, 28).expand(64, -1, -1)
    pred = _square(32, 4, 28, 4, 16).expand(64, -1, -1)  # right half missed
    coords, labels = sample_refinement_points(pred, target, 10, torch.Generator().manual_seed(0))
    assert (labels == 1).all()
    x, y = coords.long().unbind(1)
    assert (target[0, y, x] & ~pred[0, y, x]).all()
    assert len(set(x.tolist())) > 3, "clicks should be spread over the region, not fixed"


def test_negative_clicks_land_in_false_positives() -> None:
    target = _square(32, 8, 16, 8, 16).expand(16, -1, -1)
    pred = _square(32, 8, 24, 8, 24).expand(16, -1, -1)
    coords, labels = sample_refinement_points(pred, target, 10, torch.Generator().manual_seed(1))
    assert (labels == 0).all()
    x, y = coords.long().unbind(1)
    assert (pred[0, y, x] & ~target[0, y, x]).all()


def test_mixed_errors_label_by_region() -> None:
    target = _square(32, 0, 16, 0, 32)
    pred = _square(32, 8, 24, 0, 32)  # rows 0-7 missed, rows 16-23 extra
    coords, labels = sample_refinement_points(pred.expand(200, -1, -1),
                                              target.expand(200, -1, -1), 10,
                                              torch.Generator().manual_seed(2))
    y = coords[:, 1]
    assert ((labels == 1) == (y < 8)).all() and ((labels == 0) == (y >= 16)).all()
    assert 0.3 < float((labels == 1).float().mean()) < 0.7  # equal areas -> about half each


def test_too_few_errors_give_the_ignore_label() -> None:
    target = _square(32, 4, 20, 4, 20)
    pred = target.clone()
    pred[4, 4:9] = False  # 5 disagreeing pixels < 10
    _, labels = sample_refinement_points(pred[None], target[None], 10, torch.Generator())
    assert labels.tolist() == [IGNORE_LABEL]
    _, labels = sample_refinement_points(target[None], target[None], 10, torch.Generator())
    assert labels.tolist() == [IGNORE_LABEL]


def test_grid_cells_map_to_frame_pixel_centres() -> None:
    coords = torch.tensor([[0.0, 0.0], [63.0, 63.0]])
    assert grid_to_frame(coords, 64, 256).tolist() == [[1.5, 1.5], [253.5, 253.5]]


def test_initial_point_prompts_lie_inside_and_boxes_are_boxes() -> None:
    targets = _square(32, 8, 24, 4, 12).float().expand(50, -1, -1)
    boxes = torch.tensor([[16.0, 32.0, 48.0, 96.0]]).expand(50, -1)
    p = initial_prompts(targets, boxes, 0.5, 0.0, 128, torch.Generator().manual_seed(3))
    assert 0 < int(p.is_box.sum()) < 50
    assert torch.equal(p.coords[p.is_box].reshape(-1, 4), boxes[p.is_box])
    assert (p.labels[p.is_box] == torch.tensor([2.0, 3.0])).all()
    pts = p.coords[~p.is_box, 0]
    assert ((pts[:, 0] >= 16) & (pts[:, 0] < 48) & (pts[:, 1] >= 32) & (pts[:, 1] < 96)).all()
    assert (p.labels[~p.is_box] == torch.tensor([1.0, -1.0])).all()
    assert torch.equal(p.multimask, ~p.is_box)
