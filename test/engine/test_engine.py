"""End to end on the fake models: masks land where the prompts are, for every family."""

from __future__ import annotations

import itertools
import logging
import re

import numpy as np
import pytest
from onnx_fixtures import IOU_SCORES, PRESETS, RADII, expected_disk

from edgesam_ros.engine import EngineConfig, Prompt, SamEngine

FAMILY_PRESETS = list(PRESETS)
SIZES = [(480, 640), (640, 480)]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def box_mask(shape: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[box[1]:box[3], box[0]:box[2]] = True
    return mask


def frame_of(preset: str) -> int:
    return PRESETS[preset][1].prompt_frame


def blank(shape: tuple[int, int]) -> np.ndarray:
    return np.zeros((*shape, 3), np.uint8)


@pytest.mark.parametrize("preset", FAMILY_PRESETS)
@pytest.mark.parametrize("shape", SIZES)
def test_point_mask_lands_on_the_point(engine_for, preset, shape):
    engine = engine_for(preset)
    embedding = engine.encode(blank(shape))
    point = (shape[1] * 0.3, shape[0] * 0.6)
    (result,) = engine.decode(embedding, [Prompt.from_points([point])])
    # Each family's upstream rule: EdgeSAM takes the most stable of all 4 outputs (the largest
    # disk, mask 3), SAM-like families the best predicted IoU of 1-3 (mask 1); a single-mask
    # export has only its mask 0.
    if PRESETS[preset][1].mask_count == 1:
        radius = RADII[0]
    else:
        radius = RADII[3] if engine.info.family == "edgesam" else RADII[1]
    expected = expected_disk(shape, point, radius, frame_of(preset))
    assert iou(result.full_mask(shape), expected) > 0.95
    assert result.area == int(result.mask.sum()) > 0
    assert result.low_res_logits.shape == engine.info.low_res_size


@pytest.mark.parametrize("preset", FAMILY_PRESETS)
@pytest.mark.parametrize("shape", SIZES)
def test_box_mask_fills_the_box(engine_for, preset, shape):
    engine = engine_for(preset)
    box = (shape[1] // 5, shape[0] // 4, shape[1] // 2, shape[0] - 30)
    (result,) = engine.decode(engine.encode(blank(shape)), [Prompt.from_box(box)])
    assert iou(result.full_mask(shape), box_mask(shape, box)) > 0.98
    assert all(abs(a - b) <= 1 for a, b in zip(result.box, box, strict=True))


@pytest.mark.parametrize("shape", SIZES)
def test_box_touching_the_border(engine_for, shape):
    engine = engine_for("edgesam_official")
    h, w = shape
    embedding = engine.encode(blank(shape))
    whole, last_pixels = engine.decode(
        embedding, [Prompt.from_box([0, 0, w, h]), Prompt.from_box([w // 2, h // 2, w - 1, h - 1])]
    )
    assert whole.box == (0, 0, w, h) and whole.area == h * w
    x1, y1, x2, y2 = last_pixels.box
    assert abs(x1 - w // 2) <= 1 and abs(y1 - h // 2) <= 1
    assert x2 >= w - 1 and y2 >= h - 1


@pytest.mark.parametrize("shape", SIZES)
def test_points_at_the_image_edges(engine_for, shape):
    engine = engine_for("edgesam_ros")
    h, w = shape
    embedding = engine.encode(blank(shape))
    top_left, bottom_right = engine.decode(
        embedding, [Prompt.from_points([[0, 0]]), Prompt.from_points([[w - 1, h - 1]])]
    )
    assert top_left.box[:2] == (0, 0) and top_left.mask[0, 0]
    assert bottom_right.box[2:] == (w, h) and bottom_right.mask[-1, -1]
    for result, point in ((top_left, (0, 0)), (bottom_right, (w - 1, h - 1))):
        expected = expected_disk(shape, point, RADII[3], frame_of("edgesam_ros"))
        assert iou(result.full_mask(shape), expected) > 0.95


def test_selection_rule_and_score(engine_for):
    shape = (480, 640)
    point = (320.0, 240.0)
    edgesam = engine_for("edgesam_ros")
    sam = engine_for("edgesam_ros", selection="sam")
    stability = engine_for("edgesam_ros", selection="stability")
    assert (edgesam.selection, sam.selection, stability.selection) == (
        "edgesam", "sam", "stability")
    embedding = edgesam.encode(blank(shape))
    frame = frame_of("edgesam_ros")

    (stable,) = edgesam.decode(embedding, [Prompt.from_points([point])])
    assert iou(stable.full_mask(shape), expected_disk(shape, point, RADII[3], frame)) > 0.97
    assert stable.iou_prediction == pytest.approx(IOU_SCORES[3])

    (predicted,) = sam.decode(embedding, [Prompt.from_points([point])])
    assert iou(predicted.full_mask(shape), expected_disk(shape, point, RADII[1], frame)) > 0.95
    assert predicted.iou_prediction == pytest.approx(IOU_SCORES[1])
    assert predicted.stability < stable.stability  # the small disk is the least stable

    # Two points: EdgeSAM's rule still takes the most stable of all 4 (mask 3); SAM's and the
    # stability rule take output 0 (radius RADII[0] around the centroid).
    two = Prompt.from_points([[300, 240], [340, 240]])
    for engine, radius in ((edgesam, RADII[3]), (sam, RADII[0]), (stability, RADII[0])):
        (result,) = engine.decode(embedding, [two])
        assert iou(result.full_mask(shape), expected_disk(shape, point, radius, frame)) > 0.97
    # A box takes output 0 under every rule.
    box = (200, 150, 400, 350)
    for engine in (edgesam, sam, stability):
        (result,) = engine.decode(embedding, [Prompt.from_box(box)])
        assert iou(result.full_mask(shape), box_mask(shape, box)) > 0.97


def _count_decoder_calls(engine: SamEngine, monkeypatch) -> list[dict]:
    feeds: list[dict] = []
    session = engine._decoder
    original_run = session.run

    def run(names, feed):
        feeds.append(feed)
        return original_run(names, feed)

    monkeypatch.setattr(session, "run", run)
    return feeds


def test_one_decoder_call_per_token_count(model_pair, monkeypatch):
    """Plumbing on the fake decoder (which ignores -1 tokens, so it cannot show a padding
    effect; `test_batch_independence.py` checks the masks on a real decoder)."""
    base = EngineConfig(providers=("cpu",), intra_op_threads=1, warmup=False)
    batched = SamEngine(*model_pair("edgesam_ros"), base)
    looped = SamEngine(*model_pair("edgesam_ros", decoder={"batch": 1}), base)
    assert batched.info.batched and not looped.info.batched
    shape = (480, 640)
    prompts = [
        Prompt.from_points([[100, 100]]),
        Prompt(points=np.array([[400, 300], [50, 50]], np.float32),
               labels=np.array([1, 0], np.int32), box=np.array([350, 250, 450, 350], np.float32)),
        Prompt.from_box([300, 200, 500, 400]),
        Prompt.from_points([[600, 50], [620, 60]]),
    ]
    batched_feeds = _count_decoder_calls(batched, monkeypatch)
    looped_feeds = _count_decoder_calls(looped, monkeypatch)
    together = batched.decode(batched.encode(blank(shape)), prompts)
    one_by_one = looped.decode(looped.encode(blank(shape)), prompts)
    assert [f["point_coords"].shape for f in batched_feeds] == [(2, 2, 2), (1, 4, 2), (1, 3, 2)]
    assert batched.timings.decoder_calls == 3
    assert len(looped_feeds) == looped.timings.decoder_calls == 4
    for a, b in zip(together, one_by_one, strict=True):
        assert a.box == b.box
        np.testing.assert_array_equal(a.mask, b.mask)
        assert a.stability == pytest.approx(b.stability)
    expected_boxes = [looped.decode(looped.encode(blank(shape)), [p])[0].box for p in prompts]
    assert [r.box for r in together] == expected_boxes  # results come back in prompt order


def test_large_batches_are_split(model_pair, monkeypatch):
    config = EngineConfig(providers=("cpu",), warmup=False, max_decoder_batch=2)
    engine = SamEngine(*model_pair("edgesam_ros"), config)
    feeds = _count_decoder_calls(engine, monkeypatch)
    prompts = [Prompt.from_points([[10 * i + 5, 20]]) for i in range(5)]
    results = engine.decode(engine.encode(blank((64, 64))), prompts)
    assert [f["point_coords"].shape[0] for f in feeds] == [2, 2, 1]
    assert [r.box[0] < s.box[0] for r, s in itertools.pairwise(results)] == [True] * 4


def test_mask_input_reaches_a_decoder_that_has_it(engine_for):
    engine = engine_for("edgesam_ros")
    shape = (256, 256)
    embedding = engine.encode(blank(shape))
    previous = np.zeros(engine.info.low_res_size, np.float32)
    previous[40:50, 40:50] = 40.0  # the fake decoder adds it to mask 0: a region off the box
    box = [10, 10, 60, 60]
    plain, with_mask = engine.decode(embedding, [
        Prompt.from_box(box),
        Prompt(points=np.zeros((0, 2), np.float32), labels=np.zeros(0, np.int32),
               box=np.array(box, np.float32), mask_input=previous),
    ])
    assert all(abs(a - b) <= 1 for a, b in zip(plain.box, box, strict=True))
    assert with_mask.box[:2] == plain.box[:2]
    assert abs(with_mask.box[2] - 200) <= 2 and abs(with_mask.box[3] - 200) <= 2


def test_mask_input_is_ignored_with_a_warning_without_the_input(engine_for, caplog):
    engine = engine_for("edgesam_official")
    shape = (480, 640)
    embedding = engine.encode(blank(shape))
    logits = np.full(engine.info.low_res_size, 30.0, np.float32)
    prompt = Prompt(points=np.array([[320, 240]], np.float32), labels=np.array([1], np.int32),
                    mask_input=logits)
    with caplog.at_level(logging.WARNING, logger="edgesam_ros.engine"):
        (with_logits,) = engine.decode(embedding, [prompt])
        engine.decode(embedding, [prompt])
    (plain,) = engine.decode(embedding, [Prompt.from_points([[320, 240]])])
    warnings = [r for r in caplog.records if "no mask input" in r.getMessage()]
    assert len(warnings) <= 1  # at most once per engine (it may have warned in an earlier test)
    np.testing.assert_array_equal(with_logits.mask, plain.mask)


def test_sam_decoder_gets_orig_im_size_of_the_prompt_frame(engine_for, monkeypatch):
    engine = engine_for("sam")
    feeds = _count_decoder_calls(engine, monkeypatch)
    engine.decode(engine.encode(blank((480, 640))), [Prompt.from_points([[10, 10]])])
    np.testing.assert_array_equal(feeds[0]["orig_im_size"], [768, 1024])
    assert feeds[0]["orig_im_size"].dtype == np.float32
    np.testing.assert_array_equal(feeds[0]["point_labels"], [[1, -1]])  # padding point


def test_colour_orders_give_the_same_embedding(engine_for):
    engine = engine_for("edgesam_ros")
    rgb = np.random.default_rng(1).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    from_rgb = engine.encode(rgb).features
    np.testing.assert_array_equal(
        engine.encode(np.ascontiguousarray(rgb[..., ::-1]), color="bgr").features, from_rgb
    )
    gray = engine.encode(rgb[..., 1], color="mono").features
    assert gray.shape == from_rgb.shape and not np.array_equal(gray, from_rgb)


def test_empty_prompt_list_and_foreign_embedding(engine_for):
    engine = engine_for("edgesam_ros")
    embedding = engine.encode(blank((32, 32)))
    assert engine.decode(embedding, []) == []
    foreign = engine_for("edgesam_official").encode(blank((32, 32)))
    with pytest.raises(ValueError, match="another model"):
        engine.decode(foreign, [Prompt.from_points([[1, 1]])])


def test_timings_and_load_log(model_pair, caplog):
    with caplog.at_level(logging.INFO, logger="edgesam_ros.engine"):
        engine = SamEngine(*model_pair("edgesam_ros"),
                           EngineConfig(providers=("cpu",), intra_op_threads=1))
    loaded = [r.getMessage() for r in caplog.records if "loaded edgesam model" in r.getMessage()]
    assert len(loaded) == 1 and re.search(r"including \d+ ms of warm-up", loaded[0])
    assert "mask choice edgesam, neck upsampling not recorded" in loaded[0]
    assert engine.info.load_ms > 0
    assert engine.timings.encode_ms == 0 and engine.timings.decode_ms == 0  # warm-up not counted
    embedding = engine.encode(blank((120, 160)))
    assert engine.timings.preprocess_ms > 0 and engine.timings.encoder_ms > 0
    engine.decode(embedding, [Prompt.from_points([[5, 5]])])
    assert engine.timings.decoder_ms > 0 and engine.timings.postprocess_ms > 0
    assert engine.timings.decode_ms == pytest.approx(
        engine.timings.decoder_ms + engine.timings.postprocess_ms
    )


def test_bundled_engine_explains_how_to_get_a_model(monkeypatch, tmp_path):
    from edgesam_ros.engine import ModelError, bundled
    from edgesam_ros.engine import engine as engine_module

    monkeypatch.setattr(engine_module, "bundled_model_paths",
                        lambda: bundled.bundled_model_paths(tmp_path))
    with pytest.raises(ModelError, match=r"docs/deployment\.md"):
        SamEngine.bundled()
