"""Execution-provider fallback: one warning per provider that cannot run, the real one reported."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

import pytest

from edgesam_ros.engine import EngineConfig, SamEngine
from edgesam_ros.engine import providers as providers_module
from edgesam_ros.engine.providers import ProviderChain, trt_profile


def test_gpu_providers_fall_back_to_cpu_with_one_line_each(model_pair, caplog):
    encoder, decoder = model_pair("edgesam_ros")
    with caplog.at_level(logging.WARNING, logger="edgesam_ros.engine"):
        engine = SamEngine(encoder, decoder, EngineConfig(intra_op_threads=1, warmup=False))
    lines = [r.getMessage() for r in caplog.records if r.name == "edgesam_ros.engine"]
    assert len(lines) == 2
    assert "TensorrtExecutionProvider is not available" in lines[0]
    assert "falling back to CPUExecutionProvider" in lines[0]
    assert "CUDAExecutionProvider is not available" in lines[1]
    assert engine.info.encoder_provider == "CPUExecutionProvider"
    assert engine.info.decoder_provider == "CPUExecutionProvider"


def test_unknown_provider_name_is_a_config_error():
    with pytest.raises(ValueError, match="unknown execution provider 'gpu'"):
        EngineConfig(providers=("gpu", "cpu"))
    assert EngineConfig(providers=("trt", "CUDAExecutionProvider", "cuda")).provider_names == [
        "TensorrtExecutionProvider", "CUDAExecutionProvider"]


class RecordingSession:
    """Stands in for onnxruntime.InferenceSession on a machine whose GPU libraries are broken:
    it records what it was asked for and, like onnxruntime, quietly runs on CPU."""

    calls: ClassVar[list[tuple[str, list]]] = []

    def __init__(self, path: str, options: object, providers: list) -> None:
        RecordingSession.calls.append((path, providers))

    def get_providers(self) -> list[str]:
        return ["CPUExecutionProvider"]


def test_tensorrt_options_and_load_failures_are_reported(monkeypatch, tmp_path: Path, caplog):
    available = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.setattr(providers_module.ort, "get_available_providers", lambda: available)
    monkeypatch.setattr(providers_module.ort, "InferenceSession", RecordingSession)
    RecordingSession.calls.clear()
    cache = tmp_path / "trt"
    chain = ProviderChain(EngineConfig(trt_cache_dir=str(cache), device_id=1))
    profile = trt_profile({"point_labels": [(1, 1, 8), (1, 2, 16)]})
    with caplog.at_level(logging.WARNING, logger="edgesam_ros.engine"):
        _, used = chain.open("decoder.onnx", "decoder", profile)
        chain.open("encoder.onnx", "encoder")
    assert used == "CPUExecutionProvider"
    (name, trt), (cuda_name, cuda), (cpu_name, _) = RecordingSession.calls[0][1]
    assert (name, cuda_name, cpu_name) == tuple(available)
    assert trt["trt_fp16_enable"] is True and trt["trt_engine_cache_enable"] is True
    assert trt["trt_engine_cache_path"] == str(cache) and cache.is_dir()
    assert trt["device_id"] == 1 and cuda == {"device_id": 1}
    assert trt["trt_profile_max_shapes"] == "point_labels:8x16"
    failures = [r.getMessage() for r in caplog.records]
    assert len(failures) == 2  # once per provider, not once per model
    assert "TensorrtExecutionProvider failed to load for the decoder" in failures[0]
    assert "running on CPUExecutionProvider" in failures[1]


def test_trt_profile_strings():
    ranges = {"point_coords": [(1, 1, 16), (1, 2, 16), (2, 2, 2)], "has_mask_input": [(1, 1, 16)]}
    assert trt_profile(ranges) == {
        "trt_profile_min_shapes": "point_coords:1x1x2,has_mask_input:1",
        "trt_profile_opt_shapes": "point_coords:1x2x2,has_mask_input:1",
        "trt_profile_max_shapes": "point_coords:16x16x2,has_mask_input:16",
    }
    assert trt_profile({}) == {}


def test_engine_profiles_cover_dynamic_decoder_inputs_only(engine_for):
    batched = engine_for("edgesam_ros", max_decoder_batch=4)._decoder_profile_ranges()
    assert set(batched) == {"point_coords", "point_labels", "mask_input", "has_mask_input"}
    assert batched["mask_input"] == [(1, 1, 4), (1, 1, 1), (64, 64, 64), (64, 64, 64)]
    official = engine_for("edgesam_official")._decoder_profile_ranges()
    assert official["point_coords"][0] == (1, 1, 1)  # static batch of the official file
