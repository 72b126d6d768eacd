"""The shared overlay drawing (edgesam_ros.visualization) on generated scenes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from edgesam_ros.scenes import SceneConfig, generate_scene
from edgesam_ros.visualization import contact_sheet, draw_instances, id_colors


def test_id_colors_are_stable_and_distinct():
    colors = id_colors(list(range(1, 21)))
    np.testing.assert_array_equal(colors, id_colors(list(range(1, 21))))
    assert len({tuple(c) for c in colors}) == 20
    np.testing.assert_array_equal(id_colors([0]), [[0, 0, 0]])
    # Neighbouring ids get clearly different colours.
    assert (np.abs(np.diff(colors.astype(int), axis=0)).sum(axis=1) > 60).all()


def test_draw_instances_tints_only_instances():
    scene = generate_scene(1, replace(SceneConfig(), height=120, width=160))
    ids = scene.id_image()
    out = draw_instances(scene.image, ids, scene.boxes, scene.ids, alpha=0.5)
    assert out.shape == scene.image.shape and out.dtype == np.uint8
    assert out is not scene.image
    inside = scene.instance_masks.any(axis=0)
    assert (out[inside] != scene.image[inside]).any()
    # Far from any instance (outside every box, where no outline or label is drawn) nothing changes.
    untouched = np.ones(ids.shape, bool)
    for x1, y1, x2, y2 in scene.boxes.astype(int):
        untouched[max(y1 - 15, 0) : y2 + 2, max(x1 - 2, 0) : x2 + 30] = False
    np.testing.assert_array_equal(out[untouched], scene.image[untouched])


def test_draw_instances_accepts_mono_and_empty():
    gray = np.full((20, 30), 90, np.uint8)
    out = draw_instances(gray, np.zeros((20, 30), np.uint16))
    assert out.shape == (20, 30, 3) and (out == 90).all()


def test_contact_sheet_tiles_images():
    images = [np.full((40, 60, 3), v, np.uint8) for v in (10, 20, 30)]
    sheet = contact_sheet(images, columns=2, labels=["a", "b", "c"], width=30)
    assert sheet.shape == (40, 60, 3)
