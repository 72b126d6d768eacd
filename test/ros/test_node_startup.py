"""Start-up and lifecycle: bad parameters and models stop start-up loudly; transitions work.

The first two tests run the installed `segment_node` executable like `ros2 run` does (exit code
and log text); the others drive an in-process node through its lifecycle.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import rclpy
from conftest import NodeHarness, random_model_parameters, wait_for
from node_process import NodeProcess
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

from edgesam_ros.engine import ModelError, SamEngine
from edgesam_ros.ros import convert, messages, qos

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


def test_executable_runs_on_the_params_file_and_names_incompatible_qos(ros_node):
    """`ros2 run` with config/segment.yaml: active, typos and a QoS mismatch are logged.

    The node subscribes reliable-only (image.reliability:=reliable) and a best-effort camera
    publishes: nothing can flow, and the node must say so naming the topic and both profiles.
    """
    encoder, decoder = (random_model_parameters()[k] for k in ("model.encoder", "model.decoder"))
    running = NodeProcess(
        "-r", "__node:=edgesam_qos", "-r", "image:=/qos_check/image",
        "--params-file", str(REPO / "config" / "segment.yaml"),
        "-p", f"model.encoder:={encoder}", "-p", f"model.decoder:={decoder}",
        "-p", "engine.providers:=[cpu]", "-p", "engine.intra_op_threads:=1",
        "-p", "image.reliability:=reliable", "-p", "tracker.min_stabilty:=0.5",
    )
    try:
        running.line("active: segmenting /qos_check/image in prompt mode")
        assert "ignoring unknown parameters: tracker.min_stabilty" in "".join(running.lines)
        if not messages.VISION_MSGS:
            assert sum("vision_msgs is not installed" in line for line in running.lines) == 1
        camera = ros_node.create_publisher(Image, "/qos_check/image", qos.profile("best_effort", 1))
        frame = convert.array_to_image(np.zeros((48, 64, 3), np.uint8), "rgb8")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(
                "incompatible QoS on /qos_check/image" in line for line in running.lines):
            camera.publish(frame)
            rclpy.spin_once(ros_node, timeout_sec=0.1)
        line = running.line("incompatible QoS on /qos_check/image", timeout=1)
        assert "our subscription has [reliability=reliable" in line, line
        assert "the publisher(s) have [reliability=best_effort" in line, line
        assert "image.reliability" in line
        ros_node.destroy_publisher(camera)
    finally:
        code = running.stop()
    assert code == 0, "".join(running.lines)
    assert not any("Traceback" in line for line in running.lines), "".join(running.lines)


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


def _direct_masks(engine: SamEngine, scene: object, prompts: list) -> dict[int, np.ndarray]:
    """What the engine + a tracker with the node's default settings give for `prompts`."""
    from edgesam_ros.ros import params
    from edgesam_ros.tracking import Tracker

    values = params.validate({p.name: p.default for p in params.PARAMS})
    tracker = Tracker(params.tracker_config(values))
    for prompt in prompts:
        tracker.add(prompt)
    result = tracker.step(engine, scene.image)
    shape = scene.image.shape[:2]
    return {o.id: (o.mask.full_mask(shape) if o.mask is not None and o.mask.area
                   else np.zeros(shape, bool)) for o in result.objects}


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = int((a | b).sum())
    return 1.0 if union == 0 else int((a & b).sum()) / union


def test_bundled_model_masks_match_the_engine_and_ground_truth(ros_context):
    """Box prompts on procedural frames through the node give the engine's own masks.

    Two checks per object (scenes 0-2 of `generate_scene`, objects over 400 px, box prompts, one
    frame each, bundled model on one CPU thread):

    * node vs engine: the node's published mask against `SamEngine.bundled()` + a `Tracker`
      with the node's default settings run directly on the same frame and prompts: IoU >= 0.99
      for every object (the node must lose nothing: conversion, cropping, message packing);
    * node vs ground truth: mean IoU >= 0.70. Measured on these 21 objects: mean 0.731
      (per scene 0.766 / 0.689 / 0.742, worst object 0.31), so the floor sits just under what
      the model achieves and catches a node- or model-side regression.

    Issue 7's target of mean IoU >= 0.85 against ground truth is NOT met: it is a limit of the
    bundled tiny model (engine-level box mIoU 0.725 on the 200 default held-out scenes), to be
    fixed by a better model, not by the node.
    """
    from edgesam_ros.engine import EngineConfig
    from edgesam_ros.scenes.still import generate_scene
    from edgesam_ros.tracking import UserPrompt

    try:
        engine = SamEngine.bundled(EngineConfig(providers=("cpu",), intra_op_threads=1))
    except ModelError as error:
        pytest.skip(f"the trained bundled model is not there yet: {error}")

    harness = NodeHarness({"engine.providers": ["cpu"], "engine.intra_op_threads": 1},
                          name="edgesam_bundled")
    try:
        assert harness.start()
        results = harness.listen(msg.SegmentationArray, "/edgesam_bundled/segmentation")
        images = harness.publisher(Image, "/image", "best_effort")
        prompts = harness.publisher(msg.ObjectPromptArray, "/edgesam_bundled/prompts")
        truth_ious, engine_ious = [], []
        for seed in range(3):
            scene = generate_scene(seed)
            keep = [k for k in range(len(scene.ids)) if scene.instance_masks[k].sum() > 400]
            ids = {100 * (seed + 1) + k: k for k in keep}
            frame = convert.array_to_image(scene.image, "rgb8")
            frame.header.stamp.sec = seed + 1
            array = msg.ObjectPromptArray(prompts=[
                msg.ObjectPrompt(action=msg.ObjectPrompt.ACTION_ADD, object_id=i, has_box=True,
                                 box=scene.boxes[k].astype(np.float32), track=False)
                for i, k in ids.items()])
            array.header.stamp = frame.header.stamp  # for exactly this frame
            prompts.publish(array)
            count = len(ids)
            assert wait_for(lambda n=count: len(harness.node._session._inbox) >= n), \
                "the node did not receive the prompts"
            images.publish(frame)
            assert wait_for(lambda f=frame: any(r.header == f.header for r in results), 30)
            result = next(r for r in results if r.header == frame.header)
            node_masks = {}
            for obj in result.objects:
                if obj.id not in ids or obj.state == msg.ObjectSegmentation.STATE_REMOVED:
                    continue
                full = np.zeros(scene.image.shape[:2], bool)
                if obj.area:
                    crop = np.frombuffer(bytes(obj.mask), np.uint8).reshape(obj.box.height,
                                                                            obj.box.width)
                    full[obj.box.y_offset:obj.box.y_offset + obj.box.height,
                         obj.box.x_offset:obj.box.x_offset + obj.box.width] = crop.astype(bool)
                assert obj.state == msg.ObjectSegmentation.STATE_NEW, obj.status_message
                node_masks[obj.id] = full
            assert set(node_masks) == set(ids), (sorted(node_masks), sorted(ids))
            direct = _direct_masks(engine, scene, [
                UserPrompt(box=scene.boxes[k], object_id=i, track=False) for i, k in ids.items()])
            for object_id, k in ids.items():
                engine_ious.append((object_id, _iou(node_masks[object_id], direct[object_id])))
                truth_ious.append(_iou(node_masks[object_id], scene.instance_masks[k]))
        assert all(iou >= 0.99 for _, iou in engine_ious), engine_ious
        assert len(truth_ious) == 21 and float(np.mean(truth_ious)) >= 0.70, truth_ious
    finally:
        harness.close()
