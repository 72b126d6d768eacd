"""`SamEngine`: encode a camera frame once, decode any number of object prompts against it.

The engine is ROS-free and stateless between calls (the state of a frame is its `Embedding`), so
a node can encode on one callback and decode on another. It is not thread-safe: use one engine
per thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edgesam_ros.engine.backends import open_backend
from edgesam_ros.engine.bundled import BUNDLED_KEY, bundled_model_paths, is_bundled_model
from edgesam_ros.engine.config import EngineConfig
from edgesam_ros.engine.postprocess import mask_upsampler, stability_scores
from edgesam_ros.engine.preprocess import preprocess_image
from edgesam_ros.engine.prompts import (
    DecoderBatch,
    decoder_batches,
    pack_mask_inputs,
    wants_multimask,
)
from edgesam_ros.engine.proposals import select_proposals
from edgesam_ros.engine.providers import trt_profile
from edgesam_ros.engine.selection import choose_masks, resolve_rule
from edgesam_ros.engine.signatures import PROPOSAL_OUTPUTS, detect_signature, single_mask_warning
from edgesam_ros.engine.transforms import LongestSide
from edgesam_ros.engine.types import Embedding, EngineInfo, MaskResult, Prompt, Timings

log = logging.getLogger("edgesam_ros.engine")

#: Prompt tokens TensorRT's profile is tuned for: one point plus SAM's padding point.
TRT_OPT_POINTS = 2


def _ms(start: float, end: float) -> float:
    return (end - start) * 1e3


class SamEngine:
    """EdgeSAM (or a SAM-family model) on onnxruntime or a Triton server (`config.backend`; the
    Triton backend names its models in the config and ignores the paths); see
    docs/architecture.md for the contract."""

    def __init__(
        self,
        encoder_path: str | Path | None,
        decoder_path: str | Path | None,
        config: EngineConfig | None = None,
    ) -> None:
        self.config = config or EngineConfig()
        start = time.perf_counter()
        backend = open_backend(encoder_path, decoder_path, self.config)
        encoder_io, decoder_io = backend.model_io()
        self.signature = detect_signature(encoder_io, decoder_io, self.config.family)
        sig = self.signature
        warning = single_mask_warning(sig, decoder_io.path)
        if warning:
            log.warning(warning)
        #: The mask choice rule in use (`selection.py`), resolved from `config.selection`.
        bundled = (is_bundled_model(encoder_io.path, decoder_io.path)  # local files
                   or encoder_io.metadata.get(BUNDLED_KEY) == "true")  # served by Triton
        self.selection = resolve_rule(self.config.selection, sig.family.name, bundled)
        self._image_frame = LongestSide(sig.image_size)
        self._prompt_frame = LongestSide(sig.prompt_frame)
        self._encoder_outputs = ["image_embeddings"]
        if sig.has_proposals:
            self._encoder_outputs += PROPOSAL_OUTPUTS
        self._decoder_outputs = [sig.family.scores_output, sig.family.logits_output]
        self._encoder, encoder_provider = backend.open(encoder_io, "encoder")
        self._decoder, decoder_provider = backend.open(
            decoder_io, "decoder", trt_profile(self._decoder_profile_ranges())
        )
        self._warned_mask_input = False
        self._timings = Timings()
        warmup_ms = 0.0
        if self.config.warmup:
            warm = time.perf_counter()
            self._warm_up()
            warmup_ms = _ms(warm, time.perf_counter())
        self._timings = Timings()
        load_ms = _ms(start, time.perf_counter())
        self.info = EngineInfo(
            family=sig.family.name,
            encoder_path=encoder_io.path,
            decoder_path=decoder_io.path,
            encoder_provider=encoder_provider,
            decoder_provider=decoder_provider,
            load_ms=load_ms,
            **sig.shape_fields(),
        )
        log.info(
            "loaded %s model (input %d, prompt frame %d, %s decoder, mask choice %s, neck "
            "upsampling %s) — encoder on %s, decoder on %s — in %.0f ms%s",
            sig.family.name, sig.image_size, sig.prompt_frame,
            "batched" if sig.batched else "per-object", self.selection,
            sig.upsample or "not recorded", encoder_provider, decoder_provider,
            load_ms, f" including {warmup_ms:.0f} ms of warm-up" if self.config.warmup else "",
        )

    @classmethod
    def bundled(cls, config: EngineConfig | None = None) -> SamEngine:
        """The default model embedded in the package (`edgesam_ros/weights/`)."""
        encoder, decoder = bundled_model_paths()
        return cls(encoder, decoder, config)

    @property
    def timings(self) -> Timings:
        """Milliseconds spent in the last `encode` and the last `decode`."""
        return self._timings

    def encode(self, image: np.ndarray, color: str = "rgb") -> Embedding:
        """Embedding of a uint8 HxWx3 ("rgb"/"bgr") or HxW ("mono") image, plus RPN proposals."""
        sig = self.signature
        start = time.perf_counter()
        tensor = preprocess_image(
            image, color, self._image_frame, sig.pixel_mean, sig.pixel_std,
            self.config.resize, sig.encoder_input.dtype,
        )
        prepared = time.perf_counter()
        outputs = self._encoder.run(self._encoder_outputs, {sig.encoder_input.name: tensor})
        original_size = (int(image.shape[0]), int(image.shape[1]))
        proposals = None
        if sig.has_proposals:
            proposals = select_proposals(
                outputs[1], outputs[2], self._image_frame, original_size,
                self.config.proposal_score_threshold, self.config.proposal_nms_iou,
                self.config.max_proposals,
            )
        done = time.perf_counter()
        self._timings = Timings(
            preprocess_ms=_ms(start, prepared),
            encoder_ms=_ms(prepared, done),
            decoder_ms=self._timings.decoder_ms,
            postprocess_ms=self._timings.postprocess_ms,
            decoder_calls=self._timings.decoder_calls,
        )
        features = np.asarray(outputs[0], dtype=np.float32)
        return Embedding(features=features, original_size=original_size, proposals=proposals)

    def decode(self, embedding: Embedding, prompts: Sequence[Prompt]) -> list[MaskResult]:
        """One mask per prompt, in order. Prompts with the same number of tokens share decoder
        calls of up to `max_decoder_batch` (dynamic-batch decoders; else one call per prompt),
        so a mask never depends on the other prompts of the call (see `prompts.py`)."""
        prompts = list(prompts)
        if not prompts:
            return []
        self._check_embedding(embedding)
        start = time.perf_counter()
        batches = decoder_batches(
            prompts, self._prompt_frame, embedding.original_size, self.config.pad_point_prompts,
            self.config.max_decoder_batch if self.signature.batched else 1,
        )
        runs = [self._run_decoder(embedding, batch, prompts) for batch in batches]
        order = np.argsort(np.concatenate([batch.indices for batch in batches]))
        scores = np.concatenate([s for s, _ in runs]).astype(np.float32)[order]
        logits = np.concatenate([lg for _, lg in runs]).astype(np.float32)[order]
        decoded = time.perf_counter()
        results = self._select_masks(scores, logits, prompts, embedding.original_size)
        self._timings = Timings(
            preprocess_ms=self._timings.preprocess_ms,
            encoder_ms=self._timings.encoder_ms,
            decoder_ms=_ms(start, decoded),
            postprocess_ms=_ms(decoded, time.perf_counter()),
            decoder_calls=len(batches),
        )
        return results

    def _check_embedding(self, embedding: Embedding) -> None:
        expected = (1, *self.signature.embedding_shape)
        if tuple(embedding.features.shape) != expected:
            raise ValueError(
                f"embedding features have shape {embedding.features.shape}, this model needs "
                f"{expected}: was it encoded by another model?"
            )

    def _run_decoder(
        self, embedding: Embedding, batch: DecoderBatch, all_prompts: list[Prompt]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(B, M) scores and (B, M, h, w) low-res logits of one batch of equal-length prompts."""
        sig = self.signature
        prompts = [all_prompts[i] for i in batch.indices]
        feed = {"image_embeddings": embedding.features, "point_coords": batch.coords,
                "point_labels": batch.labels}
        if sig.has_mask_input:
            feed["mask_input"], feed["has_mask_input"] = pack_mask_inputs(prompts,
                                                                          sig.low_res_size)
        elif not self._warned_mask_input and any(p.mask_input is not None for p in prompts):
            self._warned_mask_input = True
            log.warning("this %s decoder has no mask input; Prompt.mask_input is ignored",
                        sig.family.name)
        if "orig_im_size" in sig.decoder_inputs:
            # SAM's graph also upsamples every mask to orig_im_size; the engine uses only the
            # low-res logits, so it asks for the prompt-frame size to bound that wasted work.
            feed["orig_im_size"] = np.array(
                self._prompt_frame.resized_size(embedding.original_size), dtype=np.float32
            )
        feed = {name: np.asarray(value, dtype=sig.decoder_inputs[name].dtype)
                for name, value in feed.items()}
        scores, logits = self._decoder.run(self._decoder_outputs, feed)
        return scores, logits

    def _select_masks(
        self,
        scores: np.ndarray,
        logits: np.ndarray,
        prompts: list[Prompt],
        original_size: tuple[int, int],
    ) -> list[MaskResult]:
        config = self.config
        stability = stability_scores(logits, config.mask_threshold, config.stability_offset)
        chosen = choose_masks(self.selection, scores, stability,
                              np.array([p.box is not None for p in prompts]),
                              np.array([wants_multimask(p) for p in prompts]))
        upsampler = mask_upsampler(original_size, self.signature.prompt_frame,
                                   self.signature.low_res_size)
        results = []
        for row, index in enumerate(chosen):
            low_res = logits[row, index]
            box, mask = upsampler.upsample(low_res, config.mask_threshold)
            results.append(MaskResult(
                box=box,
                mask=mask,
                iou_prediction=float(scores[row, index]),
                stability=float(stability[row, index]),
                area=int(np.count_nonzero(mask)),
                low_res_logits=low_res.copy(),
            ))
        return results

    def _decoder_profile_ranges(self) -> dict[str, list[tuple[int, int, int]]]:
        """(min, opt, max) per axis of each decoder input with a dynamic axis, for TensorRT."""
        sig, config = self.signature, self.config
        batch = (1, 1, config.max_decoder_batch if sig.batched else 1)
        points = (1, min(TRT_OPT_POINTS, config.trt_max_points), config.trt_max_points)
        c, h, w = sig.embedding_shape
        lh, lw = sig.low_res_size
        axes = {
            "image_embeddings": [(1, 1, 1), (c, c, c), (h, h, h), (w, w, w)],
            "point_coords": [batch, points, (2, 2, 2)],
            "point_labels": [batch, points],
            "mask_input": [batch, (1, 1, 1), (lh, lh, lh), (lw, lw, lw)],
            "has_mask_input": [batch],
        }
        return {
            name: ranges for name, ranges in axes.items()
            if name in sig.decoder_inputs
            and not all(isinstance(d, int) for d in sig.decoder_inputs[name].shape)
        }

    def _warm_up(self) -> None:
        """One encode and decode, so memory arenas and lazy engine builds happen at load."""
        size = self.signature.image_size
        embedding = self.encode(np.full((size, size, 3), 114, dtype=np.uint8))
        self.decode(embedding, [Prompt.from_points([[size / 2, size / 2]])])
