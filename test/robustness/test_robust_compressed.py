"""Compressed images that lie about their size: refused from the header, before any decoding.

A 650-byte JPEG claiming 16000x16000 pixels used to be decoded (RSS 156 -> 1380 MB) and
segmented; now the node reads the size from the header, refuses it naming the limit, and its
memory does not move.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from node_process import wait_for
from robust_node import Client, frame, start_node
from sensor_msgs.msg import CompressedImage

pytestmark = pytest.mark.ros
NAME = "robust_compressed"
TOPIC = "/image/compressed"


def _encoded(ext: str, pixels: np.ndarray) -> bytes:
    return cv2.imencode(ext, pixels)[1].tobytes()


def lying_jpeg(width: int, height: int) -> bytes:
    data = bytearray(_encoded(".jpg", np.zeros((8, 8, 3), np.uint8)))
    start = data.index(b"\xff\xc0")
    data[start + 5:start + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def lying_png(width: int, height: int) -> bytes:
    data = bytearray(_encoded(".png", np.zeros((8, 8, 3), np.uint8)))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def compressed(data: bytes, fmt: str = "jpeg") -> CompressedImage:
    out = CompressedImage(format=fmt, data=data)
    out.header = frame().header
    return out


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@pytest.fixture(scope="module")
def node():
    process = start_node(NAME, "-p", "image.transport:=compressed", "-p", "log_throttle:=0.0",
                         "-p", "diagnostics.period:=0.2")
    assert f"active: segmenting {TOPIC}" in process.line("active")
    client = Client(NAME)
    yield process, client
    client.close()
    assert process.stop() == 0, "".join(process.lines)
    assert not any("Traceback" in line for line in process.lines), "".join(process.lines)


def _good(client: Client) -> None:
    good = compressed(_encoded(".jpg", np.full((48, 64, 3), 90, np.uint8)))
    assert client.result_for(good, TOPIC).header == good.header


@pytest.mark.parametrize(("data", "fmt", "says"), [
    (lying_jpeg(16000, 16000), "jpeg", "image header claims over 178956970 pixels > "
                                       "limits.max_image_pixels (25000000)"),
    (lying_png(20000, 20000), "png", "image header claims over 178956970 pixels"),
    (lying_jpeg(6000, 5000), "jpeg", "6000x5000 image has 30000000 pixels > "
                                     "limits.max_image_pixels (25000000)"),
    (_encoded(".png", np.zeros((1, 5000), np.uint8)), "png", "5000x1 image is too thin"),
    (b"\xff\xd8 definitely not a jpeg", "jpeg", "cannot decode 24 bytes of 'jpeg' data"),
], ids=["jpeg-16k", "png-20k", "jpeg-30mp", "png-thin", "garbage"])
def test_lying_or_broken_compressed_images_are_refused_from_the_header(node, data, fmt, says):
    process, client = node
    _good(client)  # memory is measured after the node has done real work
    before, mark, count = rss_mb(process.process.pid), process.mark(), client.counter(
        "image problems")
    client.publish_image(compressed(data, fmt), TOPIC)
    line = process.line(says, mark)
    assert f"skipping an image from {TOPIC}: {says}" in line
    assert wait_for(lambda: client.counter("image problems") > count)
    _good(client)
    assert rss_mb(process.process.pid) - before < 50  # nothing was decoded
