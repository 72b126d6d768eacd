"""Export EdgeTAM to the four ONNX graphs the memory tracker drives (docs/edgetam.md).

One graph per stateless step of :class:`edgesam_ros.models.edgetam.EdgeTam`; the memory bank
between them is numpy state in :mod:`edgesam_ros.tracking.memory_bank`:

==================  =========================================================================
file                inputs -> outputs (B objects, F memory frames, P object pointers, N points)
==================  =========================================================================
image_encoder       ``image [1, 3, S, S]`` -> ``feat_s0``, ``feat_s1``, ``vision_features``,
                    ``vision_pos``
memory_attention    ``vision_features``, ``vision_pos``, ``memory [B, F, T, m]``,
                    ``memory_tpos [B, F]`` int64, ``object_pointers [B, P, C]`` ->
                    ``conditioned_features [B, C, h, w]``
decoder             ``features [B, C, h, w]``, ``no_memory [B]``, ``feat_s0``, ``feat_s1``,
                    ``point_coords [B, N, 2]``, ``point_labels [B, N]`` -> ``masks [B, 4, 4h,
                    4w]``, ``iou_predictions [B, 4]``, ``object_pointers [B, 4, C]``,
                    ``object_score_logits [B, 1]``
memory_encoder      ``vision_features``, ``masks [B, 1, 4h, 4w]``, ``binarize [B]`` ->
                    ``memory [B, T, m]``
==================  =========================================================================

The TorchScript exporter (``dynamo=False``) traces all four, as for EdgeSAM; RepViT is
re-parameterised first. Every file carries the same ``edgesam_ros.export_id`` (a digest of
the weights) so the runtime refuses a set mixed from two exports.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from pathlib import Path

import torch
from torch import nn

from ..engine.edgetam import GRAPH_FILES
from ..models.edge_sam import jitter_batchnorm
from ..models.edgetam import EdgeTam, EdgeTamConfig, build_edgetam, load_edgetam
from ..models.edgetam.memory_encoder import CXBlock
from ..models.repvit import reparameterize
from .onnx_export import RANDOM_SEED, _quiet_tracer, declare_output_dims, set_metadata, to_fp16

log = logging.getLogger(__name__)


class ImageEncoderGraph(nn.Module):
    def __init__(self, model: EdgeTam) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.model.encode_image(image)


class MemoryAttentionGraph(ImageEncoderGraph):
    def forward(self, vision_features: torch.Tensor, vision_pos: torch.Tensor,
                memory: torch.Tensor, memory_tpos: torch.Tensor, object_pointers: torch.Tensor
                ) -> torch.Tensor:
        return self.model.condition(vision_features, vision_pos, memory, memory_tpos,
                                    object_pointers)


class DecoderGraph(ImageEncoderGraph):
    def forward(self, features: torch.Tensor, no_memory: torch.Tensor, feat_s0: torch.Tensor,
                feat_s1: torch.Tensor, point_coords: torch.Tensor, point_labels: torch.Tensor
                ) -> tuple[torch.Tensor, ...]:
        return self.model.decode(features, no_memory, feat_s0, feat_s1, point_coords,
                                 point_labels)


class MemoryEncoderGraph(ImageEncoderGraph):
    def forward(self, vision_features: torch.Tensor, masks: torch.Tensor,
                binarize: torch.Tensor) -> torch.Tensor:
        return self.model.encode_memory(vision_features, masks, binarize)


def randomize(model: EdgeTam, seed: int = RANDOM_SEED) -> EdgeTam:
    """Random weights that exercise every branch: BN statistics jittered (RepViT blocks start
    as identities) and ConvNeXt layer scales raised from 1e-6 (the fuser would be a no-op)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        jitter_batchnorm(model, seed)
        for m in model.modules():
            if isinstance(m, CXBlock):
                m.gamma.copy_(0.5 * torch.randn(m.gamma.shape, generator=gen))
    return model


def prepare_edgetam(checkpoint: str | Path | None, variant: str | EdgeTamConfig = "edgetam",
                    *, random_init: bool = False) -> EdgeTam:
    """Load (or randomly initialise, seeded) EdgeTAM; un-fused, eval mode."""
    if checkpoint is not None:
        return load_edgetam(checkpoint, variant)
    if not random_init:
        raise ValueError("give a checkpoint, or random_init=True for random weights")
    torch.manual_seed(RANDOM_SEED)
    return randomize(build_edgetam(variant))


def persist_buffers(model: nn.Module) -> nn.Module:
    """Make every non-persistent buffer persistent, in place, before tracing.

    The TorchScript exporter inlines a non-persistent buffer as a separate constant at every
    use: the RoPE cos/sin tables (2 MB each) became 24 constants and 63 MB instead of 15 MB
    of memory-attention graph. Persistent buffers are stored once as initializers.
    """
    for module in model.modules():
        for name in list(module._non_persistent_buffers_set):
            module.register_buffer(name, getattr(module, name), persistent=True)
    return model


def weights_digest(model: EdgeTam) -> str:
    """Short digest of every tensor: the id shared by the four files of one export."""
    h = hashlib.sha256()
    for key, value in sorted(model.state_dict().items()):
        h.update(key.encode())
        h.update(value.detach().float().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def metadata(model: EdgeTam, graph: str, export_id: str) -> dict[str, str]:
    """``edgesam_ros.*`` metadata_props the runtime reads and checks."""
    cfg = model.config
    return {
        "edgesam_ros.family": "edgetam",
        "edgesam_ros.graph": graph,
        "edgesam_ros.export_id": export_id,
        "edgesam_ros.variant": cfg.name,
        "edgesam_ros.image_size": str(cfg.image_size),
        "edgesam_ros.pixel_mean": ",".join(str(v) for v in cfg.pixel_mean),
        "edgesam_ros.pixel_std": ",".join(str(v) for v in cfg.pixel_std),
        "edgesam_ros.hidden_dim": str(cfg.hidden_dim),
        "edgesam_ros.mem_dim": str(cfg.mem_dim),
        "edgesam_ros.memory_tokens": str(cfg.memory_tokens),
        "edgesam_ros.num_maskmem": str(cfg.num_maskmem),
        "edgesam_ros.max_obj_ptrs": str(cfg.max_obj_ptrs),
    }


def example_inputs(cfg: EdgeTamConfig) -> dict[str, tuple[torch.Tensor, ...]]:
    """Tracing inputs per graph (B = 2, F = 3, P = 2, N = 3: every dynamic axis > 1)."""
    gen = torch.Generator().manual_seed(1)
    c, m, h, s = cfg.hidden_dim, cfg.mem_dim, cfg.embedding_size, cfg.image_size
    feats = torch.randn(1, c, h, h, generator=gen)
    s0 = torch.randn(1, c // 8, 4 * h, 4 * h, generator=gen)
    s1 = torch.randn(1, c // 4, 2 * h, 2 * h, generator=gen)
    return {
        "image_encoder": (torch.randn(1, 3, s, s, generator=gen),),
        "memory_attention": (feats, torch.randn(1, c, h, h, generator=gen),
                             torch.randn(2, 3, cfg.memory_tokens, m, generator=gen),
                             torch.tensor([[6, 0, 1], [6, 6, 2]]).clamp(max=cfg.num_maskmem - 1),
                             torch.randn(2, 2, c, generator=gen)),
        "decoder": (torch.randn(2, c, h, h, generator=gen), torch.tensor([1.0, 0.0]), s0, s1,
                    s * torch.rand(2, 3, 2, generator=gen),
                    torch.tensor([[2.0, 3.0, 1.0], [1.0, 0.0, -1.0]])),
        "memory_encoder": (feats, torch.randn(2, 1, 4 * h, 4 * h, generator=gen),
                           torch.tensor([1.0, 0.0])),
    }


_NAMES: dict[str, tuple[list[str], list[str]]] = {
    "image_encoder": (["image"], ["feat_s0", "feat_s1", "vision_features", "vision_pos"]),
    "memory_attention": (["vision_features", "vision_pos", "memory", "memory_tpos",
                          "object_pointers"], ["conditioned_features"]),
    "decoder": (["features", "no_memory", "feat_s0", "feat_s1", "point_coords", "point_labels"],
                ["masks", "iou_predictions", "object_pointers", "object_score_logits"]),
    "memory_encoder": (["vision_features", "masks", "binarize"], ["memory"]),
}

_DYNAMIC: dict[str, dict[str, dict[int, str]]] = {
    "image_encoder": {},
    "memory_attention": {"memory": {0: "B", 1: "F"}, "memory_tpos": {0: "B", 1: "F"},
                         "object_pointers": {0: "B", 1: "P"}, "conditioned_features": {0: "B"}},
    "decoder": {"features": {0: "B"}, "no_memory": {0: "B"}, "point_coords": {0: "B", 1: "N"},
                "point_labels": {0: "B", 1: "N"}, "masks": {0: "B"}, "iou_predictions": {0: "B"},
                "object_pointers": {0: "B"}, "object_score_logits": {0: "B"}},
    "memory_encoder": {"masks": {0: "B"}, "binarize": {0: "B"}, "memory": {0: "B"}},
}

_GRAPHS: dict[str, type[nn.Module]] = {
    "image_encoder": ImageEncoderGraph, "memory_attention": MemoryAttentionGraph,
    "decoder": DecoderGraph, "memory_encoder": MemoryEncoderGraph,
}


def output_dims(cfg: EdgeTamConfig) -> dict[str, list[int | str]]:
    """Documented output shapes (tracing leaves reshape-derived dims unnamed)."""
    c, h = cfg.hidden_dim, cfg.embedding_size
    return {"conditioned_features": ["B", c, h, h], "masks": ["B", 4, 4 * h, 4 * h],
            "iou_predictions": ["B", 4], "object_pointers": ["B", 4, c],
            "object_score_logits": ["B", 1], "memory": ["B", cfg.memory_tokens, cfg.mem_dim]}


def export_graph(model: EdgeTam, graph: str, path: Path, opset: int = 17) -> Path:
    """Trace one graph of an (already re-parameterised) model to ``path``."""
    inputs, outputs = _NAMES[graph]
    with _quiet_tracer():
        torch.onnx.export(_GRAPHS[graph](model), example_inputs(model.config)[graph], str(path),
                          dynamo=False, opset_version=opset, input_names=inputs,
                          output_names=outputs, dynamic_axes=_DYNAMIC[graph])
    declare_output_dims(path, {k: v for k, v in output_dims(model.config).items()
                               if k in outputs})
    return path


def export_edgetam(checkpoint: str | Path | None, out_dir: str | Path, *,
                   variant: str | EdgeTamConfig = "edgetam", fp16: bool = False,
                   random_init: bool = False, opset: int = 17) -> dict[str, Path]:
    """Write the four graphs (and ``*.fp16.onnx`` with ``fp16``); returns paths by name."""
    if opset < 17:
        raise ValueError("opset >= 17 required (LayerNormalization-era ops, SDPA export)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = prepare_edgetam(checkpoint, variant, random_init=random_init)
    export_id = weights_digest(model)
    fused = persist_buffers(copy.deepcopy(model))
    reparameterize(fused.image_encoder.trunk)
    written: dict[str, Path] = {}
    for graph, name in GRAPH_FILES.items():
        written[graph] = export_graph(fused, graph, out / name, opset)
        if fp16:
            written[f"{graph}_fp16"] = to_fp16(written[graph], out / name.replace(".onnx",
                                                                                ".fp16.onnx"))
    for key, path in written.items():
        set_metadata(path, metadata(model, key.removesuffix("_fp16"), export_id))
        log.info("wrote %s", path)
    return written
