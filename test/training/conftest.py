"""A micro EdgeSAM (the tiny variant at a 128-pixel input) so training tests run in seconds."""

from __future__ import annotations

from dataclasses import replace

import pytest

pytest.importorskip("torch")

from edgesam_ros.models import get_config
from edgesam_ros.training.config import TrainConfig


@pytest.fixture(scope="session")
def micro_config() -> TrainConfig:
    variant = replace(get_config("tiny"), name="micro", image_size=128)
    return TrainConfig(variant=variant, batch_images=2, max_instances=4, stage2_steps=4,
                       stage3_steps=0, checkpoint_every=2, warmup_steps=2)
