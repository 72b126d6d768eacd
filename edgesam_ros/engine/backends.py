"""Where the encoder and decoder run: the seam between `SamEngine` and an inference runtime.

A backend reads both models' interfaces (`ModelIO`, so `detect_signature` checks a served model
exactly like a file) and opens one session per model whose `run(output_names, feed)` returns the
outputs in order, as an onnxruntime session does. Everything above the engine (tracker, node,
bags, eval, bench) is unaware of which backend runs.

| backend  | models                                | sessions                                |
|----------|---------------------------------------|-----------------------------------------|
| `local`  | ONNX files                            | onnxruntime, `EngineConfig.providers`   |
| `triton` | a Triton server's repository (gRPC)   | `triton_backend.TritonSession`          |
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from edgesam_ros.engine.config import EngineConfig
from edgesam_ros.engine.model_io import ModelIO, read_model_io
from edgesam_ros.engine.providers import ProviderChain


class Session(Protocol):
    """What the engine calls on a model (onnxruntime's `InferenceSession.run` signature)."""

    def run(self, output_names: list[str], feed: dict[str, np.ndarray]) -> list[np.ndarray]: ...


class Backend(Protocol):
    """Reads the models' interfaces, then opens a session per model."""

    def model_io(self) -> tuple[ModelIO, ModelIO]: ...

    def open(
        self, io: ModelIO, role: str, trt_profile: dict[str, str] | None = None
    ) -> tuple[Session, str]: ...


class LocalBackend:
    """onnxruntime sessions on ONNX files, on the best execution provider that loads."""

    def __init__(self, encoder_path: str | Path, decoder_path: str | Path,
                 config: EngineConfig) -> None:
        self._paths = encoder_path, decoder_path
        self._config = config
        self._chain: ProviderChain | None = None

    def model_io(self) -> tuple[ModelIO, ModelIO]:
        return read_model_io(self._paths[0]), read_model_io(self._paths[1])

    def open(
        self, io: ModelIO, role: str, trt_profile: dict[str, str] | None = None
    ) -> tuple[Session, str]:
        if self._chain is None:  # after the interfaces were checked: no provider warnings first
            self._chain = ProviderChain(self._config)
        return self._chain.open(io.path, role, trt_profile)


def open_backend(
    encoder_path: str | Path | None, decoder_path: str | Path | None, config: EngineConfig
) -> Backend:
    """The backend `config.backend` names; the Triton one ignores the paths (it names models)."""
    if config.backend == "triton":
        from edgesam_ros.engine.triton_backend import TritonBackend  # tritonclient only here

        return TritonBackend(config)
    if encoder_path is None or decoder_path is None:
        raise ValueError("the local backend needs an encoder and a decoder ONNX file")
    return LocalBackend(encoder_path, decoder_path, config)
