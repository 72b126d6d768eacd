"""Still scene generator: exact ground truth, determinism, variety and difficulty settings."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from edgesam_ros.scenes import (
    SHAPE_KINDS,
    TEXTURE_KINDS,
    CameraStyle,
    ObjectStyle,
    SceneConfig,
    generate_scene,
    mask_boxes,
    scene_preset,
)

SMALL = SceneConfig(height=192, width=256)


@pytest.mark.parametrize("seed", range(12))
def test_ground_truth_is_consistent(seed, scene_checker):
    scene_checker(generate_scene(seed, replace(SMALL, with_depth=True)))


def test_same_seed_same_bytes_and_different_seed_differs():
    a, b, c = (generate_scene(s, SMALL) for s in (7, 7, 8))
    assert a.image.tobytes() == b.image.tobytes()
    assert a.instance_masks.tobytes() == b.instance_masks.tobytes()
    np.testing.assert_array_equal(a.boxes, b.boxes)
    assert a.image.tobytes() != c.image.tobytes()


def test_visible_pixels_show_their_object():
    """Without lighting, blur, noise and shading a flat object's pixels are exactly its colour."""
    clean = scene_preset("clean")
    config = replace(clean, objects=replace(clean.objects, texture_kinds=("flat",)))
    for seed in range(6):
        scene = generate_scene(seed, config)
        for mask, info in zip(scene.instance_masks, scene.instances, strict=True):
            expected = np.round(info.color)
            assert np.abs(scene.image[mask] - expected).max() <= 1


def test_occlusion_limits_and_object_count_are_respected():
    config = replace(SMALL, num_objects=(4, 6), max_occlusion=0.5, min_visible_pixels=50)
    for seed in range(10):
        scene = generate_scene(seed, config)
        assert len(scene.ids) <= 6
        assert (scene.visible_fraction >= 0.5 - 1e-6).all()
        assert (scene.instance_masks.sum(axis=(1, 2)) >= 50).all()


def test_occlusions_happen():
    config = replace(SMALL, occlusion_prob=1.0)
    scenes = [generate_scene(seed, config) for seed in range(5)]
    occluded = [(s.visible_fraction < s.in_frame_fraction).any() for s in scenes]
    assert sum(occluded) >= 4


def test_shapes_and_textures_vary():
    shapes, textures = set(), set()
    for seed in range(25):
        for info in generate_scene(seed, SMALL).instances:
            shapes.add(info.shape)
            textures.add(info.texture)
    assert shapes == set(SHAPE_KINDS)
    assert textures == set(TEXTURE_KINDS)


def test_overlapping_objects_have_separable_colours():
    config = replace(SMALL, objects=ObjectStyle(shading_prob=0.0), num_objects=(6, 8))
    for seed in range(10):
        scene = generate_scene(seed, config)
        colors = np.array([info.color for info in scene.instances])
        for i in range(len(colors)):
            for j in range(i + 1, len(colors)):
                if (scene.amodal_masks[i] & scene.amodal_masks[j]).any():
                    assert np.linalg.norm(colors[i] - colors[j]) >= config.objects.min_contrast


def test_depth_image_puts_background_behind_objects():
    scene = generate_scene(3, replace(SMALL, with_depth=True))
    background = ~scene.instance_masks.any(axis=0)
    assert scene.depth[background].min() > scene.depths.max()


def test_camera_effects_change_the_image_but_not_the_masks():
    clean = replace(SMALL, camera=scene_preset("clean").camera)
    noisy = replace(SMALL, camera=CameraStyle(noise_sigma=(5.0, 5.0), blur_sigma=(1.0, 1.0)))
    a, b = generate_scene(4, clean), generate_scene(4, noisy)
    assert a.instance_masks.tobytes() == b.instance_masks.tobytes()
    assert a.image.tobytes() != b.image.tobytes()


def test_mask_boxes_of_empty_and_edge_masks():
    masks = np.zeros((3, 5, 6), bool)
    masks[1, 4, 5] = True
    masks[2, 0:2, 0:3] = True
    np.testing.assert_array_equal(mask_boxes(masks), [[0, 0, 0, 0], [5, 4, 6, 5], [0, 0, 3, 2]])
    assert mask_boxes(np.zeros((0, 4, 4), bool)).shape == (0, 4)


@pytest.mark.parametrize("name", ["default", "train", "clean"])
def test_scene_presets_generate(name, scene_checker):
    config = replace(scene_preset(name), height=120, width=160)
    scene_checker(generate_scene(0, config))
