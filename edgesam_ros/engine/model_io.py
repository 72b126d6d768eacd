"""What an ONNX file declares (input/output names, shapes, types, metadata), read before use.

Reading happens in a plain CPU session without graph optimisation so a wrong file is reported in
milliseconds, before a TensorRT provider spends minutes building an engine for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from edgesam_ros.engine.errors import ModelError

Dim = int | str | None

#: onnxruntime type strings of the tensors SAM-style models exchange.
ORT_DTYPES = {
    "tensor(float)": np.dtype(np.float32),
    "tensor(float16)": np.dtype(np.float16),
    "tensor(double)": np.dtype(np.float64),
    "tensor(int64)": np.dtype(np.int64),
    "tensor(int32)": np.dtype(np.int32),
    "tensor(bool)": np.dtype(np.bool_),
}


@dataclass(frozen=True)
class TensorInfo:
    """One graph input or output; a dimension is an int when static, else its symbol or None."""

    name: str
    shape: tuple[Dim, ...]
    dtype: np.dtype

    def describe(self) -> str:
        dims = ", ".join("?" if d is None else str(d) for d in self.shape)
        return f"{self.name} [{dims}]"


@dataclass(frozen=True)
class ModelIO:
    """The interface of one model file."""

    path: str
    inputs: dict[str, TensorInfo]
    outputs: dict[str, TensorInfo]
    metadata: dict[str, str]

    def describe(self) -> str:
        """'inputs a [1, 3], b [?]; outputs c [..]' for error messages."""
        ins = ", ".join(t.describe() for t in self.inputs.values())
        outs = ", ".join(t.describe() for t in self.outputs.values())
        return f"inputs {ins}; outputs {outs}"


def _tensor_info(arg: ort.NodeArg) -> TensorInfo:
    return TensorInfo(
        name=arg.name,
        shape=tuple(arg.shape) if arg.shape is not None else (),
        dtype=ORT_DTYPES.get(arg.type, np.dtype(np.float32)),
    )


def read_model_io(path: str | Path) -> ModelIO:
    """The declared interface of `path`; ModelError if it is missing or not loadable ONNX."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ModelError(path, "an ONNX model file", "a directory (give the .onnx file in it)")
    if not path.is_file():
        raise ModelError(path, "an ONNX model file", "no such file")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 4
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises several unrelated types for unreadable files
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        found = f"a file onnxruntime cannot load ({first_line})"
        raise ModelError(path, "an ONNX model", found) from exc
    return ModelIO(
        path=str(path),
        inputs={a.name: _tensor_info(a) for a in session.get_inputs()},
        outputs={a.name: _tensor_info(a) for a in session.get_outputs()},
        metadata=dict(session.get_modelmeta().custom_metadata_map),
    )
