"""Image preprocessing against upstream's, computed with Pillow itself, and the encoder sees it.

Upstream (SAM, EdgeSAM, MobileSAM, EfficientViT-SAM) resizes with torchvision's `resize` on a PIL
image, which calls Pillow's `Image.resize(size, BILINEAR)`; torchvision cannot be installed beside
this torch, so Pillow is the reference. Normalisation is upstream's float32 `(x - mean) / std`.
"""

from __future__ import annotations

import cv2
import numpy as np
import onnx_fixtures
import pytest
from PIL import Image

from edgesam_ros.engine import EngineConfig, LongestSide
from edgesam_ros.engine.preprocess import preprocess_image, resize_image
from edgesam_ros.engine.signatures import SAM_PIXEL_MEAN, SAM_PIXEL_STD

MEAN = np.array(SAM_PIXEL_MEAN)
STD = np.array(SAM_PIXEL_STD)


def upstream_resize(rgb: np.ndarray, size: int) -> np.ndarray:
    """ResizeLongestSide.apply_image: target int(x * scale + 0.5), Pillow bilinear."""
    h, w = rgb.shape[:2]
    scale = size * 1.0 / max(h, w)
    new_h, new_w = int(h * scale + 0.5), int(w * scale + 0.5)
    return np.asarray(Image.fromarray(rgb).resize((new_w, new_h), Image.BILINEAR))


def upstream_tensor(rgb: np.ndarray, size: int) -> np.ndarray:
    """Sam.preprocess in float32: (x - mean) / std, then zero-pad bottom/right."""
    resized = upstream_resize(rgb, size).astype(np.float32)
    normalised = (resized - MEAN.astype(np.float32)) / STD.astype(np.float32)
    padded = np.zeros((size, size, 3), np.float32)
    padded[: resized.shape[0], : resized.shape[1]] = normalised
    return padded.transpose(2, 0, 1)[None]


def cv2_reference(rgb: np.ndarray, size: int, interpolation: int) -> np.ndarray:
    """The "cv2" option in float64: cv2 resize, normalise each channel, np.pad."""
    h, w = rgb.shape[:2]
    scale = size / max(h, w)
    new_h, new_w = int(h * scale + 0.5), int(w * scale + 0.5)
    resized = cv2.resize(rgb, (new_w, new_h), interpolation=interpolation).astype(np.float64)
    channels = [(resized[..., c] - MEAN[c]) / STD[c] for c in range(3)]
    padded = [np.pad(ch, ((0, size - new_h), (0, size - new_w))) for ch in channels]
    return np.stack(padded)[None]


@pytest.fixture
def rgb() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (120, 90, 3), dtype=np.uint8)


def smooth_image(shape: tuple[int, int], seed: int) -> np.ndarray:
    """Random colour blobs plus noise: both the edges and the flat areas resizing must keep."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (max(shape[0] // 16, 2), max(shape[1] // 16, 2), 3), np.uint8)
    blobs = cv2.resize(small, shape[::-1], interpolation=cv2.INTER_CUBIC).astype(np.int16)
    noise = rng.integers(-20, 21, (*shape, 3))
    return np.clip(blobs + noise, 0, 255).astype(np.uint8)


#: (image shape, encoder size): enlarging, shrinking a little and a lot, odd sizes, equal size.
EXACT_CASES = [
    ((480, 640), 1024), ((640, 480), 1024), ((1080, 1920), 1024), ((1200, 1800), 1024),
    ((333, 500), 1024), ((480, 640), 512), ((720, 1280), 384), ((37, 100), 64),
    ((384, 300), 384), ((1001, 7), 256),
]


@pytest.mark.parametrize(("shape", "size"), EXACT_CASES)
def test_resize_and_tensor_equal_upstreams(shape, size):
    image = smooth_image(shape, seed=size + shape[0])
    frame = LongestSide(size)
    new_size = frame.resized_size(shape)
    np.testing.assert_array_equal(resize_image(image, new_size, "pillow"),
                                  upstream_resize(image, size))
    tensor = preprocess_image(image, "rgb", frame, MEAN, STD)
    assert tensor.shape == (1, 3, size, size) and tensor.dtype == np.float32
    np.testing.assert_array_equal(tensor, upstream_tensor(image, size))


@pytest.mark.parametrize(("shape", "size"), [((480, 640), 1024), ((1080, 1920), 1024),
                                             ((720, 1280), 384)])
def test_bgr_and_mono_give_upstreams_rgb_result(shape, size):
    image = smooth_image(shape, seed=1)
    frame = LongestSide(size)
    expected = upstream_tensor(image, size)
    bgr = np.ascontiguousarray(image[..., ::-1])
    np.testing.assert_array_equal(preprocess_image(bgr, "bgr", frame, MEAN, STD), expected)
    gray = np.ascontiguousarray(image[..., 1])
    as_rgb = upstream_tensor(np.repeat(gray[..., None], 3, axis=2), size)  # what a user feeds
    np.testing.assert_array_equal(preprocess_image(gray, "mono", frame, MEAN, STD), as_rgb)
    np.testing.assert_array_equal(preprocess_image(gray[..., None], "mono", frame, MEAN, STD),
                                  as_rgb)


def test_cv2_option_is_the_former_resize_and_not_exact():
    image = smooth_image((1200, 1800), seed=2)
    frame = LongestSide(1024)
    fast = preprocess_image(image, "rgb", frame, MEAN, STD, resize="cv2")
    np.testing.assert_allclose(fast, cv2_reference(image, 1024, cv2.INTER_AREA), atol=1e-5)
    enlarged = preprocess_image(image[:300, :400], "rgb", frame, MEAN, STD, resize="cv2")
    np.testing.assert_allclose(enlarged, cv2_reference(image[:300, :400], 1024, cv2.INTER_LINEAR),
                               atol=1e-5)
    size = frame.resized_size(image.shape[:2])
    gap = np.abs(resize_image(image, size, "cv2").astype(int)
                 - resize_image(image, size, "pillow").astype(int))
    assert gap.max() >= 5  # shrinking 1800 -> 1024: cv2's area filter is not Pillow's


def test_padding_is_zero_after_normalising(rgb):
    tensor = preprocess_image(rgb, "rgb", LongestSide(256), MEAN, STD)
    new_w = int(90 * 256 / 120 + 0.5)
    assert np.all(tensor[..., new_w:] == 0)
    assert np.all(tensor[..., :new_w] != 0)  # random pixels never equal the mean exactly


@pytest.mark.parametrize(
    ("image", "color", "message"),
    [
        (np.zeros((8, 8, 3), np.float32), "rgb", "uint8"),
        (np.zeros((8, 8), np.uint8), "rgb", "HxWx3"),
        (np.zeros((8, 8, 3), np.uint8), "mono", "HxW"),
        (np.zeros((8, 8, 4), np.uint8), "bgr", "HxWx3"),
        (np.zeros((8, 8, 3), np.uint8), "hsv", "color must be"),
    ],
)
def test_bad_images_are_rejected(image, color, message):
    with pytest.raises(ValueError, match=message):
        preprocess_image(image, color, LongestSide(64), MEAN, STD)


def test_unknown_resize_is_rejected():
    with pytest.raises(ValueError, match=r"resize must be one of \('pillow', 'cv2'\), got 'x'"):
        resize_image(np.zeros((8, 8, 3), np.uint8), (4, 4), "x")
    with pytest.raises(ValueError, match="resize must be one of"):
        EngineConfig(resize="x")


def test_encoder_receives_the_preprocessed_image(engine_for, rgb):
    engine = engine_for("edgesam_ros")
    spec = onnx_fixtures.PRESETS["edgesam_ros"][0]
    embedding = engine.encode(rgb)
    expected = onnx_fixtures.reference_embedding(spec, upstream_tensor(rgb, spec.image_size))
    assert embedding.original_size == (120, 90)
    np.testing.assert_allclose(embedding.features, expected, atol=1e-4)


def test_bench_preprocess_prints_both_methods(monkeypatch, capsys):
    from edgesam_ros.bench import preprocess_bench

    monkeypatch.setattr(preprocess_bench, "CAMERA_SIZES", ((48, 64), (300, 400)))
    assert preprocess_bench.main(["--rounds", "1", "--size", "96"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("| camera | encoder | pillow ms (exact) | cv2 ms (not exact) | "
                        "pillow / cv2 | max grey gap | mean grey gap |")
    rows = [line.strip("| ").split(" | ") for line in lines[2:]]
    assert [row[:2] for row in rows] == [["64x48", "96"], ["400x300", "96"]]
    assert int(rows[1][5]) > 0  # shrinking 400 -> 96: cv2's area filter is not Pillow's
    flat = np.full((300, 400, 3), 77, np.uint8)
    assert preprocess_bench.grey_level_gap(flat, LongestSide(96)) == (0, 0.0)
