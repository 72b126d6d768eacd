"""Export EdgeSAM to the two ONNX files the engine loads (contract: docs/architecture.md).

Path chosen for torch 2.13: the TorchScript exporter (``torch.onnx.export(...,
dynamo=False)``) is still present and traces these models without graph breaks; it takes
``dynamic_axes`` for the decoder's B and N axes directly and writes one self-contained
file. The dynamo exporter (the new default, which breaks upstream's script) is not needed.
Before tracing, RepViT is re-parameterised and the neck's x2 upsampling set to ``upsample``:
``"bicubic"`` (default) is the mode the official weights were trained and evaluated with, and
torch exports it as ONNX ``Resize`` mode ``cubic`` with ``cubic_coeff_a=-0.75`` (PyTorch's
coefficient) and half-pixel coordinates, which onnxruntime computes as PyTorch does;
``"bilinear"`` is what upstream's ONNX/CoreML export scripts switch to, for runtimes without a
cubic resize (the embedding then differs from the trained model's by about 1). The mode is
recorded as ``edgesam_ros.upsample`` metadata.

Speed on ONNX Runtime's CPU provider (measured on the full model, one thread): the traced
graph already gets its GELUs fused (erf pattern to ``Gelu``) and every conv in the NCHWc
layout, like upstream's export. What remained avoidable was the neck's LayerNorm2d, traced
as nine elementwise/reduce ops over the ``[1, 256, 64, 64]`` map; :class:`ChannelsLastNorm`
exports it as one LayerNormalization between transposes (~4% of the encoder). Not done, as
measured: tanh-approximate GELU is not fused by ORT 1.31 and costs +40% (so there is no
``--gelu-approximate`` option); the fp32 encoder is no faster with opset-20 ``Gelu`` (the
INT8 one is, see :data:`GELU_OPSET`); SE pooling as GlobalAveragePool gains nothing; 1x1
convs of the wide early stages as Gemm lose the NCHWc residual fusion (+2-7%). The decoder
graph is restructured for batches of prompts (:mod:`.decoder_graph`).
"""

from __future__ import annotations

import copy
import logging
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

import onnx
import torch
from torch import nn
from torch.nn import functional as F

from ..models import EdgeSam, EdgeSamConfig, build_model, load_checkpoint
from ..models.common import LayerNorm2d
from ..models.config import UPSAMPLE_MODES
from ..models.edge_sam import jitter_batchnorm
from .decoder_graph import DecoderGraph

log = logging.getLogger(__name__)

#: Seed of ``random_init`` exports so teammates get identical random models.
RANDOM_SEED = 0
ENCODER_FILE = "encoder.onnx"
DECODER_FILE = "decoder.onnx"
#: Opset of the graph the INT8 encoder is quantised from. Its ``Gelu`` op stays one float
#: node between QLinearConvs; at opset 17 the quantiser turns each traced erf-GELU into
#: five Q/DQ-wrapped elementwise ops, which cost the INT8 encoder ~20% (2.05x vs 1.65x over
#: fp32, full model, one thread). The fp32/fp16 files keep ``opset`` for older runtimes
#: (TensorRT 8, ORT < 1.17 lack opset 20); INT8 QDQ files target ORT's CPU provider.
GELU_OPSET = 20


class ChannelsLastNorm(nn.Module):
    """:class:`LayerNorm2d` (same weights, same math) as an NHWC ``LayerNormalization``.

    ORT runs it as one kernel, and its NCHWc pass turns the first transpose into the
    reorder it needs anyway; the traced mean/var formula costs nine memory passes.
    """

    def __init__(self, norm: LayerNorm2d) -> None:
        super().__init__()
        self.norm = norm
        self.channels = int(norm.weight.shape[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.norm
        y = F.layer_norm(x.permute(0, 2, 3, 1), (self.channels,), n.weight, n.bias, n.eps)
        return y.permute(0, 3, 1, 2)


def channels_last_norms(module: nn.Module) -> nn.Module:
    """Swap every :class:`LayerNorm2d` below ``module`` for :class:`ChannelsLastNorm`."""
    for name, child in module.named_children():
        if isinstance(child, LayerNorm2d):
            setattr(module, name, ChannelsLastNorm(child))
        else:
            channels_last_norms(child)
    return module


class EncoderGraph(nn.Module):
    """``image`` to ``image_embeddings`` (+ ``proposal_boxes``, ``proposal_scores``).

    Works on a copy of ``model`` with the neck's norms swapped for export.
    """

    def __init__(self, model: EdgeSam, rpn: bool) -> None:
        super().__init__()
        self.model = copy.deepcopy(model)
        channels_last_norms(self.model.image_encoder)
        self.rpn = rpn

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        emb, stages = self.model.image_encoder.forward_features(image)
        if not self.rpn:
            return (emb,)
        boxes, scores = self.model.propose(stages)
        return emb, boxes[0], scores[0]


def prepare_model(checkpoint: str | Path | None, variant: str | EdgeSamConfig, *,
                  rpn: bool = False,
                  random_init: bool = False,
                  upsample: str = "bicubic") -> EdgeSam:
    """Load (or randomly initialise) and fuse a model ready for tracing."""
    if upsample not in UPSAMPLE_MODES:
        raise ValueError(f"upsample must be one of {UPSAMPLE_MODES}, got {upsample!r}")
    if checkpoint is None and not random_init:
        raise ValueError("give a checkpoint, or random_init=True for random weights")
    if checkpoint is not None:
        model = load_checkpoint(checkpoint, variant)
        if rpn and not model.config.rpn:
            raise ValueError(f"{checkpoint} has no RPN weights (rpn_head.*); export without rpn")
    else:
        model = jitter_batchnorm(build_model(variant, rpn=rpn, seed=RANDOM_SEED), RANDOM_SEED)
    model.image_encoder.set_upsample_mode(upsample)
    return model.fuse()


def metadata(model: EdgeSam) -> dict[str, str]:
    """``edgesam_ros.*`` metadata_props written on both files."""
    cfg = model.config
    return {
        "edgesam_ros.family": "edgesam",
        "edgesam_ros.variant": cfg.name,
        "edgesam_ros.image_size": str(cfg.image_size),
        "edgesam_ros.prompt_frame": str(cfg.image_size),
        "edgesam_ros.pixel_mean": ",".join(str(v) for v in cfg.pixel_mean),
        "edgesam_ros.pixel_std": ",".join(str(v) for v in cfg.pixel_std),
        "edgesam_ros.upsample": model.image_encoder.upsample_mode,
    }


def declare_output_dims(path: Path, dims: dict[str, list[int | str]]) -> None:
    """Write the documented output shapes; tracing leaves reshape-derived dims unnamed."""
    proto = onnx.load(str(path))
    for out in proto.graph.output:
        if out.name in dims:
            shape = out.type.tensor_type.shape
            del shape.dim[:]
            for d in dims[out.name]:
                if isinstance(d, str):
                    shape.dim.add().dim_param = d
                else:
                    shape.dim.add().dim_value = d
    onnx.save(proto, str(path))


def set_metadata(path: Path, props: dict[str, str]) -> None:
    """Replace the file's ``metadata_props`` with ``props`` (other keys kept)."""
    proto = onnx.load(str(path))
    kept = {p.key: p.value for p in proto.metadata_props if p.key not in props}
    del proto.metadata_props[:]
    for key, value in {**kept, **props}.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.save(proto, str(path))


@contextmanager
def _quiet_tracer():
    """Silence the TorchScript exporter's deprecation and tracer chatter; it is chosen on
    purpose (see the module docstring) and its shape branches are static here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        yield


def export_encoder(model: EdgeSam, path: Path, opset: int = 17, rpn: bool = False) -> Path:
    size = model.config.image_size
    names = ["image_embeddings"] + (["proposal_boxes", "proposal_scores"] if rpn else [])
    with _quiet_tracer():
        torch.onnx.export(
            EncoderGraph(model, rpn), (torch.zeros(1, 3, size, size),), str(path), dynamo=False,
            input_names=["image"], output_names=names, opset_version=opset)
    return path


def export_decoder(model: EdgeSam, path: Path, opset: int = 17) -> Path:
    cfg = model.config
    h = cfg.embedding_size
    b, n = 2, 3
    args = (
        torch.zeros(1, cfg.embed_dim, h, h),
        torch.linspace(0, cfg.image_size, b * n * 2).reshape(b, n, 2),
        torch.tensor([[1.0, 0.0, -1.0], [2.0, 3.0, 1.0]]),
        torch.zeros(b, 1, 4 * h, 4 * h),
        torch.tensor([0.0, 1.0]),
    )
    with _quiet_tracer():
        torch.onnx.export(
            DecoderGraph(model), args, str(path), dynamo=False, opset_version=opset,
            input_names=["image_embeddings", "point_coords", "point_labels", "mask_input",
                         "has_mask_input"],
            output_names=["scores", "masks"],
            dynamic_axes={"point_coords": {0: "B", 1: "N"}, "point_labels": {0: "B", 1: "N"},
                          "mask_input": {0: "B"}, "has_mask_input": {0: "B"},
                          "scores": {0: "B"}, "masks": {0: "B"}})
    k = cfg.num_mask_tokens
    declare_output_dims(path, {"scores": ["B", k], "masks": ["B", k, 4 * h, 4 * h]})
    return path


def to_fp16(src: Path, dst: Path) -> Path:
    """Float16 weights and compute with float32 inputs/outputs (the interface is unchanged).

    Uses the converter shipped in onnxruntime (``onnxruntime.transformers.float16``), a copy
    of onnxconverter-common's, so no extra package is needed.
    """
    from onnxruntime.transformers.float16 import convert_float_to_float16

    onnx.save(convert_float_to_float16(onnx.load(str(src)), keep_io_types=True), str(dst))
    return dst


def export_onnx(
    checkpoint: str | Path | None,
    variant: str | EdgeSamConfig,
    out_dir: str | Path,
    *,
    fp16: bool = False,
    int8: bool = False,
    rpn: bool = False,
    random_init: bool = False,
    opset: int = 17,
    upsample: str = "bicubic",
) -> dict[str, Path]:
    """Write ``encoder.onnx``/``decoder.onnx`` (and ``*.fp16.onnx``, ``*.int8.onnx``).

    Returns the written paths keyed ``encoder``, ``decoder``, ``encoder_fp16``, ...
    """
    if opset < 17:
        raise ValueError("opset >= 17 required (LayerNormalization-era ops, SDPA export)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = prepare_model(checkpoint, variant, rpn=rpn, random_init=random_init,
                          upsample=upsample)
    props = metadata(model)
    written = {
        "encoder": export_encoder(model, out / ENCODER_FILE, opset, rpn),
        "decoder": export_decoder(model, out / DECODER_FILE, opset),
    }
    for part in ("encoder", "decoder"):
        stem = written[part].with_suffix("")
        if fp16:
            written[f"{part}_fp16"] = to_fp16(written[part], stem.with_suffix(".fp16.onnx"))
        if int8:
            from .quantize import quantize_part

            with tempfile.TemporaryDirectory() as tmp:
                src = written[part]
                if part == "encoder" and opset < GELU_OPSET:
                    src = export_encoder(model, Path(tmp) / ENCODER_FILE, GELU_OPSET, rpn)
                written[f"{part}_int8"] = quantize_part(
                    src, stem.with_suffix(".int8.onnx"), part, model.config)
    for path in written.values():
        set_metadata(path, props)
        log.info("wrote %s", path)
    return written
