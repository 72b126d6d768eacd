"""The encoder and decoder on a Triton Inference Server, over gRPC (`tritonclient`).

The models' interfaces come from the server (model metadata: names, shapes, datatypes; model
configuration: the `edgesam_ros.*` parameters `edgesam-ros triton-repo` copies from the ONNX
metadata), so a wrong or missing model fails at start with `ModelError` naming the server, the
model and what is wrong, as a wrong file does. At run time every request has a deadline
(`EngineConfig.triton_timeout_s`); a failed request raises `InferenceError` and loses only that
frame. gRPC reconnects by itself when the server comes back; its reconnect back-off is capped at
`RECONNECT_BACKOFF_MS` so a node notices within about a second instead of gRPC's two minutes.

Frames from several cameras (several engines, one per node) reach the server as separate
requests: the server's dynamic batcher merges them into one encoder call.
"""

from __future__ import annotations

import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException, np_to_triton_dtype, triton_to_np_dtype

from edgesam_ros.engine.config import EngineConfig
from edgesam_ros.engine.errors import InferenceError, ModelError
from edgesam_ros.engine.model_io import ModelIO, TensorInfo

RECONNECT_BACKOFF_MS = 1000
#: tritonclient's own defaults (messages up to 2 GB), which custom channel arguments replace.
_MAX_MESSAGE = 2**31 - 1
CHANNEL_ARGS = [
    ("grpc.max_send_message_length", _MAX_MESSAGE),
    ("grpc.max_receive_message_length", _MAX_MESSAGE),
    ("grpc.initial_reconnect_backoff_ms", RECONNECT_BACKOFF_MS // 5),
    ("grpc.min_reconnect_backoff_ms", RECONNECT_BACKOFF_MS // 5),
    ("grpc.max_reconnect_backoff_ms", RECONNECT_BACKOFF_MS),
]


def describe_failure(error: InferenceServerException, timeout_s: float) -> str:
    """What a failed call means, in the operator's words."""
    status = str(error.status() or "")
    if "DEADLINE_EXCEEDED" in status or "Deadline Exceeded" in str(error.message()):
        return (f"no answer within {timeout_s:g} s (EngineConfig.triton_timeout_s; the node's "
                "engine.triton.timeout_s)")
    if "UNAVAILABLE" in status:
        return f"server unavailable ({error.message()})"
    return str(error.message())


def _dim(value: str | int) -> int | None:
    number = int(value)
    return number if number >= 0 else None


def _tensors(entries: list[dict]) -> dict[str, TensorInfo]:
    return {
        t["name"]: TensorInfo(t["name"], tuple(_dim(d) for d in t.get("shape", [])),
                              np.dtype(triton_to_np_dtype(t["datatype"])))
        for t in entries
    }


class TritonBackend:
    """Both models of one Triton server; sessions share one gRPC channel."""

    def __init__(self, config: EngineConfig) -> None:
        self.url = config.triton_url
        self.timeout_s = config.triton_timeout_s
        self._models = {"encoder": config.triton_encoder_model,
                        "decoder": config.triton_decoder_model}
        self.client = grpcclient.InferenceServerClient(self.url, channel_args=CHANNEL_ARGS)

    def where(self, model: str) -> str:
        """'Triton server <url>, model <name>': the "path" of a served model in messages."""
        return f"Triton server {self.url}, model {model!r}"

    def _call(self, model: str, expected: str, method: str, *args: object, **kw: object) -> object:
        try:
            return getattr(self.client, method)(*args, client_timeout=self.timeout_s, **kw)
        except InferenceServerException as error:
            raise ModelError(self.where(model), expected,
                             describe_failure(error, self.timeout_s)) from error

    def _read(self, role: str) -> ModelIO:
        model = self._models[role]
        self._call(model, "a reachable server", "is_server_live")
        if not self._call(model, "a ready model", "is_model_ready", model):
            index = self._call(model, "a ready model", "get_model_repository_index", as_json=True)
            served = sorted(
                f"{m['name']} ({m.get('state', 'unknown').lower()})"
                for m in index.get("models", [])
            )
            raise ModelError(self.where(model), f"a ready {role} model of that name",
                             f"the server has {', '.join(served) or 'no models'}")
        meta = self._call(model, "model metadata", "get_model_metadata", model, as_json=True)
        config = self._call(model, "a model configuration", "get_model_config", model,
                            as_json=True)["config"]
        parameters = {key: value.get("string_value", "")
                      for key, value in config.get("parameters", {}).items()}
        return ModelIO(
            path=self.where(model),
            inputs=_tensors(meta.get("inputs", [])),
            outputs=_tensors(meta.get("outputs", [])),
            metadata=parameters,
        )

    def model_io(self) -> tuple[ModelIO, ModelIO]:
        return self._read("encoder"), self._read("decoder")

    def open(
        self, io: ModelIO, role: str, trt_profile: dict[str, str] | None = None
    ) -> tuple[TritonSession, str]:
        """A session for the `role` model; TensorRT profiles are the server's business."""
        return TritonSession(self, self._models[role]), f"triton {self.url}"


class TritonSession:
    """One served model with onnxruntime's `run(output_names, feed)` call."""

    def __init__(self, backend: TritonBackend, model: str) -> None:
        self._backend = backend
        self.model = model

    def run(self, output_names: list[str], feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        inputs = []
        for name, value in feed.items():
            array = np.ascontiguousarray(value)
            tensor = grpcclient.InferInput(name, list(array.shape), np_to_triton_dtype(array.dtype))
            tensor.set_data_from_numpy(array)
            inputs.append(tensor)
        outputs = [grpcclient.InferRequestedOutput(name) for name in output_names]
        backend = self._backend
        try:
            result = backend.client.infer(self.model, inputs, outputs=outputs,
                                          client_timeout=backend.timeout_s)
        except InferenceServerException as error:
            raise InferenceError(f"{backend.where(self.model)}: "
                                 f"{describe_failure(error, backend.timeout_s)}") from error
        return [result.as_numpy(name) for name in output_names]
