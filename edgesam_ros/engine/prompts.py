"""Packs `Prompt`s into the decoder's point arrays, in the model's prompt frame.

Per prompt the token order is SAM's: the user's points (label 1 foreground, 0 background), then
the box corners (labels 2 and 3), or, without a box, SAM's padding point (0, 0) with label -1.
The padding point is what the PyTorch prompt encoder of SAM/EdgeSAM appends to every box-less
prompt (`pad = boxes is None`), so the models were trained and evaluated with it; the ONNX
decoders do not add it themselves, so the engine does (`EngineConfig.pad_point_prompts`).

Prompts are never padded to a common length: a label -1 token is not inert, it takes part in the
decoder's attention like any other token, so padding a box to the length of a 3-point prompt
changes the box's mask. `decoder_batches` therefore puts only prompts with the same number of
tokens into one decoder call. The rows of a SAM-family decoder batch interact only through such
padding (attention, LayerNorm and the MLPs work per row), so with equal lengths each row is
exactly what the prompt decoded alone gives, whatever else shares the call: whether a prompt has
a box or a mask input changes only its own row's values, not the layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edgesam_ros.engine.batching import grouped_chunks
from edgesam_ros.engine.transforms import LongestSide
from edgesam_ros.engine.types import Prompt

PAD_LABEL = -1.0
BOX_LABELS = (2.0, 3.0)


def prompt_tokens(
    prompt: Prompt, frame: LongestSide, original_size: tuple[int, int], pad_point: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2) frame coordinates and (n,) labels of one prompt."""
    points = np.asarray(prompt.points, dtype=np.float32).reshape(-1, 2)
    labels = np.asarray(prompt.labels, dtype=np.float32).reshape(-1)
    if len(points) != len(labels):
        raise ValueError(f"prompt has {len(points)} points but {len(labels)} labels")
    if not np.isin(labels, (0.0, 1.0)).all():
        raise ValueError(f"point labels must be 1 (foreground) or 0 (background), got {labels}")
    if prompt.box is not None:
        x1, y1, x2, y2 = np.asarray(prompt.box, dtype=np.float32).reshape(4)
        corners = np.array([[min(x1, x2), min(y1, y2)], [max(x1, x2), max(y1, y2)]], np.float32)
        points = np.concatenate([points, corners])
        labels = np.concatenate([labels, np.array(BOX_LABELS, np.float32)])
    elif len(points) == 0:
        raise ValueError("a prompt needs at least one point or a box")
    coords = frame.to_frame(points, original_size)
    if prompt.box is None and pad_point:
        coords = np.concatenate([coords, np.zeros((1, 2), np.float32)])
        labels = np.concatenate([labels, np.array([PAD_LABEL], np.float32)])
    return coords, labels


@dataclass(frozen=True)
class DecoderBatch:
    """Prompts decoded together: their positions in the caller's list and their tokens."""

    indices: np.ndarray
    coords: np.ndarray
    labels: np.ndarray


def decoder_batches(
    prompts: Sequence[Prompt],
    frame: LongestSide,
    original_size: tuple[int, int],
    pad_point: bool,
    max_batch: int,
) -> list[DecoderBatch]:
    """Prompts grouped by token count (first appearance first), each group cut into chunks of
    at most `max_batch`: (B, N, 2) coordinates and (B, N) labels with no padding tokens."""
    tokens = [prompt_tokens(p, frame, original_size, pad_point) for p in prompts]
    return [
        DecoderBatch(
            indices=np.array(chunk, dtype=np.int64),
            coords=np.stack([tokens[i][0] for i in chunk]),
            labels=np.stack([tokens[i][1] for i in chunk]),
        )
        for chunk in grouped_chunks(range(len(tokens)), lambda i: len(tokens[i][1]), max_batch)
    ]


def wants_multimask(prompt: Prompt) -> bool:
    """SAM's rule: one point alone is ambiguous (part/object/whole), anything more is not."""
    return prompt.box is None and len(np.asarray(prompt.points).reshape(-1, 2)) == 1


def pack_mask_inputs(
    prompts: Sequence[Prompt], low_res_size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """(B, 1, h, w) previous logits and (B,) flags saying which prompts carry one."""
    masks = np.zeros((len(prompts), 1, *low_res_size), np.float32)
    has_mask = np.zeros(len(prompts), np.float32)
    for i, prompt in enumerate(prompts):
        if prompt.mask_input is None:
            continue
        logits = np.asarray(prompt.mask_input, dtype=np.float32)
        if logits.shape != low_res_size:
            raise ValueError(
                f"mask_input must be the {low_res_size} low-res logits of a MaskResult, "
                f"got shape {logits.shape}"
            )
        masks[i, 0] = logits
        has_mask[i] = 1.0
    return masks, has_mask
