"""Writing a dataset's files: frame images and label images as PNG (lossless), with OpenCV."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edgesam_ros.bags.errors import BagError

IMAGE_SUFFIX = ".png"


def frame_stem(stamp_ns: int) -> str:
    """A frame's file name without suffix: its header stamp in nanoseconds (unique within a
    camera topic, sorts in time order, and leads back to the bag)."""
    return f"{stamp_ns:019d}"


def write_png(path: Path, pixels: np.ndarray) -> None:
    """`pixels` as PNG: uint8 RGB (H, W, 3), or uint8 / uint16 (H, W) label images."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR) if pixels.ndim == 3 else pixels
    if not cv2.imwrite(str(path), data):
        raise BagError(f"cannot write {path}")
