"""Shared fixtures for the PyTorch model tests: a micro config that runs in milliseconds."""

from __future__ import annotations

from dataclasses import replace

import pytest

torch = pytest.importorskip("torch")

from edgesam_ros.models.config import EdgeSamConfig, alternating_se, get_config  # noqa: E402

_DEPTHS = (1, 2, 2, 1)


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture
def micro() -> EdgeSamConfig:
    """Smallest config that still exercises every module type (SE, downsampling, RPN)."""
    return replace(get_config("tiny"), name="micro", image_size=128, widths=(16, 24, 32, 48),
                   depths=_DEPTHS, se_blocks=alternating_se(_DEPTHS), embed_dim=32,
                   decoder_heads=2, decoder_mlp_dim=64, iou_head_hidden_dim=32, rpn=True,
                   rpn_channels=16, rpn_topk=50)
