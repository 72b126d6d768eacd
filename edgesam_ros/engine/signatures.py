"""Which model family a pair of ONNX files belongs to, and the sizes the engine must use.

All family knowledge is in the `FAMILIES` table: tensor names, which output holds the low-res
logits, and the prompt frame. The engine code only reads the resulting `ModelSignature`.

| family       | decoder inputs                               | decoder outputs           | frame |
|--------------|----------------------------------------------|---------------------------|-------|
| edgesam      | image_embeddings, point_coords, point_labels | scores, masks             | = S   |
|              | (+ mask_input, has_mask_input: our exports)  |                           |       |
| sam          | ... + mask_input, has_mask_input,            | masks (upsampled),        | = S   |
| (mobilesam)  | orig_im_size                                 | iou_predictions, low_res  |       |
| efficientvit | image_embeddings, point_coords, point_labels | masks, iou_predictions    | 1024  |

EfficientViT-SAM L0-L2 encoders take 512 x 512 (XL: 1024) but the decoder always expects points in
the 1024 frame (mit-han-lab/efficientvit, applications/efficientvit_sam/deployment/onnx). MobileSAM
exports have exactly SAM's interface; they are told apart only by `edgesam_ros.family` metadata.

Encoders are accepted whatever their single input is called (SAM and MobileSAM ship no encoder
export, so users name it freely). A pair whose files do not fit together is refused naming both:
different embedding shapes, a stride-16 family whose encoder size is not 16 x the embedding side
(e.g. an EfficientViT-SAM L0 encoder, 512 -> 64, beside a MobileSAM decoder, 1024 -> 64), or
`edgesam_ros.*` metadata on which the two files disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from edgesam_ros.engine.errors import ModelError
from edgesam_ros.engine.model_io import Dim, ModelIO, TensorInfo
from edgesam_ros.engine.types import ModelShape

SAM_PIXEL_MEAN = (123.675, 116.28, 103.53)
SAM_PIXEL_STD = (58.395, 57.12, 57.375)
META_PREFIX = "edgesam_ros."

PROPOSAL_OUTPUTS = ("proposal_boxes", "proposal_scores")
MASK_INPUTS = ("mask_input", "has_mask_input")

#: Expected shapes per tensor name: ints must match, strings stand for any (or symbolic) size.
ENCODER_INPUT: tuple[Dim, ...] = ("B", 3, "S", "S")
SHAPES: dict[str, tuple[Dim, ...]] = {
    "image_embeddings": ("B", "C", "h", "w"),
    "proposal_boxes": ("K", 4),
    "proposal_scores": ("K",),
    "point_coords": ("B", "N", 2),
    "point_labels": ("B", "N"),
    "mask_input": ("B", 1, "H", "W"),
    "has_mask_input": ("B",),
    "orig_im_size": (2,),
    "scores": ("B", "M"),
    "iou_predictions": ("B", "M"),
    "masks": ("B", "M", "H", "W"),
    "low_res_masks": ("B", "M", "H", "W"),
}


@dataclass(frozen=True)
class Family:
    """The ONNX interface of one model family."""

    name: str
    title: str
    decoder_inputs: tuple[str, ...]
    decoder_outputs: tuple[str, ...]
    scores_output: str
    logits_output: str
    #: How a decoder exported with one output mask chose it inside its graph.
    single_mask_choice: str
    optional_decoder_inputs: tuple[str, ...] = ()
    #: Fixed prompt frame of the family's decoders (None: the encoder's input size).
    prompt_frame: int | None = None
    #: Encoder input size / embedding side, when every model of the family has the same.
    encoder_stride: int | None = 16

    def interface(self) -> str:
        optional = ""
        if self.optional_decoder_inputs:
            optional = f" [+ {', '.join(self.optional_decoder_inputs)}]"
        return (
            f"{self.title} (decoder inputs {', '.join(self.decoder_inputs)}{optional}; "
            f"outputs {', '.join(self.decoder_outputs)})"
        )


_SAM_DECODER_INPUTS = ("image_embeddings", "point_coords", "point_labels", *MASK_INPUTS,
                       "orig_im_size")
_SAM_DECODER_OUTPUTS = ("masks", "iou_predictions", "low_res_masks")

_SAM = Family(
    name="sam",
    title="SAM ONNX (segment-anything utils/onnx.py export)",
    decoder_inputs=_SAM_DECODER_INPUTS,
    decoder_outputs=_SAM_DECODER_OUTPUTS,
    scores_output="iou_predictions",
    logits_output="low_res_masks",
    single_mask_choice=(
        "return_single_mask: output 0 when the prompt has 3 or more tokens, else the best "
        "predicted IoU of outputs 1-3, so a lone box (2 tokens) gets the best of 1-3 where "
        "SamPredictor returns output 0"
    ),
)

FAMILIES: tuple[Family, ...] = (
    Family(
        name="edgesam",
        title="EdgeSAM (official or edgesam_ros export)",
        decoder_inputs=("image_embeddings", "point_coords", "point_labels"),
        optional_decoder_inputs=MASK_INPUTS,
        decoder_outputs=("scores", "masks"),
        scores_output="scores",
        logits_output="masks",
        single_mask_choice="a choice made by whoever exported it (neither EdgeSAM's script "
                           "nor edgesam-ros export writes single-mask decoders)",
    ),
    _SAM,
    replace(_SAM, name="mobilesam", title="MobileSAM (SAM's ONNX interface)"),
    Family(
        name="efficientvit",
        title="EfficientViT-SAM",
        decoder_inputs=("image_embeddings", "point_coords", "point_labels"),
        decoder_outputs=("masks", "iou_predictions"),
        scores_output="iou_predictions",
        logits_output="masks",
        single_mask_choice="--return-single-mask: the best predicted IoU of all 4 outputs for "
                           "every prompt, where the predictor returns output 0 for boxes and "
                           "several points",
        prompt_frame=1024,
        encoder_stride=None,  # L0-L2: 512 -> 64, XL: 1024 -> 64
    ),
)


@dataclass(frozen=True, kw_only=True)
class ModelSignature(ModelShape):
    """Everything the engine needs to know about a loaded encoder/decoder pair."""

    family: Family
    pixel_mean: np.ndarray
    pixel_std: np.ndarray
    encoder_input: TensorInfo
    decoder_inputs: dict[str, TensorInfo]
    #: Masks per prompt the decoder returns (None when the file leaves it dynamic).
    mask_count: int | None
    #: EdgeSAM neck upsampling recorded by `edgesam-ros export` (None: the file does not say).
    upsample: str | None = None


def family_by_name(name: str) -> Family:
    """The table entry called `name`; ValueError listing the known ones otherwise."""
    for family in FAMILIES:
        if family.name == name:
            return family
    raise ValueError(f"unknown model family {name!r}; known: {[f.name for f in FAMILIES]}")


def _fits(shape: tuple[Dim, ...], template: tuple[Dim, ...]) -> bool:
    if len(shape) != len(template):
        return False
    return all(
        not isinstance(t, int) or not isinstance(d, int) or d == t
        for d, t in zip(shape, template, strict=True)
    )


def _template(name: str) -> str:
    return f"{name} [{', '.join(str(d) for d in SHAPES[name])}]"


def _check_shapes(io: ModelIO, tensors: dict[str, TensorInfo]) -> None:
    for name, info in tensors.items():
        if name in SHAPES and not _fits(info.shape, SHAPES[name]):
            raise ModelError(io.path, _template(name), info.describe())


def _names_match(family: Family, decoder: ModelIO) -> bool:
    inputs = set(decoder.inputs)
    required = set(family.decoder_inputs)
    optional = set(family.optional_decoder_inputs)
    return (
        required <= inputs
        and inputs - required in (set(), optional)
        and set(family.decoder_outputs) <= set(decoder.outputs)
    )


def _metadata(encoder: ModelIO, decoder: ModelIO) -> dict[str, tuple[str, str]]:
    """`edgesam_ros.*` properties of both files as key -> (value, path); ModelError naming both
    files when they disagree on one (files of two different exports)."""
    merged: dict[str, tuple[str, str]] = {}
    for io in (encoder, decoder):
        for key, value in io.metadata.items():
            if not key.startswith(META_PREFIX):
                continue
            name = key[len(META_PREFIX):]
            if name in merged and merged[name][0] != value:
                raise ModelError(
                    decoder.path,
                    f"a decoder from the same export as encoder {encoder.path} "
                    f"({key} = {merged[name][0]!r})",
                    f"{key} = {value!r}",
                )
            merged[name] = (value, io.path)
    return merged


def _meta_numbers(
    meta: dict[str, tuple[str, str]], key: str, count: int
) -> tuple[float, ...] | None:
    if key not in meta:
        return None
    value, path = meta[key]
    try:
        numbers = tuple(float(v) for v in value.split(","))
    except ValueError:
        numbers = ()
    if len(numbers) != count:
        raise ModelError(path, f"metadata {META_PREFIX}{key} with {count} number(s)", repr(value))
    return numbers


def _choose_family(
    encoder: ModelIO, decoder: ModelIO, meta: dict[str, tuple[str, str]], forced: str | None
) -> Family:
    if forced is None and "family" in meta:
        value, path = meta["family"]
        try:
            forced = family_by_name(value).name
        except ValueError:
            known = ", ".join(f.name for f in FAMILIES)
            expected = f"metadata {META_PREFIX}family in ({known})"
            raise ModelError(path, expected, repr(value)) from None
    if forced is not None:
        family = family_by_name(forced)
        if not _names_match(family, decoder):
            raise ModelError(decoder.path, f"the decoder interface of {family.interface()}",
                             decoder.describe())
        return family
    for family in FAMILIES:
        if _names_match(family, decoder):
            return family
    expected = "the decoder interface of one of: " + "; ".join(f.interface() for f in FAMILIES)
    raise ModelError(decoder.path, expected, decoder.describe())


def _encoder_input(encoder: ModelIO) -> TensorInfo:
    """The encoder's one input, whatever its name, if it is an [B, 3, S, S] image."""
    template = f"[{', '.join(str(d) for d in ENCODER_INPUT)}]"
    if len(encoder.inputs) != 1 or not _fits(next(iter(encoder.inputs.values())).shape,
                                             ENCODER_INPUT):
        raise ModelError(encoder.path, f"one input {template} (any name): the normalised, "
                         "padded image", encoder.describe())
    return next(iter(encoder.inputs.values()))


def _image_size(encoder: ModelIO, image: TensorInfo, meta: dict[str, tuple[str, str]]) -> int:
    size = _meta_numbers(meta, "image_size", 1)
    h, w = image.shape[2], image.shape[3]
    if isinstance(h, int) and isinstance(w, int):
        if h != w or (size is not None and int(size[0]) != h):
            raise ModelError(encoder.path, "a square input [1, 3, S, S] (S as in the metadata)",
                             image.describe())
        return h
    if size is None:
        raise ModelError(encoder.path, f"a static input size or metadata {META_PREFIX}image_size",
                         image.describe())
    return int(size[0])


def _embedding_shape(encoder: ModelIO, decoder: ModelIO) -> tuple[int, int, int]:
    produced = encoder.outputs["image_embeddings"]
    consumed = decoder.inputs["image_embeddings"]
    merged = []
    for made, used in zip(produced.shape[1:], consumed.shape[1:], strict=True):
        if isinstance(made, int) and isinstance(used, int) and made != used:
            expected = (f"image_embeddings matching the {produced.describe()} of encoder "
                        f"{encoder.path}")
            raise ModelError(decoder.path, expected, consumed.describe())
        dim = made if isinstance(made, int) else used
        if not isinstance(dim, int):
            expected = "a static embedding shape in the encoder or decoder"
            raise ModelError(decoder.path, expected, consumed.describe())
        merged.append(dim)
    return merged[0], merged[1], merged[2]


def _check_stride(
    encoder: ModelIO, decoder: ModelIO, family: Family, image_size: int, side: int
) -> None:
    """A stride-16 family's decoder was trained on embeddings of a 16 x side input."""
    stride = family.encoder_stride
    if stride is not None and image_size != stride * side:
        raise ModelError(
            decoder.path,
            f"an encoder of {stride * side} x {stride * side} beside this {family.title} "
            f"decoder ({side} x {side} embeddings, stride {stride})",
            f"encoder {encoder.path} takes {image_size} x {image_size}: the two files are not "
            "one model (an EfficientViT-SAM L0-L2 encoder with another family's decoder?)",
        )


def _mask_count(decoder: ModelIO, family: Family) -> int | None:
    masks = decoder.outputs[family.logits_output].shape[1]
    return masks if isinstance(masks, int) else None


def _low_res_size(
    decoder: ModelIO, family: Family, embedding: tuple[int, int, int]
) -> tuple[int, int]:
    """Size of the logits: from the logits output, else the mask input, else SAM's 4x embedding."""
    for info in (decoder.outputs[family.logits_output], decoder.inputs.get("mask_input")):
        if info is not None and all(isinstance(d, int) for d in info.shape[2:]):
            return int(info.shape[2]), int(info.shape[3])
    return 4 * embedding[1], 4 * embedding[2]


def _batched(decoder: ModelIO) -> bool:
    batch = decoder.inputs["point_coords"].shape[0]
    if isinstance(batch, int) and batch != 1:
        raise ModelError(decoder.path, "point_coords [1 or dynamic, N, 2]",
                         decoder.inputs["point_coords"].describe())
    return not isinstance(batch, int)


def _has_proposals(encoder: ModelIO) -> bool:
    present = [n for n in PROPOSAL_OUTPUTS if n in encoder.outputs]
    if len(present) == 1:
        raise ModelError(encoder.path, f"both RPN outputs {' and '.join(PROPOSAL_OUTPUTS)} or none",
                         encoder.describe())
    return bool(present)


def detect_signature(
    encoder: ModelIO, decoder: ModelIO, family: str | None = None
) -> ModelSignature:
    """Check the pair against the family table and read the sizes from the files.

    Raises ModelError naming the file, what was expected and what was found.
    """
    meta = _metadata(encoder, decoder)
    chosen = _choose_family(encoder, decoder, meta, family)
    if "image_embeddings" not in encoder.outputs:
        expected = "an output image_embeddings [1, C, h, w]"
        raise ModelError(encoder.path, expected, encoder.describe())
    image = _encoder_input(encoder)
    _check_shapes(encoder, dict(encoder.outputs))
    used_outputs = {n: decoder.outputs[n] for n in chosen.decoder_outputs}
    _check_shapes(decoder, {**decoder.inputs, **used_outputs})
    image_size = _image_size(encoder, image, meta)
    embedding = _embedding_shape(encoder, decoder)
    _check_stride(encoder, decoder, chosen, image_size, embedding[1])
    frame = _meta_numbers(meta, "prompt_frame", 1)
    mean = _meta_numbers(meta, "pixel_mean", 3) or SAM_PIXEL_MEAN
    std = _meta_numbers(meta, "pixel_std", 3) or SAM_PIXEL_STD
    return ModelSignature(
        family=chosen,
        image_size=image_size,
        prompt_frame=int(frame[0]) if frame else chosen.prompt_frame or image_size,
        embedding_shape=embedding,
        low_res_size=_low_res_size(decoder, chosen, embedding),
        batched=_batched(decoder),
        has_mask_input=all(n in decoder.inputs for n in MASK_INPUTS),
        has_proposals=_has_proposals(encoder),
        pixel_mean=np.array(mean, dtype=np.float32),
        pixel_std=np.array(std, dtype=np.float32),
        encoder_input=image,
        decoder_inputs=dict(decoder.inputs),
        mask_count=_mask_count(decoder, chosen),
        upsample=meta["upsample"][0] if "upsample" in meta else None,
    )


def single_mask_warning(signature: ModelSignature, decoder_path: str) -> str | None:
    """What to tell the user when the decoder returns one mask: its graph chose it already."""
    if signature.mask_count != 1:
        return None
    family = signature.family
    return (f"decoder {decoder_path} returns a single mask: its graph chooses the mask itself "
            f"({family.single_mask_choice}), so EngineConfig.selection has no effect and masks "
            f"can differ from the {family.title} predictor's; export the decoder with its 4 "
            "masks (without --return-single-mask / return_single_mask) to get upstream's choice")
