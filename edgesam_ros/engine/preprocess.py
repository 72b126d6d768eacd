"""Turns a uint8 camera image into the encoder's input tensor, exactly as SAM/EdgeSAM do.

Upstream (segment-anything, EdgeSAM, MobileSAM, EfficientViT-SAM) resizes with torchvision's
`resize` on a PIL image, which is Pillow's `Image.resize(size, BILINEAR)`: Pillow widens the
filter by the scale factor when shrinking (antialiased) and rounds its fixed-point result to
uint8. The engine calls Pillow itself, so the resized image is upstream's byte for byte
(`resize="pillow"`, the default). `resize="cv2"` (INTER_AREA when shrinking, INTER_LINEAR when
enlarging) is faster but NOT exact: up to tens of grey levels apart when shrinking a lot, which
changes masks (`edgesam-ros bench preprocess` prints both costs).

Then as upstream: normalise with the pixel mean/std, zero-pad bottom/right (zero *after*
normalising, i.e. padding is the mean colour). The input is uint8, so normalising is a 256-entry
lookup per channel (cv2.LUT), computed in float32 like upstream's `(x - mean) / std`; colour order
is handled by picking the planes, so BGR and mono frames cost nothing extra (Pillow resizes every
band alone, so a band's result does not depend on its neighbours).
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from edgesam_ros.engine.config import RESIZES
from edgesam_ros.engine.transforms import LongestSide

COLORS = ("rgb", "bgr", "mono")


def check_image(image: np.ndarray, color: str) -> None:
    """Reject what the encoder cannot take, with a message a user can act on."""
    if color not in COLORS:
        raise ValueError(f"color must be one of {COLORS}, got {color!r}")
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError(f"image must be a uint8 numpy array, got {getattr(image, 'dtype', image)}")
    channels = 1 if image.ndim == 2 else image.shape[-1] if image.ndim == 3 else 0
    if channels != (1 if color == "mono" else 3) or min(image.shape[:2]) < 1:
        layout = "HxW" if color == "mono" else "HxWx3"
        raise ValueError(f"a {color} image must be {layout} uint8, got shape {image.shape}")


def normalisation_tables(pixel_mean: np.ndarray, pixel_std: np.ndarray) -> np.ndarray:
    """(3, 1, 256) float32: table[c, 0, v] = (v - mean[c]) / std[c] for RGB channel c, in float32
    arithmetic as upstream's torch preprocessing does it."""
    values = np.arange(256, dtype=np.float32)[None, :]
    mean = np.asarray(pixel_mean, dtype=np.float32)[:, None]
    std = np.asarray(pixel_std, dtype=np.float32)[:, None]
    return ((values - mean) / std)[:, None, :]


def rgb_planes(image: np.ndarray, color: str) -> list[np.ndarray]:
    """The R, G, B planes (contiguous uint8) of an RGB, BGR or mono image."""
    if color == "mono":
        plane = np.ascontiguousarray(image.reshape(image.shape[0], image.shape[1]))
        return [plane, plane, plane]
    planes = list(cv2.split(image))
    return planes[::-1] if color == "bgr" else planes


def resize_image(image: np.ndarray, size: tuple[int, int], method: str) -> np.ndarray:
    """`image` (HxW or HxWxC uint8) resized to (h, w) = `size` by `method` (`RESIZES`)."""
    if method not in RESIZES:
        raise ValueError(f"resize must be one of {RESIZES}, got {method!r}")
    new_h, new_w = size
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if method == "pillow":
        resized = Image.fromarray(np.ascontiguousarray(image)).resize(
            (new_w, new_h), Image.Resampling.BILINEAR)
        return np.asarray(resized)
    shrinking = new_h < image.shape[0]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, (new_w, new_h), interpolation=interpolation)


def preprocess_image(
    image: np.ndarray,
    color: str,
    frame: LongestSide,
    pixel_mean: np.ndarray,
    pixel_std: np.ndarray,
    resize: str = "pillow",
    dtype: np.dtype = np.float32,
) -> np.ndarray:
    """(1, 3, S, S) normalised, zero-padded tensor of `image` for an encoder of size S."""
    check_image(image, color)
    new_h, new_w = frame.resized_size(image.shape[:2])
    resized = resize_image(image, (new_h, new_w), resize)
    tables = normalisation_tables(pixel_mean, pixel_std)
    tensor = np.zeros((1, 3, frame.size, frame.size), dtype=dtype)
    for channel, plane in enumerate(rgb_planes(resized, color)):
        tensor[0, channel, :new_h, :new_w] = cv2.LUT(plane, tables[channel])
    return tensor
