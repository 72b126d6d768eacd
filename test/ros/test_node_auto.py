"""Auto mode over rclpy: grid proposals (the test model has no RPN head) become objects."""

from __future__ import annotations

import pytest
from conftest import NodeHarness, random_model_parameters, wait_for
from sensor_msgs.msg import Image

from edgesam_ros.ros import convert
from edgesam_ros.scenes.still import generate_scene

msg = pytest.importorskip("edgesam_ros.msg", reason="interfaces not built (run `make build`)")
pytestmark = pytest.mark.ros
Seg = msg.ObjectSegmentation


@pytest.fixture(scope="module")
def node(ros_context):
    harness = NodeHarness(random_model_parameters(**{
        "mode": "auto", "max_objects": 5, "auto.min_stability": 0.0, "auto.min_new_area": 50,
        "auto.min_outside_share": 0.5, "tracker.min_stability": 0.0,
        "auto.min_proposal_score": 0.0,
    }), name="edgesam_auto")
    assert harness.start()
    harness.results = harness.listen(msg.SegmentationArray, "/edgesam_auto/segmentation")
    harness.images = harness.publisher(Image, "/image", "best_effort")
    harness.prompt = harness.publisher(msg.ObjectPrompt, "/edgesam_auto/prompt")
    yield harness
    harness.close()


def segment(node, stamp: int):
    image = convert.array_to_image(generate_scene(5).image, "rgb8")
    image.header.stamp.sec = stamp
    node.images.publish(image)
    assert wait_for(lambda: any(r.header == image.header for r in node.results))
    return next(r for r in node.results if r.header == image.header)


def test_auto_mode_finds_objects_without_prompts_and_caps_them(node):
    result = segment(node, 1)
    proposals = [o for o in result.objects if o.source == Seg.SOURCE_PROPOSAL]
    assert proposals, [o.status_message for o in result.objects]
    assert len([o for o in result.objects if o.state != Seg.STATE_REJECTED]) <= 5
    ids = {o.id for o in proposals}
    later = segment(node, 2)
    assert len({o.id for o in later.objects} | ids) <= 5  # tracked ones are not duplicated


def test_auto_mode_rejects_prompts_with_the_reason(node):
    node.prompt.publish(msg.ObjectPrompt(points=[msg.PromptPoint(x=5.0, y=5.0, label=1)]))
    result = segment(node, 3)
    rejected = [o for o in result.objects if o.state == Seg.STATE_REJECTED]
    assert rejected and "mode is auto" in rejected[0].status_message
