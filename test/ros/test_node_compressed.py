"""`image.transport: compressed`: jpeg/png frames are segmented, corrupt ones are skipped."""

from __future__ import annotations

import cv2
import pytest
from conftest import NodeHarness, random_model_parameters, wait_for
from sensor_msgs.msg import CompressedImage

from edgesam_ros.scenes.still import generate_scene

msg = pytest.importorskip("edgesam_ros.msg", reason="interfaces not built (run `make build`)")
pytestmark = pytest.mark.ros


@pytest.fixture(scope="module")
def node(ros_context):
    harness = NodeHarness(random_model_parameters(**{"image.transport": "compressed",
                                                     "log_throttle": 0.0}),
                          name="edgesam_compressed")
    assert harness.start()
    harness.results = harness.listen(msg.SegmentationArray, "/edgesam_compressed/segmentation")
    harness.images = harness.publisher(CompressedImage, "/image/compressed", "best_effort")
    yield harness
    harness.close()


def compressed(fmt: str, stamp: int, data: bytes | None = None) -> CompressedImage:
    bgr = generate_scene(1).image[..., ::-1]
    if data is None:
        data = cv2.imencode(".jpg" if fmt == "jpeg" else ".png", bgr)[1].tobytes()
    out = CompressedImage(format=fmt, data=data)
    out.header.stamp.sec = stamp
    return out


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_compressed_frames_are_segmented(node, fmt):
    frame = compressed(fmt, 1 if fmt == "jpeg" else 2)
    node.images.publish(frame)
    assert wait_for(lambda: any(r.header == frame.header for r in node.results))
    result = next(r for r in node.results if r.header == frame.header)
    assert (result.height, result.width) == (480, 640)


def test_corrupt_compressed_data_is_skipped(node, capfd):
    count = node.node._problems.counts["image"]
    node.images.publish(compressed("jpeg", 3, data=b"\xff\xd8 definitely not a jpeg"))
    assert wait_for(lambda: node.node._problems.counts["image"] > count)
    good = compressed("jpeg", 4)
    node.images.publish(good)
    assert wait_for(lambda: any(r.header == good.header for r in node.results))
    log = capfd.readouterr().err
    expected = "skipping an image from /image/compressed: cannot decode 24 bytes of 'jpeg' data"
    assert expected in log, log
