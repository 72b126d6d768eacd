"""sensor_msgs images <-> numpy arrays, via cv_bridge where installed and an identical fallback.

`image_to_array` returns the image exactly as cv_bridge's `imgmsg_to_cv2(msg, "passthrough")` does
(same shape, dtype and values), so code downstream never depends on which path ran. Problems with
the message (unsupported encoding, short data, zero size, corrupt compressed bytes) raise
`ImageError` with a message naming the problem; the node logs it and carries on.

`to_engine_image` then turns any supported array into what the engine takes (uint8 RGB/BGR/mono).
"""

from __future__ import annotations

import array
import sys

import cv2
import numpy as np
from sensor_msgs.msg import CompressedImage, Image

from . import limits
from .limits import Limits

try:
    from cv_bridge import CvBridge
except ImportError:  # cv_bridge is optional: the numpy path below gives the same arrays
    CvBridge = None

#: supported encoding -> (dtype, channels)
ENCODINGS: dict[str, tuple[type, int]] = {
    "rgb8": (np.uint8, 3),
    "bgr8": (np.uint8, 3),
    "rgba8": (np.uint8, 4),
    "bgra8": (np.uint8, 4),
    "mono8": (np.uint8, 1),
    "8UC1": (np.uint8, 1),
    "8UC3": (np.uint8, 3),
    "mono16": (np.uint16, 1),
    "16UC1": (np.uint16, 1),
    "32SC1": (np.int32, 1),
    "32FC1": (np.float32, 1),
}
#: encodings a camera image may have (the others are depth images)
COLOR_ENCODINGS = ("rgb8", "bgr8", "rgba8", "bgra8", "mono8", "8UC1", "8UC3", "mono16")


class ImageError(ValueError):
    """An image message that cannot be turned into an array; the message says why."""


def _layout(msg: Image) -> tuple[np.dtype, int]:
    """dtype and channel count of a well-formed message; ImageError naming what is wrong."""
    if msg.encoding not in ENCODINGS:
        raise ImageError(
            f"unsupported encoding {msg.encoding!r}; supported: {', '.join(ENCODINGS)}"
        )
    dtype, channels = ENCODINGS[msg.encoding]
    dtype = np.dtype(dtype)
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height == 0 or width == 0:
        raise ImageError(f"empty image ({width}x{height})")
    row_bytes = width * channels * dtype.itemsize
    if step < row_bytes:
        raise ImageError(f"step {step} < {row_bytes} bytes needed by {width} {msg.encoding} pixels")
    if len(msg.data) < height * step:
        raise ImageError(
            f"data has {len(msg.data)} bytes, {height} rows x step {step} need {height * step}"
        )
    return dtype, channels


def image_to_array_numpy(msg: Image) -> np.ndarray:
    """The pixels as (H, W) or (H, W, C) array in native byte order, row padding removed."""
    dtype, channels = _layout(msg)
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    rows = np.frombuffer(msg.data, np.uint8, count=height * step).reshape(height, step)
    row_bytes = width * channels * dtype.itemsize
    wire = dtype.newbyteorder(">" if msg.is_bigendian else "<")
    pixels = np.ascontiguousarray(rows[:, :row_bytes]).view(wire).astype(dtype, copy=False)
    return pixels.reshape((height, width, channels) if channels > 1 else (height, width))


def image_to_array(msg: Image) -> np.ndarray:
    """Like `image_to_array_numpy`, through cv_bridge when it is installed."""
    if CvBridge is None:
        return image_to_array_numpy(msg)
    _layout(msg)  # cv_bridge would crash or read past the data on malformed messages
    pixels = CvBridge().imgmsg_to_cv2(msg, desired_encoding="passthrough")
    return pixels.astype(pixels.dtype.newbyteorder("="), copy=False)


def compressed_to_array(msg: CompressedImage) -> tuple[np.ndarray, str]:
    """Decoded jpeg/png pixels and their encoding (bgr8, bgra8, mono8 or mono16)."""
    data = np.frombuffer(msg.data, np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None or image.size == 0:
        raise ImageError(f"cannot decode {len(msg.data)} bytes of {msg.format or 'unknown'!r} data")
    if image.ndim == 2:
        return image, "mono16" if image.dtype == np.uint16 else "mono8"
    if image.dtype != np.uint8:  # 16-bit colour png
        image = (image >> 8).astype(np.uint8)
    return image, "bgra8" if image.shape[2] == 4 else "bgr8"


def _check_color_encoding(encoding: str) -> None:
    """ImageError listing exactly the encodings a camera image may have (not the depth ones)."""
    if encoding not in COLOR_ENCODINGS:
        raise ImageError(f"unsupported encoding {encoding!r} for a camera image: use one of "
                         f"{', '.join(COLOR_ENCODINGS)}")


def to_engine_image(pixels: np.ndarray, encoding: str) -> tuple[np.ndarray, str]:
    """uint8 image and its colour order ("rgb", "bgr" or "mono") for `SamEngine.encode`.

    Alpha is dropped; mono16 is stretched over the frame's own range, so 10/12-bit sensors that
    only use the low bits still give a contrasted image.
    """
    _check_color_encoding(encoding)
    if encoding in ("rgb8", "rgba8"):
        return np.ascontiguousarray(pixels[..., :3]), "rgb"
    if encoding in ("bgr8", "bgra8", "8UC3"):
        return np.ascontiguousarray(pixels[..., :3]), "bgr"
    if encoding == "mono16":
        low, high = int(pixels.min()), int(pixels.max())
        scale = 255.0 / max(high - low, 1)
        return ((pixels.astype(np.float32) - low) * scale).astype(np.uint8), "mono"
    return pixels, "mono"


def message_to_engine_image(
    msg: Image | CompressedImage, bounds: Limits = limits.DEFAULT, model_size: int = 0
) -> tuple[np.ndarray, str]:
    """A camera message (raw or compressed) as `to_engine_image` gives it: the node's and the
    offline bag tool's one image path, so both segment exactly the same pixels.

    The size is checked against `bounds` (and the model's input `model_size`) before anything is
    decoded or copied: from the message's width and height, or from the compressed header.
    """
    if isinstance(msg, CompressedImage):
        problem = limits.compressed_problem(bytes(msg.data), msg.format, bounds, model_size)
    else:
        problem = limits.image_problem(int(msg.width), int(msg.height), bounds, model_size)
    if problem:
        raise ImageError(problem)
    if isinstance(msg, CompressedImage):
        pixels, encoding = compressed_to_array(msg)
    else:
        _check_color_encoding(msg.encoding)
        pixels, encoding = image_to_array(msg), msg.encoding
    return to_engine_image(pixels, encoding)


def to_rgb(image: np.ndarray, color: str) -> np.ndarray:
    """uint8 RGB view of an engine image (for overlays)."""
    if color == "bgr":
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if color == "mono":
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    return image


def byte_array(pixels: np.ndarray) -> array.array:
    """The bytes of `pixels` as array('B'): rosidl checks any other sequence byte by byte."""
    data = array.array("B")
    data.frombytes(np.ascontiguousarray(pixels).tobytes())
    return data


def array_to_image(pixels: np.ndarray, encoding: str, header: object = None) -> Image:
    """An Image message holding `pixels` (no row padding, host byte order)."""
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(pixels.shape[0]), int(pixels.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = int(sys.byteorder == "big")
    contiguous = np.ascontiguousarray(pixels)
    msg.step = int(contiguous.strides[0])
    msg.data = byte_array(contiguous)
    return msg
