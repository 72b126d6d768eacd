"""Image preprocessing against a plain per-channel reference, and the encoder sees it."""

from __future__ import annotations

import cv2
import numpy as np
import onnx_fixtures
import pytest

from edgesam_ros.engine import LongestSide
from edgesam_ros.engine.preprocess import preprocess_image
from edgesam_ros.engine.signatures import SAM_PIXEL_MEAN, SAM_PIXEL_STD

MEAN = np.array(SAM_PIXEL_MEAN)
STD = np.array(SAM_PIXEL_STD)


def reference(rgb: np.ndarray, size: int, interpolation: int) -> np.ndarray:
    """Straightforward SAM preprocessing in float64: resize, normalise each channel, np.pad."""
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


@pytest.mark.parametrize(("size", "interpolation"), [(256, cv2.INTER_LINEAR),
                                                      (64, cv2.INTER_AREA)])
def test_matches_reference(rgb, size, interpolation):
    tensor = preprocess_image(rgb, "rgb", LongestSide(size), MEAN, STD, antialias=True)
    assert tensor.shape == (1, 3, size, size) and tensor.dtype == np.float32
    np.testing.assert_allclose(tensor, reference(rgb, size, interpolation), atol=1e-5)


def test_padding_is_zero_after_normalising(rgb):
    tensor = preprocess_image(rgb, "rgb", LongestSide(256), MEAN, STD, antialias=True)
    new_w = int(90 * 256 / 120 + 0.5)
    assert np.all(tensor[..., new_w:] == 0)
    assert np.all(tensor[..., :new_w] != 0)  # random pixels never equal the mean exactly


def test_bgr_and_mono_give_the_rgb_result(rgb):
    frame = LongestSide(128)
    expected = preprocess_image(rgb, "rgb", frame, MEAN, STD, antialias=True)
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    np.testing.assert_array_equal(
        preprocess_image(bgr, "bgr", frame, MEAN, STD, antialias=True), expected
    )
    gray = rgb[..., 0]
    mono = preprocess_image(gray, "mono", frame, MEAN, STD, antialias=True)
    np.testing.assert_allclose(
        mono, reference(np.repeat(gray[..., None], 3, axis=2), 128, cv2.INTER_LINEAR), atol=1e-5
    )
    mono_3d = preprocess_image(gray[..., None], "mono", frame, MEAN, STD, antialias=True)
    np.testing.assert_array_equal(mono_3d, mono)


def test_antialias_off_uses_bilinear_downscale(rgb):
    tensor = preprocess_image(rgb, "rgb", LongestSide(64), MEAN, STD, antialias=False)
    np.testing.assert_allclose(tensor, reference(rgb, 64, cv2.INTER_LINEAR), atol=1e-5)


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
        preprocess_image(image, color, LongestSide(64), MEAN, STD, antialias=True)


def test_encoder_receives_the_preprocessed_image(engine_for, rgb):
    engine = engine_for("edgesam_ros")
    spec = onnx_fixtures.PRESETS["edgesam_ros"][0]
    embedding = engine.encode(rgb)
    expected = onnx_fixtures.reference_embedding(
        spec, reference(rgb, spec.image_size, cv2.INTER_LINEAR)
    )
    assert embedding.original_size == (120, 90)
    np.testing.assert_allclose(embedding.features, expected, atol=1e-4)
