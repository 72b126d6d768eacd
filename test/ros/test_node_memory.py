"""The segment node with `tracker.mode: memory` on a random-weight EdgeTAM export, end to end
over real rclpy: prompts in, tracked masks out, removal, memory in diagnostics, bad files."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import NodeHarness, wait_for

msg = pytest.importorskip("edgesam_ros.msg", reason="interfaces not built (run `make build`)")

from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from edgesam_ros.ros import convert  # noqa: E402

pytestmark = [pytest.mark.ros, pytest.mark.torch]
Seg = msg.ObjectSegmentation
_stamps = itertools.count(1)


def memory_parameters(model_dir) -> dict[str, object]:
    return {"tracker.mode": "memory", "tracker.memory.model_dir": str(model_dir),
            "tracker.memory.max_conditioning_frames": 2, "engine.providers": ["cpu"],
            "engine.intra_op_threads": 1, "engine.warmup": False, "diagnostics.period": 0.2}


@pytest.fixture(scope="module")
def node(ros_context, edgetam_micro):
    harness = NodeHarness(memory_parameters(edgetam_micro), name="edgetam")
    assert harness.start(), "the node did not reach active"
    harness.results = harness.listen(msg.SegmentationArray, "/edgetam/segmentation")
    harness.images = harness.publisher(Image, "/image", "best_effort")
    harness.prompt = harness.publisher(msg.ObjectPrompt, "/edgetam/prompt")
    harness.prompts = harness.publisher(msg.ObjectPromptArray, "/edgetam/prompts")
    yield harness
    harness.close()


def frame(seed: int) -> Image:
    rng = np.random.default_rng(seed)
    pixels = np.kron(rng.integers(0, 255, (12, 16, 3)), np.ones((8, 8, 1))).astype(np.uint8)
    out = convert.array_to_image(pixels, "rgb8")
    out.header.stamp.sec = next(_stamps)
    return out


def segment(node, image: Image):
    node.images.publish(image)
    found = lambda: [r for r in node.results if r.header == image.header]  # noqa: E731
    assert wait_for(lambda: bool(found()), 20), f"no result for stamp {image.header.stamp}"
    return found()[0]


def prompt(object_id=0, box=None, points=(), action=0) -> msg.ObjectPrompt:
    out = msg.ObjectPrompt(action=action, object_id=object_id, track=True, label="thing")
    out.points = [msg.PromptPoint(x=float(x), y=float(y), label=int(lbl)) for x, y, lbl in points]
    if box is not None:
        out.has_box, out.box = True, np.asarray(box, np.float32)
    return out


def test_objects_are_tracked_with_memory_and_removed(node) -> None:
    # one message: both objects start on the same frame (two messages may straddle it)
    node.prompts.publish(msg.ObjectPromptArray(prompts=[prompt(box=[10, 10, 70, 60]),
                                                        prompt(points=[(100, 50, 1)])]))
    first = segment(node, frame(0))
    for _ in range(4):  # the prompt (reliable) may arrive after a best-effort frame
        if first.objects:
            break
        first = segment(node, frame(0))
    assert [(o.state, o.source) for o in first.objects] == [(Seg.STATE_NEW, Seg.SOURCE_USER)] * 2
    ids = [o.id for o in first.objects]
    assert all(o.area > 0 for o in first.objects)
    for seed in range(1, 4):
        result = segment(node, frame(seed))
        assert [o.id for o in result.objects] == ids
        assert {(o.state, o.source) for o in result.objects} == {
            (Seg.STATE_TRACKED, Seg.SOURCE_PROPAGATED)}
    node.prompt.publish(prompt(object_id=ids[0], action=msg.ObjectPrompt.ACTION_REMOVE))
    removed = segment(node, frame(4))
    assert sorted((o.id, o.state) for o in removed.objects) == [(ids[0], Seg.STATE_REMOVED),
                                                                 (ids[1], Seg.STATE_TRACKED)]
    for seed in range(5, 7):
        assert [o.id for o in segment(node, frame(seed)).objects] == [ids[1]]


def test_diagnostics_report_the_memory_held(node) -> None:
    node.prompt.publish(prompt(box=[20, 20, 60, 60]))
    for seed in range(10, 13):
        segment(node, frame(seed))
    diagnostics = node.listen(DiagnosticArray, "/diagnostics")
    key = "largest object memory (kB)"
    assert wait_for(lambda: any(key in {kv.key for kv in d.status[0].values}
                                for d in diagnostics), 5)
    values = {kv.key: kv.value for kv in diagnostics[-1].status[0].values}
    assert values["provider"] == "CPUExecutionProvider"
    assert 0 < float(values["largest object memory (kB)"]) < 64


def test_wrong_model_dir_stops_start_up(ros_context, tmp_path) -> None:
    harness = NodeHarness(memory_parameters(tmp_path), name="edgetam_missing")
    try:
        assert not harness.node.autostart()
    finally:
        harness.node.destroy_node()
        harness.client.destroy_node()
