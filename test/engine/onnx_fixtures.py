"""Tiny ONNX models with the exact interfaces of each SAM-family export, for tests.

No real weights are needed to test the engine's plumbing, only files whose names, ranks and
static/dynamic dimensions match the real ones and whose outputs are known functions of the inputs:

* encoder: average-pool the image by `stride`, then a fixed 1x1 conv to `channels`, so the
  embedding is a checkable function of the preprocessed image (`reference_embedding`);
* decoder: low-res logits are signed distances in low-res pixels, so a returned mask can be
  checked against geometry in the original image:
  - mask 0: the prompt box (corners labelled 2 and 3) if there is one, else a disk of radius
    `RADII[0]` around the centroid of the foreground points (label 1); plus
    `has_mask_input * mask_input` when the decoder has a mask input;
  - masks 1..3: disks of radius `RADII[1..3]` around that centroid;
  radii are fractions of the prompt frame; coordinates are normalised as the real graphs do,
  (x + 0.5) / frame. Labels -1 (padding) and 0 are ignored. Scores are `IOU_SCORES` per row.

`write_pair(directory, preset)` writes an encoder/decoder pair for one of `PRESETS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8
RADII = (0.10, 0.04, 0.07, 0.12)
IOU_SCORES = (0.5, 0.9, 0.3, 0.6)

Dim = int | str


@dataclass(frozen=True)
class EncoderSpec:
    """Interface of a fake encoder: `input_name` [batch, in_channels, S, S] -> embeddings."""

    input_name: str = "image"
    image_size: int = 64
    stride: int = 16
    channels: int = 8
    batch: Dim = 1
    in_channels: int = 3
    output_name: str = "image_embeddings"
    #: (K, 4) boxes in the encoder frame and (K,) scores, emitted as RPN outputs if given.
    proposals: tuple[np.ndarray, np.ndarray] | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def embedding_shape(self) -> tuple[int, int, int]:
        side = self.image_size // self.stride
        return self.channels, side, side


@dataclass(frozen=True)
class DecoderSpec:
    """Interface of a fake decoder; `outputs` lists (name, role) with role in
    {"scores", "logits", "upsampled"} in the file's output order."""

    prompt_frame: int = 64
    embedding: tuple[int, int, int] = (8, 4, 4)
    batch: Dim = "batch"
    mask_input: bool = True
    orig_im_size: bool = False
    outputs: tuple[tuple[str, str], ...] = (("scores", "scores"), ("masks", "logits"))
    mask_count: int = 4
    coord_size: int = 2
    extra_input: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def low_res(self) -> int:
        return 4 * self.embedding[1]


def _ours_metadata(size: int, frame: int) -> dict[str, str]:
    return {
        "edgesam_ros.family": "edgesam",
        "edgesam_ros.variant": "test",
        "edgesam_ros.image_size": str(size),
        "edgesam_ros.prompt_frame": str(frame),
        "edgesam_ros.pixel_mean": "123.675,116.28,103.53",
        "edgesam_ros.pixel_std": "58.395,57.12,57.375",
    }


_SAM_OUTPUTS = (("masks", "upsampled"), ("iou_predictions", "scores"),
                ("low_res_masks", "logits"))
_FULL_EMBEDDING = (8, 64, 64)

#: Interfaces of the real exports, with small channel counts (sizes as the real files).
PRESETS: dict[str, tuple[EncoderSpec, DecoderSpec]] = {
    "edgesam_official": (
        EncoderSpec(image_size=1024),
        DecoderSpec(prompt_frame=1024, embedding=_FULL_EMBEDDING, batch=1, mask_input=False),
    ),
    "edgesam_ros": (
        EncoderSpec(image_size=256, metadata=_ours_metadata(256, 256)),
        DecoderSpec(prompt_frame=256, embedding=(8, 16, 16), metadata=_ours_metadata(256, 256)),
    ),
    "sam": (
        EncoderSpec(image_size=1024),
        DecoderSpec(prompt_frame=1024, embedding=_FULL_EMBEDDING, batch=1, orig_im_size=True,
                    outputs=_SAM_OUTPUTS),
    ),
    "sam_single_mask": (
        EncoderSpec(image_size=1024),
        DecoderSpec(prompt_frame=1024, embedding=_FULL_EMBEDDING, batch=1, orig_im_size=True,
                    outputs=_SAM_OUTPUTS, mask_count=1),
    ),
    "mobilesam": (
        EncoderSpec(image_size=1024),
        DecoderSpec(prompt_frame=1024, embedding=_FULL_EMBEDDING, batch=1, orig_im_size=True,
                    outputs=_SAM_OUTPUTS, metadata={"edgesam_ros.family": "mobilesam"}),
    ),
    "efficientvit_l": (
        EncoderSpec(input_name="input_image", image_size=512, stride=8, batch="batch_size"),
        DecoderSpec(prompt_frame=1024, embedding=_FULL_EMBEDDING, batch="batch_size",
                    mask_input=False,
                    outputs=(("masks", "logits"), ("iou_predictions", "scores"))),
    ),
    "efficientvit_xl": (
        EncoderSpec(input_name="input_image", image_size=1024, batch="batch_size"),
        DecoderSpec(prompt_frame=1024, embedding=_FULL_EMBEDDING, batch="batch_size",
                    mask_input=False,
                    outputs=(("masks", "logits"), ("iou_predictions", "scores"))),
    ),
}


def _save(graph: onnx.GraphProto, path: Path, metadata: dict[str, str]) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    if metadata:
        helper.set_model_props(model, metadata)
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def _const(name: str, value: np.ndarray | float | list) -> onnx.TensorProto:
    array = np.asarray(value)
    if array.dtype == np.float64:
        array = array.astype(np.float32)
    return numpy_helper.from_array(array, name)


def encoder_weights(spec: EncoderSpec) -> np.ndarray:
    """(C, in_channels) 1x1-conv weights: channel c copies input channel c % 3, scaled."""
    weights = np.zeros((spec.channels, spec.in_channels), np.float32)
    for c in range(spec.channels):
        weights[c, c % spec.in_channels] = 1.0 + c // spec.in_channels
    return weights


def reference_embedding(spec: EncoderSpec, tensor: np.ndarray) -> np.ndarray:
    """What the fake encoder computes for a (1, 3, S, S) input, in plain numpy."""
    s, k = spec.image_size, spec.stride
    pooled = tensor.reshape(1, spec.in_channels, s // k, k, s // k, k).mean(axis=(3, 5))
    return np.einsum("ci,bihw->bchw", encoder_weights(spec), pooled)


def build_encoder(spec: EncoderSpec, path: Path) -> Path:
    s, k = spec.image_size, spec.stride
    c, h, w = spec.embedding_shape
    weights = encoder_weights(spec).reshape(c, spec.in_channels, 1, 1)
    nodes = [
        helper.make_node("AveragePool", [spec.input_name], ["pooled"], kernel_shape=[k, k],
                         strides=[k, k]),
        helper.make_node("Conv", ["pooled", "conv_w"], [spec.output_name]),
    ]
    outputs = [helper.make_tensor_value_info(spec.output_name, TensorProto.FLOAT,
                                             [spec.batch, c, h, w])]
    initializers = [_const("conv_w", weights)]
    if spec.proposals is not None:
        boxes, scores = spec.proposals
        nodes += [
            helper.make_node("Constant", [], ["proposal_boxes"],
                             value=_const("boxes_value", np.asarray(boxes, np.float32))),
            helper.make_node("Constant", [], ["proposal_scores"],
                             value=_const("scores_value", np.asarray(scores, np.float32))),
        ]
        outputs += [
            helper.make_tensor_value_info("proposal_boxes", TensorProto.FLOAT, ["K", 4]),
            helper.make_tensor_value_info("proposal_scores", TensorProto.FLOAT, ["K"]),
        ]
    inputs = [helper.make_tensor_value_info(spec.input_name, TensorProto.FLOAT,
                                            [spec.batch, spec.in_channels, s, s])]
    graph = helper.make_graph(nodes, "fake_encoder", inputs, outputs, initializers)
    return _save(graph, path, spec.metadata)


def _grid(low_res: int) -> tuple[np.ndarray, np.ndarray]:
    """Normalised frame coordinates of the low-res pixel centres, (1, 1, L, L) each."""
    centres = (np.arange(low_res, dtype=np.float32) + 0.5) / low_res
    gy, gx = np.meshgrid(centres, centres, indexing="ij")
    return gx[None, None], gy[None, None]


def _decoder_nodes(spec: DecoderSpec) -> list[onnx.NodeProto]:
    """The signed-distance drawing described in the module docstring."""
    n = helper.make_node
    nodes = [
        n("Add", ["point_coords", "half"], ["shifted"]),
        n("Div", ["shifted", "frame"], ["pn"]),
    ]
    # Weighted sums of the normalised points per label: centroid of label 1, corners 2 and 3.
    for tag, label in (("fg", "one"), ("tl", "two"), ("br", "three")):
        nodes += [
            n("Equal", ["point_labels", label], [f"{tag}_eq"]),
            n("Cast", [f"{tag}_eq"], [f"{tag}_w2"], to=TensorProto.FLOAT),
            n("Unsqueeze", [f"{tag}_w2", "axis2"], [f"{tag}_w"]),
            n("Mul", ["pn", f"{tag}_w"], [f"{tag}_pw"]),
            n("ReduceSum", [f"{tag}_pw", "axis1"], [f"{tag}_sum"], keepdims=1),
            n("ReduceSum", [f"{tag}_w", "axis1"], [f"{tag}_count"], keepdims=1),
            n("Max", [f"{tag}_count", "eps"], [f"{tag}_den"]),
            n("Div", [f"{tag}_sum", f"{tag}_den"], [f"{tag}_mean"]),
            n("Unsqueeze", [f"{tag}_mean", "axis3"], [f"{tag}_m4"]),
            n("Slice", [f"{tag}_m4", "i0", "i1", "axis2"], [f"{tag}_x"]),
            n("Slice", [f"{tag}_m4", "i1", "i2", "axis2"], [f"{tag}_y"]),
        ]
    nodes += [
        n("Sub", ["gx", "fg_x"], ["dx"]),
        n("Sub", ["gy", "fg_y"], ["dy"]),
        n("Mul", ["dx", "dx"], ["dx2"]),
        n("Mul", ["dy", "dy"], ["dy2"]),
        n("Add", ["dx2", "dy2"], ["d2"]),
        n("Sqrt", ["d2"], ["dist"]),
        n("Sub", ["radii", "dist"], ["disk_norm"]),
        n("Mul", ["disk_norm", "low_res"], ["disks"]),
        n("Sub", ["gx", "tl_x"], ["left"]),
        n("Sub", ["br_x", "gx"], ["right"]),
        n("Sub", ["gy", "tl_y"], ["top"]),
        n("Sub", ["br_y", "gy"], ["bottom"]),
        n("Min", ["left", "right", "top", "bottom"], ["box_norm"]),
        n("Mul", ["box_norm", "low_res"], ["box_sdf"]),
        n("Unsqueeze", ["tl_count", "axis3"], ["tl_count4"]),
        n("Min", ["tl_count4", "one"], ["has_box"]),
        n("Sub", ["one", "has_box"], ["no_box"]),
        n("Slice", ["disks", "i0", "i1", "axis1"], ["disk0"]),
        n("Mul", ["has_box", "box_sdf"], ["box_part"]),
        n("Mul", ["no_box", "disk0"], ["disk_part"]),
        n("Add", ["box_part", "disk_part"], ["mask0_prompt"]),
        # The embedding only has to be consumed, not to matter.
        n("ReduceMean", ["image_embeddings"], ["emb_mean"], keepdims=1),
        n("Mul", ["emb_mean", "zero"], ["emb_zero"]),
    ]
    mask0 = "mask0_prompt"
    if spec.mask_input:
        nodes += [
            n("Unsqueeze", ["has_mask_input", "axes123"], ["has_mask4"]),
            n("Mul", ["has_mask4", "mask_input"], ["mask_part"]),
            n("Add", ["mask0_prompt", "mask_part"], ["mask0_with_input"]),
        ]
        mask0 = "mask0_with_input"
    if spec.mask_count == 4:
        nodes += [
            n("Slice", ["disks", "i1", "i4", "axis1"], ["multi"]),
            n("Concat", [mask0, "multi"], ["all_masks"], axis=1),
        ]
    else:
        nodes.append(n("Identity", [mask0], ["all_masks"]))
    roles = {role: name for name, role in spec.outputs}
    nodes += [
        n("Add", ["all_masks", "emb_zero"], [roles["logits"]]),
        n("Shape", ["point_coords"], ["coords_shape"]),
        n("Slice", ["coords_shape", "i0", "i1", "axis0"], ["batch_dim"]),
        n("Concat", ["batch_dim", "mask_count"], ["scores_shape"], axis=0),
        n("Expand", ["iou_scores", "scores_shape"], [roles["scores"]]),
    ]
    if "upsampled" in roles:
        nodes += [
            n("Shape", [roles["logits"]], ["logits_shape"]),
            n("Slice", ["logits_shape", "i0", "i2", "axis0"], ["bm_dims"]),
            n("Cast", ["orig_im_size"], ["orig_int"], to=TensorProto.INT64),
            n("Concat", ["bm_dims", "orig_int"], ["up_sizes"], axis=0),
            n("Resize", [roles["logits"], "", "", "up_sizes"], [roles["upsampled"]],
              mode="linear"),
        ]
    return nodes


def _decoder_constants(spec: DecoderSpec) -> list[onnx.TensorProto]:
    gx, gy = _grid(spec.low_res)
    ints = {"i0": 0, "i1": 1, "i2": 2, "axis0": 0, "axis1": 1, "axis2": 2, "axis3": 3}
    if spec.mask_count == 4:
        ints["i4"] = 4
    return [
        _const("half", 0.5), _const("frame", float(spec.prompt_frame)),
        _const("one", 1.0), _const("two", 2.0), _const("three", 3.0),
        _const("eps", 1e-6), _const("zero", 0.0), _const("low_res", float(spec.low_res)),
        _const("gx", gx), _const("gy", gy),
        _const("radii", np.array(RADII, np.float32).reshape(1, 4, 1, 1)),
        _const("iou_scores", np.array(IOU_SCORES[: spec.mask_count], np.float32)[None]),
        _const("mask_count", np.array([spec.mask_count], np.int64)),
        *(_const(name, np.array([v], np.int64)) for name, v in ints.items()),
    ] + ([_const("axes123", np.array([1, 2, 3], np.int64))] if spec.mask_input else [])


def build_decoder(spec: DecoderSpec, path: Path) -> Path:
    c, h, w = spec.embedding
    lr = spec.low_res
    b = spec.batch
    f = TensorProto.FLOAT
    inputs = [
        helper.make_tensor_value_info("image_embeddings", f, [1, c, h, w]),
        helper.make_tensor_value_info("point_coords", f, [b, "num_points", spec.coord_size]),
        helper.make_tensor_value_info("point_labels", f, [b, "num_points"]),
    ]
    if spec.mask_input:
        inputs += [
            helper.make_tensor_value_info("mask_input", f, [b, 1, lr, lr]),
            helper.make_tensor_value_info("has_mask_input", f, [b]),
        ]
    if spec.orig_im_size:
        inputs.append(helper.make_tensor_value_info("orig_im_size", f, [2]))
    if spec.extra_input:
        inputs.append(helper.make_tensor_value_info(spec.extra_input, f, [1]))
    shapes = {
        "scores": [b, spec.mask_count],
        "logits": [b, spec.mask_count, lr, lr],
        "upsampled": [b, spec.mask_count, "height", "width"],
    }
    outputs = [helper.make_tensor_value_info(name, f, shapes[role]) for name, role in spec.outputs]
    graph = helper.make_graph(_decoder_nodes(spec), "fake_decoder", inputs, outputs,
                              _decoder_constants(spec))
    return _save(graph, path, spec.metadata)


def write_pair(
    directory: Path,
    preset: str,
    encoder: dict | None = None,
    decoder: dict | None = None,
) -> tuple[Path, Path]:
    """Encoder and decoder files of `preset`, fields overridden by the `encoder`/`decoder` dicts."""
    enc_spec, dec_spec = PRESETS[preset]
    enc_spec = replace(enc_spec, **(encoder or {}))
    dec_spec = replace(dec_spec, **(decoder or {}))
    directory = Path(directory)
    return (
        build_encoder(enc_spec, directory / f"{preset}_encoder.onnx"),
        build_decoder(dec_spec, directory / f"{preset}_decoder.onnx"),
    )


def expected_disk(
    original_size: tuple[int, int], point: tuple[float, float], radius: float, frame: int
) -> np.ndarray:
    """Bool (H, W) disk the fake decoder draws for a point, mapped back to original pixels."""
    h, w = original_size
    scale = frame / max(h, w)
    sx, sy = int(w * scale + 0.5) / w, int(h * scale + 0.5) / h
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    cx, cy = (point[0] * sx + 0.5) / frame, (point[1] * sy + 0.5) / frame
    px, py = (xs + 0.5) * sx / frame, (ys + 0.5) * sy / frame
    return (px - cx) ** 2 + (py - cy) ** 2 < radius**2
