"""Triton Python-backend model that runs the ONNX file beside it on onnxruntime (CPU).

`edgesam-ros triton-repo --backend python` copies this file as `<model>/1/model.py`. It exists
because the `tritonserver` of the `nvidia-pytriton` wheel (the test server) has no onnxruntime
backend: with it the tests serve our own ONNX files under the same names, shapes and batching as
the onnxruntime-backend repository that production uses. It runs inside the server's own Python
(tools/setup_triton.sh), never in the project's environment, and imports only numpy, onnxruntime
and Triton's `triton_python_backend_utils`.

With `max_batch_size > 0` the requests Triton's dynamic batcher hands over together are
concatenated on the batch axis and run as ONE onnxruntime call, as the onnxruntime backend does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    """The interface the Python backend calls: initialize once, execute per batch of requests."""

    def initialize(self, args: dict[str, str]) -> None:
        config = json.loads(args["model_config"])
        self.batching = int(config.get("max_batch_size", 0)) > 0
        self.inputs = [tensor["name"] for tensor in config["input"]]
        self.outputs = [tensor["name"] for tensor in config["output"]]
        parameters = config.get("parameters", {})
        threads = int(parameters.get("intra_op_threads", {}).get("string_value", "0"))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        path = Path(args["model_repository"]) / args["model_version"] / "model.onnx"
        self.session = ort.InferenceSession(str(path), options,
                                            providers=["CPUExecutionProvider"])

    def _feed(self, request: Any) -> dict[str, np.ndarray]:
        return {name: pb_utils.get_input_tensor_by_name(request, name).as_numpy()
                for name in self.inputs}

    def _response(self, arrays: list[np.ndarray]) -> Any:
        return pb_utils.InferenceResponse(output_tensors=[
            pb_utils.Tensor(name, np.ascontiguousarray(array))
            for name, array in zip(self.outputs, arrays, strict=True)
        ])

    def execute(self, requests: list[Any]) -> list[Any]:
        try:
            feeds = [self._feed(request) for request in requests]
            if not self.batching or len(feeds) == 1:
                return [self._response(self.session.run(self.outputs, f)) for f in feeds]
            merged = {name: np.concatenate([f[name] for f in feeds]) for name in self.inputs}
            results = self.session.run(self.outputs, merged)
            ends = np.cumsum([len(f[self.inputs[0]]) for f in feeds])[:-1]
            split = [np.split(array, ends) for array in results]
            return [self._response([parts[i] for parts in split]) for i in range(len(feeds))]
        except Exception as error:  # every request gets the reason instead of a dead stub
            message = f"{type(error).__name__}: {error}"
            return [pb_utils.InferenceResponse(error=pb_utils.TritonError(message))
                    for _ in requests]
