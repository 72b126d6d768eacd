"""Longest-side resize maths and prompt packing into the model's prompt frame."""

from __future__ import annotations

import numpy as np
import pytest

from edgesam_ros.engine import LongestSide, Prompt
from edgesam_ros.engine.prompts import (
    decoder_batches,
    pack_mask_inputs,
    prompt_tokens,
    wants_multimask,
)


@pytest.mark.parametrize(
    ("original", "size", "expected"),
    [
        ((480, 640), 1024, (768, 1024)),  # landscape
        ((640, 480), 1024, (1024, 768)),  # portrait
        ((1080, 1920), 1024, (576, 1024)),
        ((333, 500), 1024, (682, 1024)),  # 333 * 2.048 = 681.98 rounds up
        ((37, 100), 64, (24, 64)),  # 37 * 0.64 = 23.68
        ((1000, 1), 1024, (1024, 1)),  # a 1-pixel-wide strip keeps one column
        ((512, 512), 512, (512, 512)),
    ],
)
def test_resized_size_rounds_like_sam(original, size, expected):
    assert LongestSide(size).resized_size(original) == expected


@pytest.mark.parametrize("original", [(480, 640), (640, 480)])
def test_points_scale_per_axis_and_round_trip(original):
    h, w = original
    frame = LongestSide(1024)
    new_h, new_w = frame.resized_size(original)
    points = np.array([[0, 0], [w - 1, h - 1], [w, h], [w / 2, h / 3]], np.float32)
    mapped = frame.to_frame(points, original)
    np.testing.assert_allclose(mapped[:, 0], points[:, 0] * new_w / w, rtol=1e-6)
    np.testing.assert_allclose(mapped[:, 1], points[:, 1] * new_h / h, rtol=1e-6)
    np.testing.assert_allclose(mapped[2], [new_w, new_h])  # far corner -> far corner
    np.testing.assert_allclose(frame.to_original(mapped, original), points, atol=1e-4)


def test_boxes_map_as_two_points():
    frame = LongestSide(1024)
    box = np.array([[10, 20, 630, 470]], np.float32)
    np.testing.assert_allclose(frame.to_frame(box, (480, 640)), [[16, 32, 1008, 752]])


def test_point_prompt_gets_padding_point_in_the_frame():
    coords, labels = prompt_tokens(
        Prompt.from_points([[100, 300]], [1]), LongestSide(1024), (480, 640), pad_point=True
    )
    np.testing.assert_allclose(coords, [[160, 480], [0, 0]])
    np.testing.assert_array_equal(labels, [1, -1])


def test_padding_point_can_be_switched_off():
    coords, labels = prompt_tokens(
        Prompt.from_points([[100, 300]]), LongestSide(1024), (480, 640), pad_point=False
    )
    assert coords.shape == (1, 2)
    np.testing.assert_array_equal(labels, [1])


def test_box_prompt_has_corners_and_no_padding_point():
    prompt = Prompt(points=np.array([[320, 240]], np.float32), labels=np.array([0], np.int32),
                    box=np.array([639, 479, 0, 0], np.float32))  # corners given reversed
    coords, labels = prompt_tokens(prompt, LongestSide(1024), (480, 640), pad_point=True)
    np.testing.assert_allclose(coords, [[512, 384], [0, 0], [1022.4, 766.4]], rtol=1e-6)
    np.testing.assert_array_equal(labels, [0, 2, 3])


def test_prompts_are_batched_by_token_count_never_padded():
    box_and_points = Prompt(points=np.array([[5, 5], [6, 6]], np.float32),
                            labels=np.array([1, 0], np.int32),
                            box=np.array([0, 0, 10, 10], np.float32))
    prompts = [
        Prompt.from_points([[1, 1]]),         # 2 tokens with the padding point
        box_and_points,                        # 4 tokens
        Prompt.from_box([2, 2, 8, 8]),         # 2 tokens
        Prompt.from_points([[3, 3], [4, 4]]),  # 3 tokens
        Prompt.from_box([1, 1, 9, 9]),         # 2 tokens
        box_and_points,
    ]
    batches = decoder_batches(prompts, LongestSide(64), (64, 64), pad_point=True, max_batch=2)
    assert [b.indices.tolist() for b in batches] == [[0, 2], [4], [1, 5], [3]]
    np.testing.assert_array_equal(batches[0].labels, [[1, -1], [2, 3]])
    np.testing.assert_array_equal(batches[2].labels, [[1, 0, 2, 3], [1, 0, 2, 3]])
    np.testing.assert_array_equal(batches[3].labels, [[1, 1, -1]])
    np.testing.assert_allclose(batches[0].coords, [[[1, 1], [0, 0]], [[2, 2], [8, 8]]])


def test_invalid_prompts_are_rejected():
    frame = LongestSide(64)
    with pytest.raises(ValueError, match="at least one point or a box"):
        prompt_tokens(Prompt.from_points(np.zeros((0, 2))), frame, (64, 64), True)
    with pytest.raises(ValueError, match="labels"):
        prompt_tokens(Prompt.from_points([[1, 1]], [2]), frame, (64, 64), True)
    with pytest.raises(ValueError, match="2 points but 1 labels"):
        prompt_tokens(Prompt.from_points([[1, 1], [2, 2]], [1]), frame, (64, 64), True)


def test_multimask_only_for_a_lone_point():
    assert wants_multimask(Prompt.from_points([[1, 1]]))
    assert wants_multimask(Prompt.from_points([[1, 1]], [0]))
    assert not wants_multimask(Prompt.from_points([[1, 1], [2, 2]]))
    assert not wants_multimask(Prompt.from_box([0, 0, 5, 5]))


def test_mask_inputs_are_packed_with_flags():
    logits = np.full((16, 16), 3.0, np.float32)
    prompts = [Prompt.from_points([[1, 1]]),
               Prompt(points=np.zeros((0, 2), np.float32), labels=np.zeros(0, np.int32),
                      box=np.array([0, 0, 4, 4], np.float32), mask_input=logits)]
    masks, flags = pack_mask_inputs(prompts, (16, 16))
    assert masks.shape == (2, 1, 16, 16)
    np.testing.assert_array_equal(flags, [0, 1])
    assert masks[0].max() == 0 and masks[1].min() == 3.0
    with pytest.raises(ValueError, match="low-res logits"):
        pack_mask_inputs(prompts, (32, 32))
