"""Limits on what one message can make the node allocate: checked before decoding or copying."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage

from edgesam_ros.ros import convert, params
from edgesam_ros.ros.limits import Limits, compressed_problem, count_problem, image_problem


def lying_jpeg(width: int, height: int) -> bytes:
    """A valid 8x8 JPEG whose frame header (SOF0) claims width x height pixels."""
    data = bytearray(cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes())
    start = data.index(b"\xff\xc0")
    data[start + 5:start + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def lying_png(width: int, height: int) -> bytes:
    """A valid 8x8 PNG whose IHDR chunk (with a correct CRC) claims width x height pixels."""
    data = bytearray(cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))[1].tobytes())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (lying_jpeg(16000, 16000), "image header claims over 178956970 pixels > "
                                   "limits.max_image_pixels (25000000)"),
        (lying_jpeg(6000, 5000), "6000x5000 image has 30000000 pixels > limits.max_image_pixels "
                                 "(25000000)"),
        (lying_png(20000, 1300), "20000x1300 image has 26000000 pixels > "
                                 "limits.max_image_pixels (25000000)"),
        (lying_png(5000, 1), "5000x1 image is too thin: its short side would be 0 pixels when "
                             "the long side is resized to the model's 1024; the short side must "
                             "be at least 3 pixels"),
        (b"\xff\xd8garbage", "cannot decode 9 bytes of 'jpeg' data (no image size in a header)"),
    ],
    ids=["jpeg-bomb", "jpeg-30mp", "png-26mp", "png-thin", "garbage"],
)
def test_compressed_images_are_measured_from_their_header(data, expected):
    assert compressed_problem(data, "jpeg", Limits(), 1024) == expected


def test_honest_compressed_images_pass():
    data = cv2.imencode(".png", np.zeros((480, 640), np.uint8))[1].tobytes()
    assert compressed_problem(data, "png", Limits(), 1024) == ""


def test_hostile_compressed_images_are_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(cv2, "imdecode", lambda *a: pytest.fail("decoded a refused image"))
    msg = CompressedImage(format="jpeg", data=lying_jpeg(16000, 16000))
    with pytest.raises(convert.ImageError, match="image header claims over"):
        convert.message_to_engine_image(msg)


def test_raw_images_are_measured_from_width_and_height_before_reading_the_data():
    msg = convert.array_to_image(np.zeros((2, 2, 3), np.uint8), "rgb8")
    msg.width, msg.height = 10000, 10000  # the data is short too: the size is refused first
    with pytest.raises(convert.ImageError, match=r"^10000x10000 image has 100000000 pixels > "):
        convert.message_to_engine_image(msg)


@pytest.mark.parametrize(
    ("width", "height", "model", "least"),
    [(5000, 1, 1024, 3), (1, 5000, 1024, 3), (3000, 2, 512, 3), (3000, 3, 256, 6)],
)
def test_thin_images_name_their_size_and_the_least_short_side(width, height, model, least):
    problem = image_problem(width, height, Limits(), model)
    assert problem.startswith(f"{width}x{height} image is too thin")
    assert problem.endswith(f"the short side must be at least {least} pixels")
    size = (width, least) if width > height else (least, height)
    assert image_problem(*size, Limits(), model) == ""  # the bound it names is accepted


def test_thin_image_bound_matches_the_engine_rounding():
    from edgesam_ros.engine.transforms import LongestSide

    for long in range(1, 3000, 7):
        for short in range(1, 8):
            refused = bool(image_problem(long, short, Limits(), 512))
            assert refused == (min(LongestSide(512).resized_size((short, long))) < 1)


def test_message_counts_are_bounded():
    assert count_problem(100, "prompts", Limits()) == ""
    assert count_problem(101, "detections", Limits()) == (
        "101 detections in one message > limits.max_prompts (100): split it")


def test_limits_parameters_build_the_limits_and_are_bounded():
    values = params.validate({p.name: p.default for p in params.PARAMS})
    assert params.limits(values) == Limits()
    assert params.settings({**values, "limits.max_points": 3}).limits.max_points == 3
    with pytest.raises(params.ParameterError, match=r"limits.max_points = 0: expected an integer "
                                                    r"in \[1, 10000\]"):
        params.validate({**values, "limits.max_points": 0})


def test_the_model_pair_is_checked_at_configure_not_per_parameter():
    values = {**{p.name: p.default for p in params.PARAMS}, "model.encoder": "/m/encoder.onnx"}
    assert params.validate(values, at_configure=False)["model.encoder"] == "/m/encoder.onnx"
    with pytest.raises(params.ParameterError, match="must both be set"):
        params.validate(values)
