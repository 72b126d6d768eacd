"""The three training stages and the step functions they run.

Stage 2 is the heart: per step, a few images are encoded once and every instance becomes a
prompt (box or point); the decoder runs `decode_iters` times, each time adding a corrective
click sampled where the student's chosen mask disagrees with the target, and every iteration's
masks are supervised (min-loss over the multimask outputs for a lone point, output 0 otherwise),
together with the IoU head.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from edgesam_ros.models import EdgeSam, build_model
from edgesam_ros.models.checkpoint import CheckpointError, read_state_dict

from .checkpointing import load_checkpoint_state, save_checkpoint, save_model
from .config import TrainConfig, resolve_variant
from .data import Batch, SceneBatches
from .losses import mask_ious, mask_losses, rpn_loss
from .prompts import PromptBatch, initial_prompts
from .sampler import grid_to_frame, sample_refinement_points
from .teacher import OnnxTeacher

log = logging.getLogger(__name__)

STAGES = (1, 2, 3)


def lr_at(step: int, total: int, warmup: int, base: float) -> float:
    """Linear warm-up, then cosine decay to 1 % of `base`."""
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(total - warmup, 1)
    return base * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def step_generator(seed: int, stage: int, step: int, device: torch.device) -> torch.Generator:
    """Prompt-sampling randomness as a pure function of the step (exact resume)."""
    return torch.Generator(device=device).manual_seed(seed * 1_000_003 + stage * 100_003 + step)


def decode(model: EdgeSam, embeddings: torch.Tensor, batch: Batch, prompts: PromptBatch,
           mask_input: torch.Tensor, has_mask: torch.Tensor
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 4, l, l) low-res logits and (B, 4) IoU predictions, as the exported decoder computes."""
    pe = model.prompt_encoder
    sparse = pe.embed_points(prompts.coords, prompts.labels, model.config.image_size)
    dense = pe.embed_masks(mask_input, has_mask)
    return model.mask_decoder(embeddings[batch.image_index], pe.get_dense_pe(), sparse, dense)


@dataclass
class LoopOutput:
    loss: torch.Tensor
    mask_iou: float
    """Mean IoU of the chosen masks at the last iteration (a readable progress number)."""


def prompt_loop(model: EdgeSam, embeddings: torch.Tensor, batch: Batch, cfg: TrainConfig,
                generator: torch.Generator,
                target_fn: Callable[[PromptBatch], torch.Tensor]) -> LoopOutput:
    """Prompt-in-the-loop decoding and its loss for all instances of a batch.

    `target_fn` gives the (B, L, L) targets for the current prompts: the ground truth, or the
    teacher's masks for exactly these prompts.
    """
    frame, grid = model.config.image_size, batch.targets.shape[-1]
    prompts = initial_prompts(batch.targets, batch.boxes, cfg.box_prob, cfg.box_noise, frame,
                              generator)
    b, low = len(batch.boxes), 4 * model.config.embedding_size
    rows = torch.arange(b, device=embeddings.device)
    mask_input = embeddings.new_zeros(b, 1, low, low)
    has_mask = embeddings.new_zeros(b)
    total = embeddings.new_zeros(())
    for it in range(cfg.decode_iters):
        targets = target_fn(prompts)
        low_res, iou_pred = decode(model, embeddings, batch, prompts, mask_input, has_mask)
        logits = F.interpolate(low_res, size=(grid, grid), mode="bilinear", align_corners=False)
        per_mask = mask_losses(logits, targets, cfg.bce_weight, cfg.dice_weight)
        best_multi = 1 + per_mask[:, 1:].argmin(dim=1)
        chosen = torch.where(prompts.multimask, best_multi, torch.zeros_like(best_multi))
        actual = mask_ious(logits.detach(), targets)
        total = total + per_mask[rows, chosen].mean() + cfg.iou_weight * F.mse_loss(
            iou_pred, actual)
        if it + 1 < cfg.decode_iters:
            pred = logits[rows, chosen].detach() > 0
            points, labels = sample_refinement_points(pred, targets > 0.5, cfg.min_error_pixels,
                                                      generator)
            prompts = prompts.append(grid_to_frame(points, grid, frame), labels)
            mask_input = low_res[rows, chosen].detach()[:, None]
            has_mask = (torch.rand(b, generator=generator, device=embeddings.device)
                        < cfg.mask_input_prob).float()
    return LoopOutput(total / cfg.decode_iters, float(actual[rows, chosen].mean()))


class Trainer:
    """Builds the model, runs the enabled stages with checkpoints, writes ``model.pt``."""

    def __init__(self, cfg: TrainConfig, out_dir: Path, teacher: OnnxTeacher | None = None,
                 device: torch.device | None = None) -> None:
        self.cfg = cfg
        self.out_dir = out_dir
        self.teacher = teacher
        self.device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
        # Early in training many activations/gradients are denormal floats, which slow CPU
        # kernels about tenfold (measured: 8.5 s vs 1.1 s per step); flushing them is harmless.
        torch.set_flush_denormal(True)
        self.model = build_model(resolve_variant(cfg.variant), rpn=cfg.stage3_steps > 0,
                                 seed=cfg.seed)
        self.model.to(self.device)
        mc = self.model.config
        self.loss_grid = cfg.loss_upscale * 4 * mc.embedding_size
        self.data = SceneBatches(mc.image_size, self.loss_grid, cfg.batch_images,
                                 cfg.max_instances, cfg.seed, mc.pixel_mean, mc.pixel_std,
                                 teacher_size=teacher.size if teacher is not None else None)
        self.adapter: nn.Module | None = None

    # -- stages ---------------------------------------------------------------------------
    def stage_steps(self, stage: int) -> int:
        if stage == 1:
            return self.cfg.stage1_steps if self.teacher is not None else 0
        return self.cfg.stage2_steps if stage == 2 else self.cfg.stage3_steps

    def stage_params(self, stage: int) -> list[nn.Parameter]:
        m = self.model
        if stage == 1:
            return [*m.image_encoder.parameters(), *self._stage1_adapter().parameters()]
        if stage == 2:
            return [*m.image_encoder.parameters(), *m.prompt_encoder.parameters(),
                    *m.mask_decoder.parameters()]
        return [*m.fpn.parameters(), *m.rpn_head.parameters()]

    def _stage1_adapter(self) -> nn.Module:
        """1x1 conv from student to teacher channels (identity when they match); discarded."""
        if self.adapter is None:
            with torch.no_grad():
                probe = self.teacher.embed(torch.zeros(1, 3, self.teacher.size,
                                                       self.teacher.size))
            c_s, c_t = self.model.config.embed_dim, probe.shape[1]
            self.adapter = (nn.Identity() if c_s == c_t else nn.Conv2d(c_s, c_t, 1)).to(
                self.device)
        return self.adapter

    def stage1_step(self, batch: Batch, generator: torch.Generator) -> tuple[torch.Tensor, dict]:
        student = self.adapter(self.model.image_encoder(batch.images))
        with torch.no_grad():
            target = self.teacher.embed(batch.teacher_images)
        if student.shape[-2:] != target.shape[-2:]:
            student = F.interpolate(student, size=target.shape[-2:], mode="bilinear",
                                    align_corners=False)
        loss = F.mse_loss(student, target)
        return loss, {}

    def stage2_step(self, batch: Batch, generator: torch.Generator) -> tuple[torch.Tensor, dict]:
        embeddings = self.model.image_encoder(batch.images)
        if self.teacher is None or self.teacher.decoder is None:
            def target_fn(_: PromptBatch) -> torch.Tensor:
                return batch.targets
        else:
            with torch.no_grad():
                teacher_emb = self.teacher.embed(batch.teacher_images)

            def target_fn(p: PromptBatch) -> torch.Tensor:
                return self.teacher.masks(teacher_emb, batch.image_index, p.coords, p.labels,
                                          p.multimask, self.model.config.image_size,
                                          self.loss_grid)
        out = prompt_loop(self.model, embeddings, batch, self.cfg, generator, target_fn)
        return out.loss, {"iou": out.mask_iou}

    def stage3_step(self, batch: Batch, generator: torch.Generator) -> tuple[torch.Tensor, dict]:
        with torch.no_grad():
            _, stages = self.model.image_encoder.forward_features(batch.images)
        logits, deltas = self.model.rpn_head(self.model.fpn(stages))
        boxes = [batch.boxes[batch.image_index == i] for i in range(len(batch.images))]
        cfg = self.cfg
        loss = rpn_loss(logits, deltas, self.model.rpn_head.anchors, boxes, cfg.rpn_pos_iou,
                        cfg.rpn_neg_iou, cfg.focal_alpha, cfg.focal_gamma)
        return loss, {}

    def set_modes(self, stage: int) -> None:
        """Train what the stage trains; in stage 3 the frozen backbone keeps its BN statistics."""
        self.model.train(stage != 3)
        if stage == 3:
            self.model.fpn.train()
            self.model.rpn_head.train()

    # -- driver ---------------------------------------------------------------------------
    def run(self, resume: bool = False, init: Path | None = None) -> Path:
        """Run (or continue) all enabled stages; returns the path of ``model.pt``.

        `init` starts from the weights of an earlier run's ``model.pt`` (fine-tuning: longer
        training split into sessions); `resume` continues this run's own checkpoint instead.
        """
        self.out_dir.mkdir(parents=True, exist_ok=True)
        state = load_checkpoint_state(self.out_dir) if resume else None
        if state is None and init is not None:
            weights = read_state_dict(init)
            try:
                self.model.load_state_dict(weights)
            except RuntimeError as exc:  # missing / unexpected keys or shapes
                raise CheckpointError(f"{init}: does not match variant {self.cfg.variant!r}: "
                                      f"{str(exc).splitlines()[0]}") from exc
            log.info("initialised from %s", init)
        if state is not None:
            self.model.load_state_dict(state["model"])
            if state["adapter"] is not None:
                self._stage1_adapter().load_state_dict(state["adapter"])
            log.info("resuming at stage %d step %d", state["stage"], state["step"])
        for stage in STAGES:
            total = self.stage_steps(stage)
            start = 0
            if state is not None:
                if stage < state["stage"]:
                    continue
                start = state["step"] if stage == state["stage"] else 0
            if total == 0 or start >= total:
                continue
            self.run_stage(stage, start, total, state if start else None)
        return save_model(self.out_dir, self.model)

    def run_stage(self, stage: int, start: int, total: int, state: dict | None) -> None:
        step_fn = {1: self.stage1_step, 2: self.stage2_step, 3: self.stage3_step}[stage]
        cfg = self.cfg
        params = self.stage_params(stage)
        base_lr = cfg.rpn_lr if stage == 3 else cfg.lr
        optimizer = torch.optim.AdamW(params, lr=base_lr, weight_decay=cfg.weight_decay)
        if state is not None:
            optimizer.load_state_dict(state["optimizer"])
        self.set_modes(stage)
        bar = tqdm(total=total, initial=start, desc=f"stage {stage}", mininterval=5.0,
                   dynamic_ncols=True)
        smoothed: float | None = None
        started = time.monotonic()
        for step in range(start, total):
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, total, cfg.warmup_steps, base_lr)
            batch = self.data.batch(stage, step).to(self.device)
            loss, extra = step_fn(batch, step_generator(cfg.seed, stage, step, self.device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            optimizer.step()
            value = loss.item()
            smoothed = value if smoothed is None else 0.95 * smoothed + 0.05 * value
            bar.set_postfix(loss=f"{smoothed:.4f}", **{k: f"{v:.3f}" for k, v in extra.items()})
            bar.update()
            done = step + 1
            if done % cfg.checkpoint_every == 0 or done == total:
                save_checkpoint(self.out_dir, self.model, optimizer, stage, done, cfg,
                                self.adapter)
                save_model(self.out_dir, self.model)
                log.info("stage %d step %d/%d loss %.4f %s (%.1f s/step)", stage, done, total,
                         smoothed, extra, (time.monotonic() - started) / (done - start))
        bar.close()
