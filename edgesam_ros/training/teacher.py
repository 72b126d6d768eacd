"""A teacher encoder/decoder ONNX pair run with onnxruntime during training.

Any encoder taking a normalised, padded ``[1, 3, T, T]`` image works for stage 1; stage-2 mask
targets need a decoder with EdgeSAM's interface (inputs ``image_embeddings``, ``point_coords``,
``point_labels`` [+ ``mask_input``, ``has_mask_input``], outputs ``scores``, ``masks``): the
official EdgeSAM export and ours. Other families' decoders (SAM's ``orig_im_size`` interface,
EfficientViT-SAM's 1024-frame prompts) would need their own adapter.

The teacher gets each scene preprocessed by the engine at its own T x T size
(`Batch.teacher_images`, upstream's exact resize; SAM's pixel normalisation is assumed, as every
SAM-family export uses it), so its embeddings are what it gives at inference. Prompts are scaled
from the S frame to T; ignored refinement points (label -2) become padding (-1), which every
SAM decoder understands. Decoders with a fixed batch of 1 (the official EdgeSAM export) are
run prompt by prompt.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import torch
from torch.nn import functional as F

from .sampler import IGNORE_LABEL


def _session(path: str) -> ort.InferenceSession:
    return ort.InferenceSession(path, providers=ort.get_available_providers())


class OnnxTeacher:
    """Embeddings (stage 1) and binarised masks (stage 2) of a teacher pair."""

    def __init__(self, encoder_path: str, decoder_path: str | None = None) -> None:
        self.encoder = _session(encoder_path)
        self.decoder = _session(decoder_path) if decoder_path else None
        self.size = int(self.encoder.get_inputs()[0].shape[-1])

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """(I, C, h, w) teacher embeddings of (I, 3, T, T) images preprocessed for the teacher."""
        name = self.encoder.get_inputs()[0].name
        inputs = images.detach().float().cpu().numpy()
        outs = [self.encoder.run(None, {name: img[None]})[0] for img in inputs]
        return torch.from_numpy(np.concatenate(outs)).to(images.device)

    def masks(self, embeddings: torch.Tensor, image_index: torch.Tensor, coords: torch.Tensor,
              labels: torch.Tensor, multimask: torch.Tensor, frame: int, grid: int
              ) -> torch.Tensor:
        """(B, grid, grid) 0/1 teacher masks for prompts given in the student's S frame.

        A lone point takes the teacher's best multimask output by its own score; anything else
        takes output 0, SAM's rule.
        """
        if self.decoder is None:
            raise ValueError("mask distillation needs the teacher's decoder")
        emb = embeddings.cpu().numpy()
        pts = (coords * (self.size / frame)).cpu().numpy().astype(np.float32)
        lbl = labels.cpu().numpy().astype(np.float32)
        lbl[lbl == IGNORE_LABEL] = -1.0
        wanted = {i.name for i in self.decoder.get_inputs()}
        out = []
        for b in range(len(pts)):
            feeds = {"image_embeddings": emb[int(image_index[b])][None],
                     "point_coords": pts[b][None], "point_labels": lbl[b][None]}
            if "mask_input" in wanted:
                side = 4 * emb.shape[-1]
                feeds["mask_input"] = np.zeros((1, 1, side, side), np.float32)
                feeds["has_mask_input"] = np.zeros(1, np.float32)
            scores, masks = self.decoder.run(["scores", "masks"], feeds)
            k = 1 + int(np.argmax(scores[0, 1:])) if multimask[b] and masks.shape[1] > 1 else 0
            out.append(masks[0, k])
        logits = torch.from_numpy(np.stack(out))[:, None]
        resized = F.interpolate(logits, size=(grid, grid), mode="bilinear", align_corners=False)
        return (resized[:, 0] > 0).float().to(coords.device)
