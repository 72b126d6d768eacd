"""INT8 quantisation of the exported ONNX files with ``onnxruntime.quantization``.

The encoder is a conv network: dynamic quantisation only covers MatMul/Gemm and leaves its
convs in float, so it gets static QDQ quantisation (per-channel int8 weights, uint8
activations) calibrated on procedural images. The decoder's cost is MatMul on per-prompt
image tokens; it gets dynamic quantisation of its weights, which needs no calibration.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_dynamic,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from ..models.config import EdgeSamConfig

#: Calibration set size: enough for stable min/max ranges, small enough to export quickly.
CALIBRATION_IMAGES = 8
#: Encoder ops given int8 kernels (QLinearConv/Add/Mul/Sigmoid). GELU, the SE mean and the
#: neck's LayerNormalization stay float between DequantizeLinear/QuantizeLinear: ORT has
#: no int8 kernels for them, and quantising LayerNormalization's 1-D scale per channel
#: only earns a warning.
ENCODER_INT8_OPS = ["Conv", "Add", "Mul", "Sigmoid"]


def procedural_image(size: int, rng: np.random.Generator) -> np.ndarray:
    """uint8 RGB ``size`` x ``size`` image: smooth gradient background, filled shapes, noise."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    base = rng.uniform(0, 255, 3) * (1 - xx[..., None]) + rng.uniform(0, 255, 3) * yy[..., None]
    img = np.clip(base, 0, 255).astype(np.uint8)
    for _ in range(rng.integers(3, 9)):
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = (int(v) for v in rng.integers(0, size, 2))
        r = int(rng.integers(size // 20, size // 4))
        if rng.random() < 0.5:
            cv2.circle(img, (x, y), r, color, -1)
        else:
            cv2.rectangle(img, (x - r, y - r // 2), (x + r, y + r // 2), color, -1)
    noise = rng.normal(0, 8, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def normalize(img: np.ndarray, cfg: EdgeSamConfig) -> np.ndarray:
    """uint8 HxWx3 RGB to the encoder's ``[1, 3, S, S]`` float input."""
    x = (img.astype(np.float32) - np.array(cfg.pixel_mean, np.float32)) / np.array(
        cfg.pixel_std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


class _Feeds(CalibrationDataReader):
    def __init__(self, feeds: list[dict[str, np.ndarray]]) -> None:
        self._it = iter(feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)


def encoder_calibration(cfg: EdgeSamConfig, count: int = CALIBRATION_IMAGES, seed: int = 0
                        ) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [{"image": normalize(procedural_image(cfg.image_size, rng), cfg)}
            for _ in range(count)]


@contextmanager
def _preprocessed(src: Path) -> Iterator[Path]:
    """ORT's recommended pre-quantisation pass (shape inference, graph clean-up) in a tmp file."""
    with tempfile.TemporaryDirectory() as tmp:
        prepped = Path(tmp) / "prep.onnx"
        quant_pre_process(str(src), str(prepped), skip_symbolic_shape=True)
        yield prepped


def quantize_encoder(src: Path, dst: Path, cfg: EdgeSamConfig) -> Path:
    """Static QDQ int8 with per-channel weights, calibrated with min/max on procedural images."""
    with _preprocessed(src) as prepped:
        quantize_static(
            str(prepped), str(dst), _Feeds(encoder_calibration(cfg)),
            quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax, op_types_to_quantize=ENCODER_INT8_OPS,
            extra_options={"CalibTensorRangeSymmetric": False})
    return dst


def quantize_decoder(src: Path, dst: Path) -> Path:
    """Dynamic int8 weights for MatMul/Gemm; activations are quantised per call."""
    with _preprocessed(src) as prepped:
        quantize_dynamic(str(prepped), str(dst), weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul", "Gemm"])
    return dst


def quantize_part(src: Path, dst: Path, part: str, cfg: EdgeSamConfig) -> Path:
    """Quantise ``encoder`` or ``decoder`` ``src`` to ``dst``."""
    if part == "encoder":
        return quantize_encoder(src, dst, cfg)
    if part == "decoder":
        return quantize_decoder(src, dst)
    raise ValueError(f"unknown part {part!r}")


def session(path: Path | str, threads: int = 1) -> ort.InferenceSession:
    """CPU session with a fixed thread count and the engine's optimisation level
    (``edgesam_ros.engine.providers``), for calibration checks and benchmarks."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
