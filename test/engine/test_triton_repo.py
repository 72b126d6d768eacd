"""`edgesam-ros triton-repo`: model repositories Triton accepts, with batching where it is safe.

Every written `config.pbtxt` is parsed with Triton's own ModelConfig protobuf schema (shipped
with tritonclient), so a field Triton does not know fails here, not on the GPU server.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from edgesam_ros.cli import main as cli_main
from edgesam_ros.serving.repository import PYTHON_MODEL, RepositoryOptions, write_repository

ENCODER_CONFIG = """\
name: "edgesam_encoder"
backend: "onnxruntime"
max_batch_size: 8
input [
  { name: "image" data_type: TYPE_FP32 dims: [ 3, 1024, 1024 ] }
]
output [
  { name: "image_embeddings" data_type: TYPE_FP32 dims: [ 8, 64, 64 ] }
]
dynamic_batching { max_queue_delay_microseconds: 2000 }
instance_group [ { count: 1 kind: KIND_GPU } ]
optimization { execution_accelerators { gpu_execution_accelerator: [ {
  name: "tensorrt"
  parameters { key: "precision_mode" value: "FP16" }
  parameters { key: "max_workspace_size_bytes" value: "1073741824" }
  parameters { key: "trt_engine_cache_enable" value: "1" }
  parameters { key: "trt_engine_cache_path" value: "/trt_cache/edgesam_encoder" }
} ] } }
"""


def parse(path) -> model_config_pb2.ModelConfig:
    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


def test_official_pair_gets_a_batched_tensorrt_encoder_and_a_dynamic_decoder(model_pair,
                                                                             tmp_path, capsys):
    encoder, decoder = model_pair("edgesam_official")
    assert cli_main(["triton-repo", str(encoder), str(decoder), str(tmp_path), "--tensorrt"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        f"edgesam_encoder: {tmp_path / 'edgesam_encoder'} (dynamic batch axis added "
        "(batch 2 checked against two single frames))")
    assert (tmp_path / "edgesam_encoder" / "config.pbtxt").read_text() == ENCODER_CONFIG
    parse(tmp_path / "edgesam_encoder" / "config.pbtxt")
    served = onnx.load(str(tmp_path / "edgesam_encoder" / "1" / "model.onnx"))
    assert [d.dim_param or d.dim_value for d in
            served.graph.input[0].type.tensor_type.shape.dim] == ["batch", 3, 1024, 1024]
    decoder_config = parse(tmp_path / "edgesam_decoder" / "config.pbtxt")
    assert decoder_config.max_batch_size == 0 and not decoder_config.HasField("dynamic_batching")
    assert {t.name: list(t.dims) for t in decoder_config.input} == {
        "image_embeddings": [1, 8, 64, 64], "point_coords": [1, -1, 2], "point_labels": [1, -1]}
    assert not decoder_config.optimization.execution_accelerators.gpu_execution_accelerator
    assert (tmp_path / "edgesam_decoder" / "1" / "model.onnx").read_bytes() == decoder.read_bytes()


def test_our_export_keeps_its_metadata_and_dynamic_object_axis(model_pair, tmp_path):
    encoder, decoder = model_pair("edgesam_ros")
    write_repository(encoder, decoder, tmp_path, RepositoryOptions(instances=2, kind="cpu"))
    config = parse(tmp_path / "edgesam_decoder" / "config.pbtxt")
    assert {t.name: list(t.dims) for t in config.input}["point_coords"] == [-1, -1, 2]
    assert config.parameters["edgesam_ros.image_size"].string_value == "256"
    assert [(g.count, g.kind) for g in config.instance_group] == [
        (2, model_config_pb2.ModelInstanceGroup.KIND_CPU)]


def test_encoder_without_a_batch_axis_on_every_output_is_served_unbatched(model_pair, tmp_path):
    """RPN outputs ([K, 4] proposals) have no batch axis: Triton could not split a batch."""
    boxes = np.array([[0, 0, 8, 8], [4, 4, 20, 20]], np.float32)
    encoder, decoder = model_pair("edgesam_ros", encoder={
        "proposals": (boxes, np.array([0.9, 0.8], np.float32))})
    written = write_repository(encoder, decoder, tmp_path)
    assert not written[0].batched
    assert written[0].note.startswith("not every encoder tensor has a leading batch axis")
    config = parse(tmp_path / "edgesam_encoder" / "config.pbtxt")
    assert config.max_batch_size == 0 and not config.HasField("dynamic_batching")
    assert list(config.input[0].dims) == [1, 3, 256, 256]


def test_python_backend_repository_serves_the_same_files_with_our_model(model_pair, tmp_path):
    encoder, decoder = model_pair("edgesam_ros")
    write_repository(encoder, decoder, tmp_path,
                     RepositoryOptions(backend="python", threads=1, tensorrt=True))
    for name in ("edgesam_encoder", "edgesam_decoder"):
        config = parse(tmp_path / name / "config.pbtxt")
        assert config.backend == "python"
        assert config.parameters["intra_op_threads"].string_value == "1"
        assert [g.kind for g in config.instance_group] == [
            model_config_pb2.ModelInstanceGroup.KIND_CPU]
        assert not config.optimization.execution_accelerators.gpu_execution_accelerator
        assert (tmp_path / name / "1" / "model.py").read_text() == PYTHON_MODEL.read_text()


def test_unknown_backend_is_refused(model_pair, tmp_path):
    with pytest.raises(ValueError, match="backend must be one of"):
        write_repository(*model_pair("edgesam_ros"), tmp_path, RepositoryOptions(backend="tf"))


def test_a_missing_model_file_is_one_line(model_pair, tmp_path, capsys):
    _, decoder = model_pair("edgesam_ros")
    missing = tmp_path / "encoder.onnx"
    assert cli_main(["triton-repo", str(missing), str(decoder), str(tmp_path / "repo")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("edgesam-ros triton-repo: error: ") and str(missing) in err
    assert "\n" not in err and not (tmp_path / "repo").exists()


def test_the_bundled_pair_is_marked_so_the_served_engine_keeps_its_mask_choice(model_pair,
                                                                                  tmp_path):
    """Served, the bundled files' path no longer identifies them: the repository marks them and
    the engine reads the mark, so its mask-choice rule is the bundled model's on either backend."""
    from edgesam_ros.engine import EngineConfig, SamEngine
    from edgesam_ros.engine.bundled import BUNDLED_KEY, bundled_model_paths
    from edgesam_ros.engine.selection import BUNDLED_RULE, FAMILY_RULES

    write_repository(*bundled_model_paths(), tmp_path / "bundled",
                     RepositoryOptions(kind="cpu"))
    assert parse(tmp_path / "bundled" / "edgesam_encoder" / "config.pbtxt").parameters[
        BUNDLED_KEY].string_value == "true"
    write_repository(*model_pair("edgesam_ros"), tmp_path / "ours", RepositoryOptions(kind="cpu"))
    ours = parse(tmp_path / "ours" / "edgesam_encoder" / "config.pbtxt")
    assert BUNDLED_KEY not in ours.parameters
    marked, _ = model_pair("edgesam_ros", encoder={"metadata": {"edgesam_ros.family": "edgesam",
                                                                 BUNDLED_KEY: "true"}})
    cpu = EngineConfig(providers=("cpu",), warmup=False)
    assert SamEngine(marked, model_pair("edgesam_ros")[1], cpu).selection == BUNDLED_RULE
    assert SamEngine(*model_pair("edgesam_ros"), cpu).selection == FAMILY_RULES["edgesam"]
