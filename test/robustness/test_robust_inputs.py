"""Hostile and careless input to the segment node running as its own process.

One `segment_node` (random tiny model, depth on, unthrottled logs) takes every bad image, prompt,
depth message and run-time parameter below; each must be refused or handled with a clear word
(a log line, a rejected result, a diagnostics counter), and the next good frame must still get
its result.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from edgesam_ros.msg import ObjectPrompt, ObjectPromptArray, ObjectSegmentation
from node_process import wait_for
from rcl_interfaces.srv import SetParameters
from rclpy.parameter import Parameter
from robust_node import Client, frame, prompt, rejections, start_node
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_srvs.srv import Trigger

pytestmark = pytest.mark.ros
NAME = "robust_inputs"
#: Frames a best-effort depth check may take (see `_segment_with_depth`).
TRIES = 5
COLOR_ENCODINGS = "rgb8, bgr8, rgba8, bgra8, mono8, 8UC1, 8UC3, mono16"


@pytest.fixture(scope="module")
def node():
    process = start_node(NAME, "-p", "depth.enabled:=true", "-p", "log_throttle:=0.0",
                         "-p", "diagnostics.period:=0.2", "-p", "prompts.max_wait_frames:=3")
    client = Client(NAME)
    client.points = []
    client.listen(PointCloud2, f"/{NAME}/points", client.points.append)
    yield process, client
    client.close()
    assert process.stop() == 0, "".join(process.lines)
    assert not any("Traceback" in line for line in process.lines), "".join(process.lines)


def still_segments(client: Client) -> None:
    good = frame()
    assert client.result_for(good).header == good.header


# ---------------------------------------------------------------------- images


def _image(width: int, height: int, data_bytes: int | None = None, **fields) -> Image:
    out = frame()
    out.width, out.height, out.step = width, height, width * 3
    out.data = bytes(width * height * 3 if data_bytes is None else data_bytes)
    for key, value in fields.items():
        setattr(out, key, value)
    return out


@pytest.mark.parametrize(("bad", "says"), [
    (_image(64, 48, encoding="yuv422"),
     f"unsupported encoding 'yuv422' for a camera image: use one of {COLOR_ENCODINGS}"),
    (_image(64, 48, encoding="16UC1"),
     f"unsupported encoding '16UC1' for a camera image: use one of {COLOR_ENCODINGS}"),
    (_image(64, 48, data_bytes=100), "data has 100 bytes, 48 rows x step 192 need 9216"),
    (_image(0, 0), "empty image (0x0)"),
    (_image(64, 48, step=3), "step 3 < 192 bytes needed by 64 rgb8 pixels"),
    (_image(16000, 16000, data_bytes=10), "16000x16000 image has 256000000 pixels > "
                                          "limits.max_image_pixels (25000000)"),
    (_image(5000, 1), "5000x1 image is too thin: its short side would be 0 pixels when the long "
                      "side is resized to the model's 512; the short side must be at least 5"),
    (_image(1, 5000), "1x5000 image is too thin"),
    (_image(3000, 2), "3000x2 image is too thin"),
], ids=["encoding", "depth-encoding", "short-data", "zero-size", "short-step", "16k-pixels",
        "5000x1", "1x5000", "3000x2"])
def test_bad_images_are_skipped_saying_why(node, bad, says):
    process, client = node
    mark, count = process.mark(), client.counter("image problems")
    client.publish_image(bad)
    assert "skipping an image from /image: " + says in process.line(says, mark)
    still_segments(client)
    assert wait_for(lambda: client.counter("image problems") > count)


def test_thin_images_the_model_can_take_are_segmented(node):
    _, client = node
    thin = frame(np.full((3, 3000, 3), 128, np.uint8))
    result = client.result_for(thin)
    assert (result.height, result.width) == (3, 3000)


# ---------------------------------------------------------------------- prompts


def _rejected(client: Client, send, says: str) -> list[str]:
    """Send, then segment frames until a result rejects with `says`; every rejection seen."""
    send()
    seen: list[str] = []
    for _ in range(20):
        seen += rejections(client.result_for(frame()))
        if any(says in s for s in seen):
            return seen
    raise AssertionError(f"no rejection with {says!r}; got {seen}")


MAX_ID = 2**31 - 1


@pytest.mark.parametrize(("bad", "says"), [
    (prompt(points=[(1.0, 1.0, 1)] * 10_000), "10000 points > limits.max_points (64): send "
                                              "fewer points"),
    (prompt(points=[(1.0, 1.0, 1)] * 100_000), "100000 points > limits.max_points"),
    (prompt(label="x" * 1_000_000), "label of 1000000 characters > "
                                    "limits.max_label_length (256)"),
    (prompt(frame_id="other_camera"), "prompt frame_id 'other_camera' is not the "
                                      "image's 'camera'"),
    (prompt(points=[(float("nan"), 1.0, 1)]), "a point is not finite"),
    (prompt(points=[(500.0, 500.0, 1)]), "a point lies outside the 64x48 image"),
    (prompt(points=[(1.0, 1.0, 5)]), "point labels must be 0 (background) or 1"),
    (prompt(points=[], box=(30, 30, 10, 10)), "the box needs x1 < x2 and y1 < y2"),
    (prompt(points=[]), "empty prompt"),
    (prompt(action=ObjectPrompt.ACTION_REFINE, object_id=4242), "unknown object "
                                                                "id"),
    (prompt(action=ObjectPrompt.ACTION_REMOVE, object_id=4243), "unknown object "
                                                                "id"),
    (prompt(action=9), "unknown action"),
    (prompt(object_id=MAX_ID + 1), f"object id {MAX_ID + 1} > {MAX_ID} does not fit"),
    (prompt(stamp=1), "older than the current one (prompts.max_age 5 s)"),
], ids=["10k-points", "100k-points", "1MB-label", "frame_id", "nan", "outside", "label-5",
        "box-inverted", "empty", "refine-unknown", "remove-unknown", "action-9", "id-too-big",
        "too-old"])
def test_bad_prompts_are_rejected_with_the_reason_and_logged(node, bad, says):
    process, client = node
    mark, count = process.mark(), client.counter("prompt problems")
    topic = f"/{NAME}/prompt"
    seen = _rejected(client, lambda: client.publisher(ObjectPrompt, topic).publish(bad), says)
    assert len(seen) == 1, seen  # nothing else was affected
    assert "rejected: " in process.line(says, mark)
    assert wait_for(lambda: client.counter("prompt problems") > count)
    if "limits." in says or "frame_id" in says:  # refused before it became an object: id 0
        assert [o.id for r in client.results for o in r.objects if says in o.status_message
                and o.state == ObjectSegmentation.STATE_REJECTED] == [0]


def test_too_many_prompts_in_one_message_are_refused_as_a_whole(node):
    process, client = node
    mark, count = process.mark(), client.counter("prompt problems")
    array = ObjectPromptArray(prompts=[prompt() for _ in range(101)])
    topic = f"/{NAME}/prompts"
    says = "add rejected: 101 prompts in one message > limits.max_prompts (100): split it"
    seen = _rejected(client, lambda: client.publisher(ObjectPromptArray, topic).publish(array),
                     says)
    assert seen == [says]  # one rejection for the message, no object started
    assert "add of object 0 rejected: 101 prompts in one message" in process.line(
        "101 prompts in one message", mark)
    assert wait_for(lambda: client.counter("prompt problems") == count + 1, 5)  # counted once
    still_segments(client)
    assert client.counter("prompt problems") == count + 1


def test_a_prompt_ahead_of_stalled_image_stamps_is_applied_after_a_bounded_wait(node):
    _, client = node
    stalled = frame().header.stamp.sec + 10_000  # the camera will repeat this stamp
    ahead = prompt(points=[(30.0, 20.0, 1)], stamp=stalled + 1)
    client.publisher(ObjectPrompt, f"/{NAME}/prompt").publish(ahead)
    notes: list[str] = []
    for _ in range(8):
        image = frame(stamp=stalled)
        client.publish_image(image)
        wait_for(lambda: any(r.header.stamp.sec == stalled for r in client.results), 5)
        notes = [o.status_message for r in client.results if r.header.stamp.sec == stalled
                 for o in r.objects if "ahead of the images" in o.status_message]
        if notes:
            break
        client.results[:] = [r for r in client.results if r.header.stamp.sec != stalled]
    assert notes and ("prompt stamp 1.00 s ahead of the images (no such image within "
                      "prompts.max_wait_frames = 3 frames): applied to this one") in notes[0]
    client.call(Trigger, f"/{NAME}/clear", Trigger.Request())


# ---------------------------------------------------------------------- depth


def _camera_info(k=(50.0, 0, 32, 0, 50.0, 24, 0, 0, 1)) -> CameraInfo:
    return CameraInfo(width=64, height=48, k=list(map(float, k)))


def _depth(stamp, width=64, height=48, encoding="16UC1") -> Image:
    out = frame(np.full((height, width), 1000, np.uint16), "16UC1", stamp=stamp)
    out.encoding = encoding
    return out


@pytest.mark.parametrize(("info", "depth_of", "says"), [
    (None, None, "no camera_info or no depth image within depth.max_dt"),
    (_camera_info(k=(0,) * 9), _depth, "camera_info has no usable intrinsics"),
    (_camera_info(), lambda s: _depth(s, encoding="rgb8"),
     "depth image encoding 'rgb8' is not one of 16UC1, mono16, 32FC1"),
    (_camera_info(), lambda s: _depth(s, width=32, height=24),
     "depth image is 32x24, the image 64x48: ~/points needs depth aligned to the image at its "
     "size; skipped"),
    (_camera_info(), lambda s: _depth(s, width=64, height=20), "depth image is 64x20"),
], ids=["missing", "no-intrinsics", "encoding", "half-size", "other-aspect"])
def test_depth_faults_skip_points_saying_why(node, info, depth_of, says):
    process, client = node
    mark, count = process.mark(), client.counter("depth problems")
    said = lambda: any(says in line for line in process.lines[mark:])  # noqa: E731
    for _ in range(TRIES):
        image = _segment_with_depth(client, info, depth_of)
        if wait_for(said, 1.0):
            break
    assert "~/points" in process.line(says, mark)
    assert wait_for(lambda: client.counter("depth problems") > count)
    assert not [p for p in client.points if p.header == image.header]


def test_aligned_depth_gives_points(node):
    _, client = node
    for _ in range(TRIES):
        image = _segment_with_depth(client, _camera_info(), _depth)
        if wait_for(lambda i=image: any(p.header == i.header for p in client.points), 2.0):
            return
    raise AssertionError(f"no point cloud for any of {TRIES} frames with aligned depth")


def _segment_with_depth(client: Client, info: CameraInfo | None, depth_of) -> Image:
    """A fresh frame segmented after its camera_info and depth were published. All three are
    best effort and new publishers' first samples can be lost while the node's readers still
    match them, so the tests above try a few frames, each with its own companions."""
    image = frame()
    if info is not None:
        client.publisher(CameraInfo, "/camera_info", "best_effort", 10).publish(info)
        client.publisher(Image, "/depth", "best_effort", 10).publish(
            depth_of(image.header.stamp.sec))
        time.sleep(0.1)  # companions first, so the frame finds them
    client.result_for(image)
    return image


# ---------------------------------------------------------------------- run-time parameters


@pytest.mark.parametrize(("name", "value", "says"), [
    ("mode", "everything", "mode = 'everything': expected one of prompt, auto, both"),
    ("tracker.min_stability", 3.0, "tracker.min_stability = 3.0: expected a number in [0.0, 1.0]"),
    ("limits.max_points", 0, "limits.max_points = 0: expected an integer in [1, 10000]"),
    ("max_objects", "many", "max_objects = 'many': expected an integer"),
    ("model.encoder", "/x.onnx", "model.encoder is read at configure: deactivate and clean up"),
])
def test_bad_parameters_at_run_time_are_refused_naming_them(node, name, value, says):
    _, client = node
    request = SetParameters.Request(parameters=[Parameter(name, value=value).to_parameter_msg()])
    (result,) = client.call(SetParameters, f"/{NAME}/set_parameters", request).results
    assert not result.successful and says in result.reason, result.reason
    still_segments(client)


def test_limits_change_at_run_time(node):
    _, client = node
    change = [Parameter("limits.max_points", value=2).to_parameter_msg()]
    request = SetParameters.Request(parameters=change)
    assert client.call(SetParameters, f"/{NAME}/set_parameters", request).results[0].successful
    topic = f"/{NAME}/prompt"
    bad = prompt(points=[(5.0, 5.0, 1)] * 3)
    _rejected(client, lambda: client.publisher(ObjectPrompt, topic).publish(bad),
              "3 points > limits.max_points (2)")
    request.parameters = [Parameter("limits.max_points", value=64).to_parameter_msg()]
    assert client.call(SetParameters, f"/{NAME}/set_parameters", request).results[0].successful

