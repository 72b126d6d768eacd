"""The segment node over real rclpy + Fast DDS in prompt mode: prompts in, masks out, bad input.

One node (random-weight tiny model, depth enabled) serves the whole module; each test publishes
frames with its own stamps and waits for the results with those stamps.
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest
from conftest import NodeHarness, random_model_parameters, wait_for

msg = pytest.importorskip("edgesam_ros.msg", reason="interfaces not built (run `make build`)")

from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from geometry_msgs.msg import PointStamped  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image, PointCloud2  # noqa: E402
from std_srvs.srv import SetBool, Trigger  # noqa: E402

from edgesam_ros.ros import convert  # noqa: E402
from edgesam_ros.scenes.still import generate_scene  # noqa: E402

pytestmark = pytest.mark.ros
Seg = msg.ObjectSegmentation
_stamps = itertools.count(1)


@pytest.fixture(scope="module")
def node(ros_context):
    harness = NodeHarness(random_model_parameters(**{"depth.enabled": True, "log_throttle": 0.0}))
    assert harness.start(), "the node did not reach active"
    harness.results = harness.listen(msg.SegmentationArray, "/edgesam/segmentation")
    harness.masks = harness.listen(Image, "/edgesam/mask")
    harness.images = harness.publisher(Image, "/image", "best_effort")
    harness.prompts = harness.publisher(msg.ObjectPromptArray, "/edgesam/prompts")
    harness.prompt = harness.publisher(msg.ObjectPrompt, "/edgesam/prompt")
    yield harness
    harness.close()


@pytest.fixture(scope="module")
def scene():
    return generate_scene(3)


def image_msg(pixels: np.ndarray, encoding: str = "rgb8", stamp: int | None = None) -> Image:
    out = convert.array_to_image(pixels, encoding)
    out.header.stamp.sec = next(_stamps) if stamp is None else stamp
    out.header.frame_id = "camera_optical"
    return out


def result_for(node, image: Image, timeout: float = 10.0):
    """Publish `image` and return the SegmentationArray carrying its header."""
    node.images.publish(image)
    found = lambda: [r for r in node.results if r.header == image.header]  # noqa: E731
    assert wait_for(lambda: bool(found()), timeout), f"no result for stamp {image.header.stamp}"
    return found()[0]


def add_prompt(box=None, points=(), object_id=0, action=msg.ObjectPrompt.ACTION_ADD, stamp=0):
    prompt = msg.ObjectPrompt(action=action, object_id=object_id, track=True, label="thing")
    prompt.header.stamp.sec = stamp
    prompt.points = [msg.PromptPoint(x=float(x), y=float(y), label=int(lbl))
                     for x, y, lbl in points]
    if box is not None:
        prompt.has_box, prompt.box = True, np.asarray(box, np.float32)
    return prompt


def wait_for_log(capfd, text: str, timeout: float = 5.0) -> str:
    """Everything written to stderr until `text` appears (the node logs from its threads)."""
    seen: list[str] = []
    wait_for(lambda: seen.append(capfd.readouterr().err) or text in "".join(seen), timeout)
    return "".join(seen)


def full_masks(result) -> dict[int, np.ndarray]:
    """Per-object full-size masks rebuilt with the recipe of ObjectSegmentation.msg."""
    out = {}
    for obj in result.objects:
        if obj.area == 0:
            continue
        full = np.zeros((result.height, result.width), np.uint8)
        crop = np.frombuffer(bytes(obj.mask), np.uint8).reshape(obj.box.height, obj.box.width)
        full[obj.box.y_offset:obj.box.y_offset + obj.box.height,
             obj.box.x_offset:obj.box.x_offset + obj.box.width] = crop
        out[obj.id] = full.astype(bool)
    return out


def test_box_prompt_gives_masks_with_the_input_header(node, scene):
    node.prompts.publish(msg.ObjectPromptArray(prompts=[add_prompt(box=scene.boxes[0])]))
    image = image_msg(scene.image)
    result = result_for(node, image)
    assert result.header == image.header
    assert (result.height, result.width) == scene.image.shape[:2]
    new = [o for o in result.objects if o.state == Seg.STATE_NEW]
    assert len(new) == 1 and new[0].id >= 1 and new[0].source == Seg.SOURCE_USER
    assert new[0].label == "thing"
    assert result.encoder_ms > 0 and result.total_ms >= result.encoder_ms
    assert len(bytes(new[0].mask)) == new[0].box.width * new[0].box.height


def test_id_image_agrees_with_object_masks(node, scene):
    node.prompt.publish(add_prompt(box=scene.boxes[1]))
    image = image_msg(scene.image)
    result = result_for(node, image)
    assert wait_for(lambda: any(m.header == image.header for m in node.masks))
    mask_msg = next(m for m in node.masks if m.header == image.header)
    assert mask_msg.encoding == "mono8"
    ids = convert.image_to_array(mask_msg)
    assert ids.shape == scene.image.shape[:2]
    masks = full_masks(result)
    assert masks, "no object had a mask"
    for object_id, mask in masks.items():
        np.testing.assert_array_equal(ids == object_id, mask)
    assert set(np.unique(ids)) - {0} == set(masks)


def test_ids_above_255_give_a_mono16_id_image(node, scene):
    node.prompt.publish(add_prompt(box=scene.boxes[2], object_id=300))
    image = image_msg(scene.image)
    result = result_for(node, image)
    assert any(o.id == 300 for o in result.objects)
    assert wait_for(lambda: any(m.header == image.header for m in node.masks))
    mask_msg = next(m for m in node.masks if m.header == image.header)
    # The random-weight test model gives this box a non-empty mask, so the checks always run.
    assert any(o.id == 300 and o.area for o in result.objects), "object 300 has no mask"
    assert mask_msg.encoding == "mono16"
    ids = convert.image_to_array(mask_msg)
    np.testing.assert_array_equal(ids == 300, full_masks(result)[300])


def test_click_starts_an_object(node, scene):
    clicks = node.publisher(PointStamped, "/image_mouse_left")
    cx, cy = (scene.boxes[3][:2] + scene.boxes[3][2:]) / 2
    clicks.publish(PointStamped(point=PointStamped().point.__class__(x=float(cx), y=float(cy))))
    result = result_for(node, image_msg(scene.image))
    # Unlabelled unless prompts.click_label names a class (a runtime parameter).
    assert any(o.label == "" and o.state == Seg.STATE_NEW for o in result.objects)
    assert node.node.set_parameters([Parameter("prompts.click_label", value="mug")])[0].successful
    try:
        clicks.publish(PointStamped(point=PointStamped().point.__class__(x=float(cx),
                                                                         y=float(cy))))
        result = result_for(node, image_msg(scene.image))
        assert any(o.label == "mug" and o.state == Seg.STATE_NEW for o in result.objects)
    finally:
        node.node.set_parameters([Parameter("prompts.click_label", value="")])


def test_objects_are_added_refined_and_removed_by_prompts(node, scene):
    node.prompt.publish(add_prompt(box=scene.boxes[2], object_id=4000))
    added = result_for(node, image_msg(scene.image))
    assert [o.state for o in added.objects if o.id == 4000] == [Seg.STATE_NEW]
    cx, cy = (scene.boxes[2][:2] + scene.boxes[2][2:]) / 2
    node.prompt.publish(add_prompt(points=[(cx, cy, 1), (1, 1, 0)], object_id=4000,
                                   action=msg.ObjectPrompt.ACTION_REFINE))
    refined = result_for(node, image_msg(scene.image))
    assert [o.state for o in refined.objects if o.id == 4000] in (
        [Seg.STATE_TRACKED], [Seg.STATE_LOST]), [o.status_message for o in refined.objects]
    assert not [o for o in refined.objects if o.state == Seg.STATE_REJECTED]
    node.prompt.publish(add_prompt(object_id=4000, action=msg.ObjectPrompt.ACTION_REMOVE))
    removed = result_for(node, image_msg(scene.image))
    gone = [o for o in removed.objects if o.id == 4000]
    assert [o.state for o in gone] == [Seg.STATE_REMOVED] and "removed" in gone[0].status_message
    assert not [o for o in result_for(node, image_msg(scene.image)).objects if o.id == 4000]
    # ids are never reused: adding the removed id again is refused, saying so
    node.prompt.publish(add_prompt(box=scene.boxes[2], object_id=4000))
    again = result_for(node, image_msg(scene.image))
    assert [o.state for o in again.objects if o.id == 4000] == [Seg.STATE_REJECTED]
    node.call(Trigger, "/edgesam/clear", Trigger.Request())


def test_stamped_prompt_waits_for_the_frame_it_names(node, scene):
    first, named = image_msg(scene.image), image_msg(scene.image)
    prompt = add_prompt(box=scene.boxes[0], object_id=4100, stamp=named.header.stamp.sec)
    node.prompt.publish(prompt)
    assert wait_for(lambda: any(getattr(r, "stamp_ns", 0) for r in node.node._session._inbox)
                    or node.node._session._waiting)
    assert not [o for o in result_for(node, first).objects if o.id == 4100]
    assert [o.state for o in result_for(node, named).objects if o.id == 4100] == [Seg.STATE_NEW]
    node.call(Trigger, "/edgesam/clear", Trigger.Request())


def test_late_prompt_is_applied_with_a_note(node, scene):
    image = image_msg(scene.image)
    node.prompt.publish(add_prompt(box=scene.boxes[0], stamp=image.header.stamp.sec - 1))
    result = result_for(node, image)
    new = [o for o in result.objects if o.state == Seg.STATE_NEW]
    assert any("late prompt" in o.status_message for o in new)


@pytest.mark.parametrize(
    ("prompt", "reason"),
    [
        (add_prompt(points=[(float("nan"), 10, 1)]), "finite"),
        (add_prompt(points=[(float("inf"), 10, 1)]), "finite"),
        (add_prompt(points=[(5000, 10, 1)]), "outside"),
        (add_prompt(box=[300, 100, 200, 300]), "x1 < x2"),
        (add_prompt(points=[(10, 10, 7)]), "label"),
        (add_prompt(points=[]), "empty"),
        (add_prompt(points=[(10, 10, 1)], object_id=987654, action=1), "unknown object id"),
        (add_prompt(object_id=987655, action=2), "unknown object id"),
        (add_prompt(points=[(10, 10, 1)], action=9), "unknown action"),
        (add_prompt(points=[(10, 10, 1)], stamp=1), "older than the current"),
        (add_prompt(points=[(10, 10, 1)], object_id=2**31), "does not fit the 32SC1"),
        (add_prompt(box=[float("nan"), 0, 10, 10]), "4 finite numbers"),
    ],
    ids=["nan", "inf", "outside", "inverted-box", "bad-label", "empty", "refine-unknown",
         "remove-unknown", "bad-action", "frame-long-gone", "id-too-big", "nan-box"],
)
def test_bad_prompts_are_rejected_and_reported(node, scene, prompt, reason, capfd):
    image = image_msg(scene.image, stamp=next(_stamps) + 1000)
    node.prompt.publish(prompt)
    result = result_for(node, image)
    rejected = [o for o in result.objects if o.state == Seg.STATE_REJECTED]
    assert len(rejected) == 1, [o.status_message for o in result.objects]
    assert reason in rejected[0].status_message
    assert rejected[0].id == prompt.object_id  # 0 for a new object (msg/ObjectSegmentation.msg)
    assert rejected[0].status_message.startswith(("add rejected", "refine rejected",
                                                  "remove rejected", "action 9 rejected"))
    log = capfd.readouterr().err
    assert "rejected: " in log and reason in log, log  # logged too, not only reported
    assert result_for(node, image_msg(scene.image)).header  # and the node goes on


@pytest.mark.parametrize(
    ("broken", "logged"),
    [
        (lambda m: setattr(m, "encoding", "yuv422_weird"), "unsupported encoding 'yuv422_weird'"),
        (lambda m: setattr(m, "data", bytes(m.data)[: len(m.data) // 2]), "data has 460800 bytes"),
        (lambda m: (setattr(m, "height", 0), setattr(m, "width", 0), setattr(m, "data", b"")),
         "empty image (0x0)"),
        (lambda m: setattr(m, "step", 3), "step 3 < 1920 bytes"),
        (lambda m: setattr(m, "encoding", "16UC1"),
         "unsupported encoding '16UC1' for a camera image: use one of rgb8, bgr8, rgba8, bgra8, "
         "mono8, 8UC1, 8UC3, mono16"),
    ],
    ids=["encoding", "short-data", "zero-size", "short-step", "depth-encoding"],
)
def test_bad_images_are_skipped_and_processing_goes_on(node, scene, broken, logged, capfd):
    count = node.node._problems.counts["image"]
    bad = image_msg(scene.image)
    broken(bad)
    node.images.publish(bad)
    assert wait_for(lambda: node.node._problems.counts["image"] > count)
    good = image_msg(scene.image)
    assert result_for(node, good).header == good.header
    log = capfd.readouterr().err
    assert "skipping an image from /image: " + logged in log, log


@pytest.mark.parametrize(
    ("encoding", "make"),
    [
        ("bgr8", lambda rgb: rgb[..., ::-1]),
        ("rgba8", lambda rgb: np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])),
        ("bgra8", lambda rgb: np.dstack([rgb[..., ::-1], np.zeros(rgb.shape[:2], np.uint8)])),
        ("mono8", lambda rgb: rgb[..., 1]),
        ("mono16", lambda rgb: rgb[..., 1].astype(np.uint16) * 200),
    ],
)
def test_every_camera_encoding_is_segmented(node, scene, encoding, make):
    image = image_msg(np.ascontiguousarray(make(scene.image)), encoding)
    result = result_for(node, image)
    assert (result.height, result.width) == scene.image.shape[:2]


def test_padded_big_endian_mono16_is_segmented(node, scene):
    pixels = scene.image[..., 0].astype(">u2") * 100
    padded = np.zeros((pixels.shape[0], pixels.shape[1] * 2 + 32), np.uint8)
    padded[:, : pixels.shape[1] * 2] = pixels.view(np.uint8)
    image = image_msg(padded, "mono16")
    image.width, image.is_bigendian = pixels.shape[1], 1
    assert (result_for(node, image).width) == pixels.shape[1]


def test_4k_image_gives_masks_at_input_resolution(node, scene):
    big = cv2.resize(scene.image, (3840, 2160), interpolation=cv2.INTER_NEAREST)
    node.prompt.publish(add_prompt(points=[(1900, 1000, 1)]))
    image = image_msg(big)
    result = result_for(node, image, timeout=30)
    assert (result.height, result.width) == (2160, 3840)
    assert wait_for(lambda: any(m.header == image.header for m in node.masks))
    mask_msg = next(m for m in node.masks if m.header == image.header)
    assert (mask_msg.height, mask_msg.width) == (2160, 3840)


def test_burst_at_200_hz_drops_frames_instead_of_queueing(node, scene):
    import time

    dropped = node.node._stats.dropped
    frames = [image_msg(scene.image) for _ in range(60)]
    for frame in frames:
        node.images.publish(frame)
        time.sleep(0.005)
    last = frames[-1].header
    assert wait_for(lambda: any(r.header == last for r in node.results), 20)
    processed = sum(any(r.header == f.header for r in node.results) for f in frames)
    assert processed < len(frames)
    assert node.node._stats.dropped > dropped
    latest = next(r for r in node.results if r.header == last)
    assert latest.total_ms < 2000  # not the time of 60 queued frames


def test_clear_service_removes_every_object(node, scene):
    node.prompt.publish(add_prompt(box=scene.boxes[0]))
    result_for(node, image_msg(scene.image))
    response = node.call(Trigger, "/edgesam/clear", Trigger.Request())
    assert response.success
    cleared = result_for(node, image_msg(scene.image))
    assert any(o.state == Seg.STATE_REMOVED and "cleared" in o.status_message
               for o in cleared.objects)
    after = result_for(node, image_msg(scene.image))
    assert not [o for o in after.objects if o.state != Seg.STATE_REJECTED]


def test_enable_service_stops_and_restarts_processing(node, scene):
    assert node.call(SetBool, "/edgesam/enable", SetBool.Request(data=False)).success
    ignored = image_msg(scene.image)
    node.images.publish(ignored)
    assert not wait_for(lambda: any(r.header == ignored.header for r in node.results), 1.0)
    assert node.call(SetBool, "/edgesam/enable", SetBool.Request(data=True)).success
    image = image_msg(scene.image)
    assert result_for(node, image).header == image.header


def test_depth_gives_object_points_in_the_camera_frame(node, scene):
    clouds = node.listen(PointCloud2, "/edgesam/points")
    info_pub = node.publisher(CameraInfo, "/camera_info", "best_effort")
    depth_pub = node.publisher(Image, "/depth", "best_effort")
    node.prompt.publish(add_prompt(box=scene.boxes[0]))
    image = image_msg(scene.image)
    h, w = scene.image.shape[:2]
    info = CameraInfo(header=image.header, height=h, width=w)
    info.k = [500.0, 0.0, w / 2, 0.0, 500.0, h / 2, 0.0, 0.0, 1.0]
    depth = convert.array_to_image(np.full((h, w), 2.0, np.float32), "32FC1", image.header)
    info_pub.publish(info)
    depth_pub.publish(depth)
    assert wait_for(lambda: node.node._camera_info is not None and len(node.node._depth) > 0)
    result = result_for(node, image)
    assert wait_for(lambda: any(c.header == image.header for c in clouds))
    cloud = next(c for c in clouds if c.header == image.header)
    assert [f.name for f in cloud.fields] == ["x", "y", "z", "object_id"]
    points = np.frombuffer(bytes(cloud.data), np.dtype(
        {"names": ["x", "y", "z", "id"], "formats": ["<f4", "<f4", "<f4", "<u4"]}))
    masks = full_masks(result)
    assert len(points) == sum(int(m.sum()) for m in masks.values()) > 0
    np.testing.assert_allclose(points["z"], 2.0)
    assert set(np.unique(points["id"])) == {i for i, m in masks.items() if m.any()}


@pytest.mark.parametrize(
    ("depth_pixels", "depth_encoding", "k", "logged"),
    [
        (np.zeros((480, 640, 3), np.uint8), "rgb8", 500.0, "depth image encoding 'rgb8' is not"),
        (np.full((480, 640), 2.0, np.float32), "32FC1", 0.0, "camera_info has no usable"),
    ],
    ids=["colour-depth", "no-intrinsics"],
)
def test_bad_depth_input_skips_points_and_keeps_segmenting(node, scene, depth_pixels,
                                                           depth_encoding, k, logged, capfd):
    info_pub = node.publisher(CameraInfo, "/camera_info", "best_effort")
    depth_pub = node.publisher(Image, "/depth", "best_effort")
    failures = node.node._problems.counts["processing"]
    skipped = node.node._problems.counts["depth"]
    image = image_msg(scene.image)
    info = CameraInfo(header=image.header, height=480, width=640)
    info.k = [k, 0.0, 320.0, 0.0, k, 240.0, 0.0, 0.0, 1.0]
    info_pub.publish(info)
    depth_pub.publish(convert.array_to_image(depth_pixels, depth_encoding, image.header))
    assert wait_for(lambda: node.node._camera_info is not None and node.node._camera_info.k[0] == k
                    and node.node._depth and node.node._depth[-1].header == image.header)
    assert result_for(node, image).header == image.header
    assert wait_for(lambda: node.node._problems.counts["depth"] > skipped)
    log = wait_for_log(capfd, logged)
    assert logged in log and "~/points skipped" in log, log
    assert node.node._problems.counts["processing"] == failures  # no frame failed


def test_overlay_is_published_to_subscribers(node, scene):
    overlays = node.listen(Image, "/edgesam/overlay")
    assert wait_for(lambda: node.node._outputs["~/overlay"].get_subscription_count() > 0)
    image = image_msg(scene.image)
    result_for(node, image)
    assert wait_for(lambda: any(o.header == image.header for o in overlays))
    overlay = next(o for o in overlays if o.header == image.header)
    assert (overlay.encoding, overlay.height, overlay.width) == ("rgb8", 480, 640)


def test_thresholds_change_at_run_time_and_bad_values_are_refused(node):
    ok = node.node.set_parameters([Parameter("tracker.min_stability", value=0.3)])[0]
    assert ok.successful
    bad = node.node.set_parameters([Parameter("tracker.min_stability", value=2.0)])[0]
    assert not bad.successful
    assert "tracker.min_stability" in bad.reason and "[0.0, 1.0]" in bad.reason
    mode = node.node.set_parameters([Parameter("mode", value="everything")])[0]
    assert not mode.successful and "prompt, auto, both" in mode.reason
    static = node.node.set_parameters([Parameter("model.encoder", value="/x.onnx")])[0]
    assert not static.successful and "configure" in static.reason
    assert node.node.get_parameter("tracker.min_stability").value == 0.3


def test_log_throttle_changes_at_run_time_and_problems_are_still_logged(node, scene, capfd):
    """rclpy refuses a changed throttle_duration_sec at one call site: the node must not care."""

    def bad_then_good() -> None:
        count = node.node._problems.counts["image"]
        bad = image_msg(scene.image)
        bad.encoding = "yuv422_weird"
        node.images.publish(bad)
        assert wait_for(lambda: node.node._problems.counts["image"] > count)
        good = image_msg(scene.image)
        assert result_for(node, good).header == good.header

    failures = node.node._problems.counts["processing"]
    bad_then_good()
    try:
        assert node.node.set_parameters([Parameter("log_throttle", value=30.0)])[0].successful
        for _ in range(3):
            bad_then_good()
        log = capfd.readouterr().err
        # logged once: the three after the change are within 30 s of the first line
        assert log.count("unsupported encoding 'yuv422_weird'") == 1, log
        assert "Error" not in log and "Traceback" not in log, log
        assert node.node._problems.counts["processing"] == failures
    finally:
        node.node.set_parameters([Parameter("log_throttle", value=0.0)])


def test_diagnostics_report_rates_latency_and_provider(node, scene):
    diagnostics = node.listen(DiagnosticArray, "/diagnostics")
    result_for(node, image_msg(scene.image))
    assert wait_for(lambda: bool(diagnostics), 5)
    values = {kv.key: kv.value for kv in diagnostics[-1].status[0].values}
    for key in ("input rate (Hz)", "processed rate (Hz)", "frames dropped",
                "encoder latency p95 (ms)", "total latency mean (ms)", "provider", "objects"):
        assert key in values
    assert values["provider"] == "CPUExecutionProvider"


def test_prompt_command_adds_an_object_and_clears_from_another_process(node, scene):
    import os
    import subprocess
    import threading
    import time
    from pathlib import Path

    exe = Path(__file__).resolve().parents[2] / "install/edgesam_ros/lib/edgesam_ros/prompt"
    if not exe.is_file():
        pytest.skip("not built with colcon (run `make build`)")
    stop = threading.Event()

    def camera():
        while not stop.is_set():
            node.images.publish(image_msg(scene.image))
            time.sleep(0.1)

    feeder = threading.Thread(target=camera, daemon=True)
    feeder.start()
    try:
        out = subprocess.run([str(exe), "--box", ",".join(map(str, scene.boxes[0])),
                              "--label", "cli", "--timeout", "20"],
                             capture_output=True, text=True, timeout=60, env=dict(os.environ))
        assert out.returncode == 0, out.stdout + out.stderr
        assert out.stdout.startswith("object "), out.stderr
        cleared = subprocess.run([str(exe), "--clear"], capture_output=True, text=True,
                                 timeout=60, env=dict(os.environ))
        assert cleared.returncode == 0 and "on the next frame" in cleared.stdout
    finally:
        stop.set()
        feeder.join()


def test_default_qos_is_sensor_data_for_images_and_reliable_keep_all_for_prompts(node):
    from rclpy.qos import HistoryPolicy, ReliabilityPolicy

    # The node's own subscriptions, not the ROS graph: every test module of this session names its
    # node "edgesam" in one rclpy context, and the graph cache of a destroyed namesake can hide the
    # live node's entries.
    profiles = {sub.topic_name: sub.qos_profile for sub in node.node._inputs}
    image = profiles["/image"]
    assert image.reliability == ReliabilityPolicy.BEST_EFFORT
    assert (image.history, image.depth) == (HistoryPolicy.KEEP_LAST, 1)  # only the newest waits
    for topic in ("/edgesam/prompts", "/edgesam/prompt", "/image_mouse_left"):
        assert profiles[topic].reliability == ReliabilityPolicy.RELIABLE, topic
        assert profiles[topic].history == HistoryPolicy.KEEP_ALL, topic  # no burst is lost
