"""Training checkpoints (resume exactly where a run stopped) and the bare model file for export.

Writes are atomic (temp file + rename), so a run killed mid-save leaves the previous checkpoint.
Data order and prompt sampling are pure functions of (seed, stage, step), so the saved step,
weights and optimiser state are all a resumed run needs to continue identically.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .config import TrainConfig

CHECKPOINT_FILE = "checkpoint.pt"
MODEL_FILE = "model.pt"


def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def save_checkpoint(out_dir: Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                    stage: int, step: int, config: TrainConfig,
                    adapter: nn.Module | None = None) -> Path:
    """Everything needed to resume: weights, optimiser, stage, steps done in it, config."""
    path = out_dir / CHECKPOINT_FILE
    _atomic_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                  "stage": stage, "step": step, "config": asdict(config),
                  "adapter": None if adapter is None else adapter.state_dict()}, path)
    return path


def load_checkpoint_state(out_dir: Path) -> dict[str, Any] | None:
    """The saved training state of `out_dir`, or None when there is none."""
    path = out_dir / CHECKPOINT_FILE
    if not path.is_file():
        return None
    return torch.load(path, map_location="cpu", weights_only=True)


def save_model(out_dir: Path, model: nn.Module) -> Path:
    """``{'model': state_dict}``, the form `edgesam_ros.models.load_checkpoint` reads."""
    path = out_dir / MODEL_FILE
    _atomic_save({"model": model.state_dict()}, path)
    return path
