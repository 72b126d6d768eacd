"""Bad start-up parameters, parameter files, model files, checkpoints and bags: one clear line.

Each runs the installed command as a user would (the node, `edgesam-ros export`,
`edgesam-ros segment-bag`) and checks its exit code and what it says; nothing may print a
traceback, and a refused pickle must not run its code.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from robust_node import MODEL, model_args, run_node

pytestmark = pytest.mark.ros
EDGESAM_ROS = [sys.executable, "-m", "edgesam_ros.cli"]


def _no_traceback(out: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in out.stderr + out.stdout, out.stderr


def test_every_bad_start_up_parameter_is_named_with_what_it_accepts():
    out = run_node(*model_args(), "-p", "mode:=everything", "-p", "tracker.min_stability:=3.0",
                   "-p", "engine.providers:=[quantum]", "-p", "max_objects:=many",
                   "-p", "depth.enabled:=maybe", "-p", "limits.max_points:=0",
                   "-p", "image.depth:=0", "-p", "prompts.queue_depth:=-1",
                   "-p", "limits.max_image_pixels:=1.5")
    assert out.returncode == 1
    for says in ("mode = 'everything': expected one of prompt, auto, both",
                 "tracker.min_stability = 3.0: expected a number in [0.0, 1.0]",
                 "engine.providers = ['quantum']: expected a list of",
                 "max_objects = 'many': expected an integer in [1, 65535]",
                 "depth.enabled = 'maybe': expected true or false",
                 "limits.max_points = 0: expected an integer in [1, 10000]",
                 "image.depth = 0: expected an integer in [1, 100]",
                 "prompts.queue_depth = -1: expected an integer >= 0",
                 "limits.max_image_pixels = 1.5: expected an integer in [1, 178956970]"):
        assert says in out.stderr, out.stderr
    _no_traceback(out)


class _Exploit:
    """Unpickling this would create a marker file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bad_files")
    truncated = root / "truncated.onnx"
    truncated.write_bytes((MODEL / "decoder.onnx").read_bytes()[:2000])
    text = root / "text.onnx"
    text.write_text("not a model\n")
    broken_yaml = root / "broken.yaml"
    broken_yaml.write_text("/**:\n  ros__parameters: [mode: {\n")
    evil = root / "evil.pth"
    evil.write_bytes(pickle.dumps({"model": _Exploit(root / "pwned")}, protocol=2))
    return {"dir": root, "truncated": truncated, "text": text, "broken_yaml": broken_yaml,
            "evil": evil}


@pytest.mark.parametrize(("encoder", "decoder", "says"), [
    ("dir", "good", "expected an ONNX model file; found a directory (give the .onnx file in it)"),
    ("good", "truncated", "expected an ONNX model; found a file onnxruntime cannot load"),
    ("text", "good", "expected an ONNX model; found a file onnxruntime cannot load"),
    ("missing", "good", "expected an ONNX model file; found no such file"),
    ("good", "empty", "model.encoder and model.decoder must both be set"),
], ids=["directory", "truncated", "text", "missing", "half-pair"])
def test_bad_model_files_stop_start_up_naming_the_file(bad_files, encoder, decoder, says):
    def path(kind: str, part: str) -> str:
        special = {"good": MODEL / f"{part}.onnx", "missing": bad_files["dir"] / "nope.onnx"}
        return "''" if kind == "empty" else str({**bad_files, **special}[kind])

    out = run_node("-p", f"model.encoder:={path(encoder, 'encoder')}",
                   "-p", f"model.decoder:={path(decoder, 'decoder')}",
                   "-p", "engine.providers:=[cpu]")
    assert out.returncode == 1
    assert says in out.stderr, out.stderr
    _no_traceback(out)


@pytest.mark.parametrize("params_file", ["missing", "broken_yaml"])
def test_a_missing_or_broken_params_file_is_one_line(bad_files, params_file):
    path = bad_files.get(params_file, bad_files["dir"] / "missing.yaml")
    out = run_node("--params-file", str(path))
    assert out.returncode == 2
    (line,) = [ln for ln in out.stderr.splitlines() if ln.startswith("segment_node:")]
    assert line.startswith(f"segment_node: cannot start: failed to initialize rcl: Couldn't "
                           f"parse params file: '--params-file {path}'")
    _no_traceback(out)


def test_a_malicious_checkpoint_is_refused_without_running_its_code(bad_files, tmp_path):
    pytest.importorskip("torch", reason="the exporter needs PyTorch")
    out_dir = tmp_path / "export"
    out = subprocess.run([*EDGESAM_ROS, "export", str(bad_files["evil"]), "-o", str(out_dir)],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().startswith(
        f"edgesam-ros export: error: {bad_files['evil']}: refused, not a pickle of plain tensors")
    assert "Unsupported global" in out.stderr
    assert not (bad_files["dir"] / "pwned").exists() and not out_dir.exists()


def test_a_bag_with_a_malformed_message_is_one_line(tmp_path):
    pytest.importorskip("rosbags", reason="the bag tools need rosbags")
    from edgesam_ros.bags.storage import SENSOR_QOS, BagWriter

    with BagWriter(tmp_path / "bag", "mcap") as writer:
        writer.add_topic("/camera/image_raw", "sensor_msgs/msg/Image", SENSOR_QOS)
        writer.write_raw("/camera/image_raw", 5, b"\x00\x01\x00\x00" + b"\xff" * 40)
    encoder, decoder = MODEL / "encoder.onnx", MODEL / "decoder.onnx"
    out = subprocess.run([*EDGESAM_ROS, "segment-bag", str(tmp_path / "bag"),
                          str(tmp_path / "out"), "--box", "1,1,9,9", "--no-progress",
                          "--encoder", str(encoder), "--decoder", str(decoder)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    (line,) = [ln for ln in out.stderr.splitlines() if "error" in ln]
    assert line.startswith(f"segment-bag: error: {tmp_path / 'bag'}: the message at 5 ns on "
                           "/camera/image_raw is not a valid sensor_msgs/msg/Image")
    _no_traceback(out)
    assert not (tmp_path / "out").exists()
