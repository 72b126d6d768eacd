"""Every path that starts an object can give it a label: prompts, clicks, detections."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

pytest.importorskip("rclpy", reason="the message conversion uses the built interfaces")

from edgesam_ros.msg import ObjectPrompt
from geometry_msgs.msg import PointStamped

from edgesam_ros.ros import messages
from edgesam_ros.tracking import Source


def test_a_prompt_message_carries_its_label() -> None:
    request = messages.prompt_request(ObjectPrompt(label="mug", has_box=True, box=[1, 2, 3, 4]))
    assert (request.action, request.prompt.label) == ("add", "mug")


@pytest.mark.parametrize("label", ["", "cup"])
def test_a_click_is_labelled_with_the_click_label(label: str) -> None:
    click = PointStamped()
    click.point.x, click.point.y = 12.0, 34.0
    request = messages.click_request(click, label)
    assert request.prompt.label == label
    assert request.prompt.points.tolist() == [[12.0, 34.0]]


def _detection(class_id: str, score: float, nested: bool = True) -> SimpleNamespace:
    hypothesis = SimpleNamespace(class_id=class_id, score=score)
    return SimpleNamespace(hypothesis=hypothesis) if nested else SimpleNamespace(id=class_id,
                                                                                 score=score)


def test_a_detection_is_labelled_with_its_best_class() -> None:
    """vision_msgs >= Humble nests `hypothesis.class_id`; Foxy had `id` on the result itself."""
    centre = SimpleNamespace(position=SimpleNamespace(x=50.0, y=40.0))
    box = SimpleNamespace(center=centre, size_x=20.0, size_y=10.0)
    detections = [
        SimpleNamespace(bbox=box, results=[_detection("cat", 0.3), _detection("dog", 0.8)]),
        SimpleNamespace(bbox=box, results=[_detection("17", 0.5, nested=False)]),
        SimpleNamespace(bbox=box, results=[]),
    ]
    header = SimpleNamespace(stamp=SimpleNamespace(sec=1, nanosec=5), frame_id="camera")
    request = messages.detection_request(SimpleNamespace(header=header, detections=detections))
    assert [p.label for p in request.prompts] == ["dog", "17", ""]
    assert {p.source for p in request.prompts} == {Source.DETECTION}
    assert request.prompts[0].box.tolist() == [40.0, 35.0, 60.0, 45.0]
