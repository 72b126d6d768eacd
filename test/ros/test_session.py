"""The node's ROS-free frame logic: prompt timing, modes, detections, grid proposals, settings.

A fake engine whose "world" is a few rectangles keeps these tests exact and fast: a prompt whose
positive point or box centre falls in a rectangle gets that rectangle as its mask.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest
from std_msgs.msg import Header

from edgesam_ros.engine import Embedding, MaskResult
from edgesam_ros.ros.session import (
    ClearRequest,
    DetectionRequest,
    PromptRequest,
    Session,
    Settings,
)
from edgesam_ros.tracking import Source, State, TrackerConfig, UserPrompt

RECTS = [(40, 40, 120, 120), (200, 60, 300, 160), (60, 250, 200, 330), (400, 300, 560, 420)]
SIZE = (480, 640)
S = 1_000_000_000


class RectEngine:
    info = SimpleNamespace(has_proposals=False, has_mask_input=False)

    def encode(self, image, color="rgb"):
        return Embedding(np.zeros((1, 1, 1, 1), np.float32), image.shape[:2])

    def decode(self, embedding, prompts):
        return [self._mask(p) for p in prompts]

    @staticmethod
    def _mask(prompt):
        if prompt.box is not None:
            x, y = (prompt.box[:2] + prompt.box[2:]) / 2
        else:
            x, y = prompt.points[prompt.labels == 1][0]
        for x1, y1, x2, y2 in RECTS:
            if x1 <= x < x2 and y1 <= y < y2:
                mask = np.ones((y2 - y1, x2 - x1), bool)
                return MaskResult((x1, y1, x2, y2), mask, 0.9, 0.95, mask.size, np.zeros((4, 4)))
        return MaskResult((0, 0, 0, 0), np.zeros((0, 0), bool), 0.0, 0.0, 0, np.zeros((4, 4)))


IMAGE = np.zeros((*SIZE, 3), np.uint8)


def session(**settings) -> Session:
    return Session(RectEngine(), Settings(**settings))


def add(x, y, stamp_ns=0, **kw) -> PromptRequest:
    return PromptRequest("add", UserPrompt(points=[[x, y]], labels=[1], **kw), stamp_ns)


def test_prompt_for_a_future_frame_waits_for_it():
    s = session()
    s.submit(add(80, 80, stamp_ns=3 * S))
    assert s.process(IMAGE, "rgb", 2 * S).result.objects == []
    objects = s.process(IMAGE, "rgb", 3 * S).result.objects
    assert [o.state for o in objects] == [State.NEW]
    assert objects[0].mask.box == RECTS[0]


def test_late_prompt_gets_a_note_and_a_too_old_one_is_rejected():
    s = session(max_prompt_age_ns=2 * S)
    s.submit(add(80, 80, stamp_ns=9 * S))
    s.submit(add(250, 100, stamp_ns=1 * S))
    outcome = s.process(IMAGE, "rgb", 10 * S)
    assert "late prompt" in outcome.notes[outcome.result.objects[0].id]
    assert len(outcome.result.objects) == 1
    assert [r.action for r in outcome.rejected] == ["add"]
    assert "older than the current" in outcome.rejected[0].reason


def test_auto_mode_rejects_new_prompts_and_starts_objects_from_grid_proposals():
    s = session(mode="auto", auto_interval=2, grid_points=8,
                tracker=TrackerConfig(auto=True, min_new_area=100))
    s.submit(add(80, 80))
    first = s.process(IMAGE, "rgb", S)
    assert "mode is auto" in first.rejected[0].reason
    found = {o.mask.box for o in first.result.objects if o.mask is not None}
    assert found == set(RECTS)
    assert all(o.source is Source.PROPOSAL for o in first.result.objects)
    again = s.process(IMAGE, "rgb", 2 * S)  # no duplicates of tracked objects
    assert len(again.result.objects) == len(RECTS)


def test_auto_objects_are_capped_by_max_objects():
    s = session(mode="both", tracker=TrackerConfig(auto=True, max_objects=2, min_new_area=100))
    assert len(s.process(IMAGE, "rgb", S).result.objects) == 2


def test_detections_start_objects_once_and_respect_max_objects():
    s = session(tracker=TrackerConfig(max_objects=2))
    boxes = [RECTS[0], RECTS[1], RECTS[2]]
    detections = DetectionRequest(tuple(
        UserPrompt(box=b, label="cup", source=Source.DETECTION) for b in boxes))
    s.submit(detections)
    outcome = s.process(IMAGE, "rgb", S)
    assert len(outcome.result.objects) == 2
    assert "max_objects" in outcome.rejected[0].reason
    s.submit(DetectionRequest(detections.prompts[:2]))  # the same boxes again: no new objects
    assert len(s.process(IMAGE, "rgb", 2 * S).result.objects) == 2


def test_clear_and_settings_requests_apply_in_order():
    s = session()
    s.submit(add(80, 80))
    s.process(IMAGE, "rgb", S)
    s.submit(ClearRequest())
    s.submit(add(250, 100))
    new_config = dataclasses.replace(TrackerConfig(), min_stability=0.99)
    s.submit(Settings(tracker=new_config))
    outcome = s.process(IMAGE, "rgb", 2 * S)
    assert [o.status for o in outcome.result.removed] == ["cleared"]
    assert [o.mask.box for o in outcome.result.objects] == [RECTS[1]]
    assert s.tracker.config.min_stability == 0.99


@pytest.mark.parametrize("action", ["explode", "action 9"])
def test_unknown_actions_are_rejected(action):
    s = session()
    s.submit(PromptRequest(action, UserPrompt(points=[[1, 1]], labels=[1])))
    assert "unknown action" in s.process(IMAGE, "rgb", S).rejected[0].reason


def test_both_mode_takes_prompts_and_proposals_without_duplicates():
    s = session(mode="both", auto_interval=1,
                tracker=TrackerConfig(auto=True, max_objects=10, min_new_area=100))
    s.submit(add(80, 80, label="mine"))  # inside RECTS[0], which a proposal would also find
    first = s.process(IMAGE, "rgb", S)
    assert not first.rejected
    sources = sorted((o.source, o.mask.box) for o in first.result.objects)
    assert (Source.USER, RECTS[0]) in sources
    assert {box for _, box in sources} == set(RECTS)
    assert len(sources) == len(RECTS)  # the prompted rectangle is not proposed again
    assert len(s.process(IMAGE, "rgb", 2 * S).result.objects) == len(RECTS)


def test_prompts_beyond_max_objects_are_rejected_saying_why():
    s = session(tracker=TrackerConfig(max_objects=2))
    for x, y in [(80, 80), (250, 100), (100, 300)]:
        s.submit(add(x, y))
    outcome = s.process(IMAGE, "rgb", S)
    assert len(outcome.result.objects) == 2
    assert [r.action for r in outcome.rejected] == ["add"]
    assert "max_objects (2)" in outcome.rejected[0].reason
    s.submit(PromptRequest("remove", UserPrompt(object_id=outcome.result.objects[0].id)))
    s.submit(add(100, 300))  # room again after a removal
    again = s.process(IMAGE, "rgb", 2 * S)
    assert not again.rejected and len(again.result.objects) == 2


@pytest.mark.parametrize(("top", "encoding"), [(255, "mono8"), (256, "mono16"),
                                               (65535, "mono16"), (65536, "32SC1")])
def test_id_image_encoding_is_the_narrowest_that_holds_every_id(top, encoding):
    from edgesam_ros.ros import convert
    from edgesam_ros.ros.messages import id_image

    ids = np.zeros((4, 5), np.int64)
    ids[1, 2] = top
    msg = id_image(Header(), ids)
    assert msg.encoding == encoding
    np.testing.assert_array_equal(convert.image_to_array(msg), ids)


# ---------------------------------------------------------------------- limits and hostile input


def refine(object_id, count, stamp_ns=0) -> PromptRequest:
    points = [[80 + i % 10, 80 + i // 10 % 10] for i in range(count)]
    prompt = UserPrompt(points=points, labels=[1] * count, object_id=object_id)
    return PromptRequest("refine", prompt, stamp_ns)


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (PromptRequest("add", UserPrompt(points=[[80, 80]] * 65, labels=[1] * 65)),
         "add rejected: 65 points > limits.max_points (64): send fewer points"),
        (add(80, 80, label="x" * 257),
         "add rejected: label of 257 characters > limits.max_label_length (256)"),
        (PromptRequest("add", UserPrompt(points=[[80, 80]], labels=[1]), 0, "other_camera"),
         "add rejected: prompt frame_id 'other_camera' is not the image's 'camera': its pixels "
         "belong to another camera (leave frame_id empty to apply to any)"),
    ],
    ids=["points", "label", "frame_id"],
)
def test_prompts_over_a_limit_or_for_another_camera_are_rejected_and_nothing_else(
    request_, reason
):
    from edgesam_ros.ros.messages import rejected_segmentation

    s = session()
    s.submit(add(250, 100))
    s.submit(request_)
    outcome = s.process(IMAGE, "rgb", S, "camera")
    assert [o.mask.box for o in outcome.result.objects] == [RECTS[1]]  # the good one is there
    (rejected,) = outcome.rejected
    assert rejected.object_id == 0
    assert rejected_segmentation(rejected).status_message == reason


def test_prompts_with_an_empty_frame_id_apply_to_any_camera():
    s = session()
    s.submit(PromptRequest("add", UserPrompt(points=[[80, 80]], labels=[1]), 0, ""))
    s.submit(PromptRequest("add", UserPrompt(points=[[250, 100]], labels=[1]), 0, "camera"))
    outcome = s.process(IMAGE, "rgb", S, "camera")
    assert [o.mask.box for o in outcome.result.objects] == RECTS[:2] and not outcome.rejected


def test_refinements_of_one_object_on_one_frame_are_bounded_together():
    s = session()
    s.submit(add(80, 80))
    s.process(IMAGE, "rgb", S)
    s.submit(refine(1, 40))
    s.submit(refine(1, 24))  # 64 in all: accepted
    s.submit(refine(1, 1))  # 65: refused
    (rejected,) = s.process(IMAGE, "rgb", 2 * S).rejected
    assert rejected.reason == ("refinements of object 1 on one frame add up to 65 points > "
                               "limits.max_points (64)")
    s.submit(refine(1, 64))  # the count starts again on the next frame
    assert s.process(IMAGE, "rgb", 3 * S).rejected == []


def test_limits_are_run_time_settings():
    from edgesam_ros.ros.limits import Limits

    s = session(limits=Limits(max_points=2))
    s.submit(PromptRequest("add", UserPrompt(points=[[80, 80]] * 3, labels=[1] * 3)))
    assert "3 points > limits.max_points (2)" in s.process(IMAGE, "rgb", S).rejected[0].reason


def test_a_full_queue_refuses_prompts_but_never_settings_or_clear():
    from edgesam_ros.ros.limits import Limits

    s = session(limits=Limits(max_pending_prompts=3))
    assert [s.submit(add(80, 80)) for _ in range(4)] == [True, True, True, False]
    assert s.submit(ClearRequest()) and s.submit(Settings(limits=Limits(max_pending_prompts=3)))
    s.process(IMAGE, "rgb", S)
    assert s.submit(add(80, 80))  # drained by the frame: room again


def test_a_whole_message_refusal_comes_back_as_a_rejected_new_object():
    from edgesam_ros.ros.messages import rejected_segmentation
    from edgesam_ros.ros.session import Refusal

    s = session()
    s.submit(Refusal("add", "101 prompts in one message > limits.max_prompts (100): split it"))
    (rejected,) = s.process(IMAGE, "rgb", S).rejected
    out = rejected_segmentation(rejected)
    assert (out.id, out.status_message) == (0, "add rejected: 101 prompts in one message > "
                                            "limits.max_prompts (100): split it")


def test_a_prompt_ahead_of_images_that_stop_advancing_waits_a_bounded_number_of_frames():
    s = session(max_wait_frames=3)
    s.submit(add(80, 80, stamp_ns=3 * S))
    for _ in range(3):  # the camera repeats stamp 2 s
        assert s.process(IMAGE, "rgb", 2 * S).result.objects == []
    outcome = s.process(IMAGE, "rgb", 2 * S)
    assert [o.state for o in outcome.result.objects] == [State.NEW]
    assert outcome.notes[1] == ("prompt stamp 1.00 s ahead of the images (no such image within "
                                "prompts.max_wait_frames = 3 frames): applied to this one")
