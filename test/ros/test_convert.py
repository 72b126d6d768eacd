"""Image messages <-> arrays: every encoding, padding, byte order, and every malformed message."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage, Image

from edgesam_ros.ros import convert

pytestmark = pytest.mark.ros
RNG = np.random.default_rng(0)

SAMPLES = {
    "rgb8": RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8),
    "bgr8": RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8),
    "rgba8": RNG.integers(0, 256, (5, 7, 4), dtype=np.uint8),
    "bgra8": RNG.integers(0, 256, (5, 7, 4), dtype=np.uint8),
    "mono8": RNG.integers(0, 256, (5, 7), dtype=np.uint8),
    "mono16": RNG.integers(0, 65536, (5, 7), dtype=np.uint16),
    "16UC1": RNG.integers(0, 65536, (5, 7), dtype=np.uint16),
    "32FC1": RNG.random((5, 7), dtype=np.float32),
}


def padded_message(pixels: np.ndarray, encoding: str, pad: int, big_endian: bool) -> Image:
    """A message with `pad` junk bytes after every row, in the requested byte order."""
    wire = pixels.astype(pixels.dtype.newbyteorder(">" if big_endian else "<"))
    rows = wire.reshape(pixels.shape[0], -1).view(np.uint8)
    data = np.hstack([rows, np.full((rows.shape[0], pad), 0xAB, np.uint8)])
    return Image(height=pixels.shape[0], width=pixels.shape[1], encoding=encoding,
                 is_bigendian=int(big_endian), step=data.shape[1], data=data.tobytes())


@pytest.mark.parametrize("encoding", SAMPLES)
@pytest.mark.parametrize("pad", [0, 5])
@pytest.mark.parametrize("big_endian", [False, True])
def test_fallback_reads_every_encoding_with_padding_and_byte_order(encoding, pad, big_endian):
    pixels = SAMPLES[encoding]
    got = convert.image_to_array_numpy(padded_message(pixels, encoding, pad, big_endian))
    assert got.dtype == pixels.dtype and got.dtype.isnative
    np.testing.assert_array_equal(got, pixels)


@pytest.mark.parametrize("encoding", SAMPLES)
def test_cv_bridge_and_fallback_give_identical_arrays(encoding):
    cv_bridge = pytest.importorskip("cv_bridge", reason="cv_bridge is not installed")
    message = padded_message(SAMPLES[encoding], encoding, 3, True)
    expected = cv_bridge.CvBridge().imgmsg_to_cv2(message, desired_encoding="passthrough")
    got = convert.image_to_array_numpy(message)
    assert got.shape == expected.shape and got.dtype == expected.dtype.newbyteorder("=")
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("encoding", SAMPLES)
def test_array_to_image_roundtrips(encoding):
    message = convert.array_to_image(SAMPLES[encoding], encoding)
    np.testing.assert_array_equal(convert.image_to_array(message), SAMPLES[encoding])


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (dict(encoding="yuv422"), "unsupported encoding"),
        (dict(height=0, width=0, data=b""), "empty image"),
        (dict(step=4), "step"),
        (dict(data=b"\0" * 10), "data has 10 bytes"),
    ],
)
def test_malformed_messages_raise_image_error_saying_why(change, reason):
    message = convert.array_to_image(SAMPLES["rgb8"], "rgb8")
    for key, value in change.items():
        setattr(message, key, value)
    for read in (convert.image_to_array, convert.image_to_array_numpy):
        with pytest.raises(convert.ImageError, match=reason):
            read(message)


@pytest.mark.parametrize(("fmt", "lossless"), [("png", True), ("jpeg", False)])
def test_compressed_images_decode(fmt, lossless):
    bgr = np.ascontiguousarray(np.tile(SAMPLES["bgr8"], (8, 8, 1)))
    ok, data = cv2.imencode(f".{'jpg' if fmt == 'jpeg' else fmt}", bgr)
    assert ok
    pixels, encoding = convert.compressed_to_array(CompressedImage(format=fmt, data=data.tobytes()))
    assert encoding == "bgr8" and pixels.shape == bgr.shape
    if lossless:
        np.testing.assert_array_equal(pixels, bgr)


@pytest.mark.parametrize("data", [b"", b"\xff\xd8\xff garbage", bytes(range(256))])
def test_corrupt_compressed_data_raises_image_error(data):
    with pytest.raises(convert.ImageError, match="cannot decode"):
        convert.compressed_to_array(CompressedImage(format="jpeg", data=data))


def test_engine_images_drop_alpha_keep_colour_order_and_stretch_mono16():
    rgb, color = convert.to_engine_image(SAMPLES["rgba8"], "rgba8")
    assert color == "rgb" and rgb.shape == (5, 7, 3) and rgb.flags.c_contiguous
    _, color = convert.to_engine_image(SAMPLES["bgra8"], "bgra8")
    assert color == "bgr"
    mono, color = convert.to_engine_image(np.array([[100, 200], [300, 400]], np.uint16), "mono16")
    assert color == "mono" and mono.dtype == np.uint8 and (mono.min(), mono.max()) == (0, 255)
    with pytest.raises(convert.ImageError) as error:
        convert.to_engine_image(SAMPLES["32FC1"], "32FC1")
    assert str(error.value) == ("unsupported encoding '32FC1' for a camera image: use one of "
                                "rgb8, bgr8, rgba8, bgra8, mono8, 8UC1, 8UC3, mono16")
