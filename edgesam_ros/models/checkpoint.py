"""Loading EdgeSAM checkpoints safely.

Official files (``edge_sam.pth``, ``edge_sam_3x.pth``) are plain state_dicts of the un-fused
model; training checkpoints wrap one as ``{'model': ...}``. We load with
``weights_only=True`` so a file that needs arbitrary code to unpickle is refused.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path

import torch

from .config import EdgeSamConfig
from .edge_sam import EdgeSam, build_model


class CheckpointError(RuntimeError):
    """The file is not a loadable EdgeSAM state_dict."""


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a checkpoint, unwrapping ``{'model': state_dict}`` if present."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: {'is a directory' if path.is_dir() else 'no such file'}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc).strip() or type(exc).__name__
        marker = "WeightsUnpickler error:"  # torch's cause, after a paragraph about weights_only
        first = (text.split(marker, 1)[1].strip() if marker in text else text).splitlines()[0]
        raise CheckpointError(
            f"{path}: refused, not a pickle of plain tensors and containers (corrupt, or it needs "
            f"code to load; weights_only=True). Re-save it as a bare state_dict from trusted "
            f"code. ({first})"
        ) from exc
    except Exception as exc:  # torch raises RuntimeError, EOFError, IndexError, ... for damage
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"{path}: not a readable PyTorch checkpoint (damaged or truncated?): "
            f"{type(exc).__name__}: {first}"
        ) from exc
    if isinstance(obj, Mapping) and isinstance(obj.get("model"), Mapping):
        obj = obj["model"]
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path}: expected a state_dict (name -> tensor)")
    return dict(obj)


def load_checkpoint(path: str | Path, variant: str | EdgeSamConfig = "edgesam", *,
                    rpn: bool | None = None) -> EdgeSam:
    """Build ``variant`` and load ``path`` strictly; returns the un-fused model in eval mode.

    ``rpn=None`` enables the RPN head exactly when the checkpoint has ``rpn_head.*`` keys.
    """
    state = read_state_dict(path)
    if rpn is None:
        rpn = any(k.startswith("rpn_head.") for k in state)
    model = build_model(variant, rpn=rpn)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: does not match variant {model.config.name!r}: {exc}"
                              ) from exc
    return model
