"""Bounds on what one message can make the node allocate or compute, checked before the work.

A single message must never stall or blind the node: 10,000 points in one prompt took a frame
9 s and 3.9 GB, 100,000 made every later frame fail; a 650-byte JPEG claiming 16000x16000
pixels decoded to 768 MB; two 16 MB labels, copied into every result, quadrupled latency.
So every size a message chooses is checked against a `Limits` value first, and what is over a
limit is refused with a reason naming the limit (the node logs it, counts it and, for prompts,
reports it as a rejected result) while everything else goes on.

Compressed images are measured from their header alone: Pillow's `Image.open` parses the header
and defers decoding until pixels are asked for, so a hostile file costs a few bytes of parsing.

This module is ROS-free: the node and `segment-bag` apply the same limits.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from edgesam_ros.tracking import UserPrompt


@dataclass(frozen=True)
class Limits:
    """The bounds (node parameters `limits.*`; the defaults are generous for real use)."""

    max_points: int = 64  # points of one prompt, and of one object's refinements per frame
    max_prompts: int = 100  # prompts (or detections) in one message
    max_label_length: int = 256  # characters of a prompt's label
    max_image_pixels: int = 25_000_000  # width x height of an image (25 MP: 5472x3648 fits)
    max_pending_prompts: int = 10_000  # prompts waiting for a frame


DEFAULT = Limits()


def prompt_problem(prompt: UserPrompt, limits: Limits) -> str:
    """Why `prompt` exceeds a limit, or ""."""
    if len(prompt.points) > limits.max_points:
        return (f"{len(prompt.points)} points > limits.max_points ({limits.max_points}): "
                "send fewer points")
    if len(prompt.label) > limits.max_label_length:
        return (f"label of {len(prompt.label)} characters > limits.max_label_length "
                f"({limits.max_label_length})")
    return ""


def count_problem(count: int, what: str, limits: Limits) -> str:
    """Why a message with `count` prompts or detections is refused as a whole, or ""."""
    if count > limits.max_prompts:
        return (f"{count} {what} in one message > limits.max_prompts ({limits.max_prompts}): "
                "split it")
    return ""


def image_problem(width: int, height: int, limits: Limits, model_size: int = 0) -> str:
    """Why a `width` x `height` image is refused, or "".

    Too many pixels (limits.max_image_pixels), or so thin that its short side would vanish when
    the long side is scaled to the model's `model_size` (the engine's rounding, int(x + 0.5)).
    """
    if width * height > limits.max_image_pixels:
        return (f"{width}x{height} image has {width * height} pixels > limits.max_image_pixels "
                f"({limits.max_image_pixels})")
    if model_size and width and height:
        short, long = sorted((width, height))
        if int(short * (model_size * 1.0 / long) + 0.5) < 1:
            least = math.ceil(long / (2 * model_size))
            return (f"{width}x{height} image is too thin: its short side would be 0 pixels when "
                    f"the long side is resized to the model's {model_size}; the short side must "
                    f"be at least {least} pixels")
    return ""


#: The largest image Pillow reads a header of (twice its decompression-bomb threshold): the
#: ceiling of `limits.max_image_pixels`, since compressed sizes are judged from the header.
MAX_HEADER_PIXELS = 2 * Image.MAX_IMAGE_PIXELS


def compressed_problem(data: bytes, fmt: str, limits: Limits, model_size: int = 0) -> str:
    """Why compressed image bytes are refused, judged from their header alone, or "".

    Bytes whose size Pillow cannot read are refused too: the decoder must never be the first to
    learn how large an image is.
    """
    try:
        with warnings.catch_warnings():  # over 89 MP Pillow warns; the limit decides here
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        return (f"image header claims over {MAX_HEADER_PIXELS} pixels > "
                f"limits.max_image_pixels ({limits.max_image_pixels})")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return f"cannot decode {len(data)} bytes of {fmt!r} data (no image size in a header)"
    return image_problem(width, height, limits, model_size)
