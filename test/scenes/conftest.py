"""Shared ground-truth checks for still scenes and sequence frames."""

from __future__ import annotations

import numpy as np
import pytest

from edgesam_ros.scenes import Scene


def check_scene(scene: Scene, occluders: bool = False) -> None:
    """Every invariant a `Scene` promises, checked independently of how it was built.

    With `occluders` (sequence frames), non-instance occluders may hide more than the instances.
    """
    k = len(scene.ids)
    h, w = scene.image.shape[:2]
    assert scene.image.dtype == np.uint8 and scene.image.shape == (h, w, 3)
    assert scene.instance_masks.shape == scene.amodal_masks.shape == (k, h, w)
    assert scene.boxes.shape == (k, 4) and scene.boxes.dtype == np.float32
    assert len(set(scene.ids.tolist())) == k and (scene.ids >= 1).all()
    # Boxes are the tight boxes of the visible masks, x2/y2 exclusive, zeros when empty.
    for mask, box in zip(scene.instance_masks, scene.boxes, strict=True):
        ys, xs = np.nonzero(mask)
        expected = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) if xs.size else (0, 0, 0, 0)
        np.testing.assert_array_equal(box, expected)
    # Visible is part of amodal; visible masks are disjoint.
    assert not (scene.instance_masks & ~scene.amodal_masks).any()
    assert (scene.instance_masks.sum(axis=0) <= 1).all()
    # Depth order: a nearer object's silhouette is never claimed by a farther object, and an
    # object is visible exactly where no nearer object covers it.
    covered = np.zeros((h, w), bool)
    for i in scene.depth_order:
        assert not (scene.instance_masks[i] & covered).any()
        unoccluded = scene.amodal_masks[i] & ~covered
        if occluders:
            assert not (scene.instance_masks[i] & ~unoccluded).any()
        else:
            np.testing.assert_array_equal(scene.instance_masks[i], unoccluded)
        covered |= scene.amodal_masks[i]
    # The id image is the visible masks.
    ids = scene.id_image()
    assert ids.dtype == np.uint16
    for instance_id, mask in zip(scene.ids, scene.instance_masks, strict=True):
        np.testing.assert_array_equal(ids == instance_id, mask)
    assert ((ids == 0) == ~scene.instance_masks.any(axis=0)).all()
    visible_pixels = scene.instance_masks.sum(axis=(1, 2))
    assert ((scene.visible_fraction > 0) == (visible_pixels > 0)).all()
    assert (scene.visible_fraction <= scene.in_frame_fraction + 1e-6).all()
    assert (scene.in_frame_fraction <= 1).all()
    if scene.depth is not None:
        assert scene.depth.dtype == np.float32 and scene.depth.shape == (h, w)
        for mask, depth in zip(scene.instance_masks, scene.depths, strict=True):
            assert (scene.depth[mask] == depth).all()


@pytest.fixture
def scene_checker():
    return check_scene
