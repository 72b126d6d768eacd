"""Every interface of the package survives a real rclpy publish/subscribe over the default RMW."""

from __future__ import annotations

import numpy as np
import pytest

msg = pytest.importorskip("edgesam_ros.msg", reason="interfaces not built (run `make build`)")
pytestmark = pytest.mark.ros


def _stamped(message, sec: int = 12, nanosec: int = 345) -> None:
    message.header.stamp.sec = sec
    message.header.stamp.nanosec = nanosec
    message.header.frame_id = "camera_color_optical_frame"


def make_prompt(object_id: int = 7) -> msg.ObjectPrompt:
    prompt = msg.ObjectPrompt()
    _stamped(prompt)
    prompt.action = msg.ObjectPrompt.ACTION_REFINE
    prompt.object_id = object_id
    prompt.label = "mug"
    prompt.points = [
        msg.PromptPoint(x=10.5, y=20.25, label=msg.PromptPoint.LABEL_FOREGROUND),
        msg.PromptPoint(x=30.0, y=40.0, label=msg.PromptPoint.LABEL_BACKGROUND),
    ]
    prompt.has_box = True
    prompt.box = np.array([1.0, 2.0, 300.5, 200.25], dtype=np.float32)
    prompt.track = True
    return prompt


def make_segmentation_array() -> msg.SegmentationArray:
    result = msg.SegmentationArray()
    _stamped(result, 99, 1234)
    result.height, result.width = 48, 64
    obj = msg.ObjectSegmentation()
    obj.id = 3
    obj.label = "box"
    obj.state = msg.ObjectSegmentation.STATE_LOST
    obj.source = msg.ObjectSegmentation.SOURCE_PROPOSAL
    obj.predicted_iou = 0.75
    obj.stability_score = 0.875
    obj.box.x_offset, obj.box.y_offset, obj.box.width, obj.box.height = 5, 6, 4, 3
    obj.mask = bytes([0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 1, 0])
    obj.area = 7
    obj.status_message = "coasting on the motion model"
    result.objects = [
        obj,
        msg.ObjectSegmentation(id=4, state=msg.ObjectSegmentation.STATE_REJECTED),
    ]
    result.encoder_ms, result.decoder_ms, result.total_ms = 12.5, 3.25, 20.0
    return result


def roundtrip(node, spin_until, msg_type, message):
    """Publish `message` on a fresh topic and return what a subscriber receives."""
    topic = f"/roundtrip_{msg_type.__name__.lower()}"
    received = []
    node.create_subscription(msg_type, topic, received.append, 10)
    publisher = node.create_publisher(msg_type, topic, 10)
    assert spin_until(node, lambda: publisher.get_subscription_count() > 0)
    publisher.publish(message)
    assert spin_until(node, lambda: bool(received)), f"nothing received on {topic}"
    return received[0]


@pytest.mark.parametrize(
    ("msg_name", "factory"),
    [
        ("PromptPoint", lambda: msg.PromptPoint(x=1.5, y=-2.0, label=1)),
        ("ObjectPrompt", make_prompt),
        (
            "ObjectPromptArray",
            lambda: msg.ObjectPromptArray(prompts=[make_prompt(1), make_prompt(2)]),
        ),
        ("ObjectSegmentation", lambda: make_segmentation_array().objects[0]),
        ("SegmentationArray", make_segmentation_array),
    ],
)
def test_interface_roundtrip_preserves_every_field(ros_node, spin_until, msg_name, factory):
    msg_type = getattr(msg, msg_name)
    sent = factory()
    got = roundtrip(ros_node, spin_until, msg_type, sent)
    assert got == sent
    # Equality must be able to fail: a changed field is noticed.
    changed = factory()
    first_field = next(iter(msg_type.get_fields_and_field_types()))
    value = getattr(changed, first_field)
    if isinstance(value, float | int) and not isinstance(value, bool):
        setattr(changed, first_field, value + 1)
        assert got != changed


def test_cropped_mask_rebuilds_full_size_mask():
    """The documented recipe in ObjectSegmentation.msg gives back the full-size mask."""
    result = make_segmentation_array()
    obj = result.objects[0]
    full = np.zeros((result.height, result.width), np.uint8)
    crop = np.frombuffer(bytes(obj.mask), np.uint8).reshape(obj.box.height, obj.box.width)
    full[
        obj.box.y_offset : obj.box.y_offset + obj.box.height,
        obj.box.x_offset : obj.box.x_offset + obj.box.width,
    ] = crop
    assert int(full.sum()) == obj.area
    assert full[6, 6] == 1 and full[6, 5] == 0
