"""Training steps learn, checkpoints resume exactly, and a teacher pair can drive stages 1-2."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from edgesam_ros.training.checkpointing import load_checkpoint_state  # noqa: E402
from edgesam_ros.training.config import TrainConfig  # noqa: E402
from edgesam_ros.training.loop import Trainer, step_generator  # noqa: E402

pytestmark = pytest.mark.torch


def _losses_on_one_batch(trainer: Trainer, stage: int, steps: int) -> list[float]:
    """Losses of `steps` optimiser steps of `stage` repeated on its first batch."""
    trainer.set_modes(stage)
    batch = trainer.data.batch(stage, 0)
    step = trainer.stage2_step if stage == 2 else trainer.stage3_step
    optimizer = torch.optim.AdamW(trainer.stage_params(stage), lr=3e-3)
    losses = []
    for _ in range(steps):
        loss, _ = step(batch, step_generator(0, stage, 0, torch.device("cpu")))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_steps_on_one_batch_lower_the_loss(micro_config: TrainConfig, tmp_path: Path) -> None:
    trainer = Trainer(micro_config, tmp_path, device=torch.device("cpu"))
    losses = _losses_on_one_batch(trainer, 2, 12)
    assert losses[-1] < 0.8 * losses[0], losses


def test_rpn_stage_lowers_its_loss(micro_config: TrainConfig, tmp_path: Path) -> None:
    trainer = Trainer(replace(micro_config, stage3_steps=1), tmp_path,
                      device=torch.device("cpu"))
    losses = _losses_on_one_batch(trainer, 3, 8)
    assert losses[-1] < losses[0], losses


class _Interrupted(Exception):
    pass


class _StopAfter(Trainer):
    """Raises on the (n+1)-th stage-2 step, as a killed run would stop."""

    def __init__(self, *args, steps: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.left = steps

    def stage2_step(self, batch, generator):
        if self.left == 0:
            raise _Interrupted
        self.left -= 1
        return super().stage2_step(batch, generator)


def test_resume_continues_exactly(micro_config: TrainConfig, tmp_path: Path) -> None:
    cpu = torch.device("cpu")
    straight = Trainer(micro_config, tmp_path / "a", device=cpu)
    straight.run()
    with pytest.raises(_Interrupted):
        _StopAfter(micro_config, tmp_path / "b", device=cpu, steps=3).run()
    state = load_checkpoint_state(tmp_path / "b")
    assert (state["stage"], state["step"]) == (2, 2)
    resumed = Trainer(micro_config, tmp_path / "b", device=cpu)
    resumed.run(resume=True)
    assert load_checkpoint_state(tmp_path / "b")["step"] == 4
    for (name, a), b in zip(straight.model.state_dict().items(),
                            resumed.model.state_dict().values(), strict=True):
        assert torch.allclose(a.float(), b.float(), atol=1e-5), name


def test_onnx_teacher_drives_stages_1_and_2(micro_config: TrainConfig, tmp_path: Path) -> None:
    from edgesam_ros.export.onnx_export import export_onnx
    from edgesam_ros.training.teacher import OnnxTeacher

    files = export_onnx(None, micro_config.variant, tmp_path / "teacher", random_init=True)
    teacher = OnnxTeacher(str(files["encoder"]), str(files["decoder"]))
    cfg = replace(micro_config, stage1_steps=1, stage2_steps=1)
    trainer = Trainer(cfg, tmp_path / "run", teacher, device=torch.device("cpu"))
    trainer.run()
    assert load_checkpoint_state(tmp_path / "run")["stage"] == 2
    assert isinstance(trainer.adapter, torch.nn.Identity)  # same embedding width as the student


def test_student_and_teacher_images_are_the_engines_preprocessing() -> None:
    import numpy as np

    from edgesam_ros.engine import LongestSide
    from edgesam_ros.engine.preprocess import preprocess_image
    from edgesam_ros.engine.signatures import SAM_PIXEL_MEAN, SAM_PIXEL_STD
    from edgesam_ros.scenes.still import generate_scene
    from edgesam_ros.training.data import STREAM_SEEDS, SceneBatches, train_seed

    data = SceneBatches(128, 32, 2, 4, 0, SAM_PIXEL_MEAN, SAM_PIXEL_STD, teacher_size=320)
    batch = data.batch(stream=1, step=0)
    for i in range(2):
        scene = generate_scene(train_seed(0, STREAM_SEEDS + i), data.scene_config)
        for tensor, size in ((batch.images[i], 128), (batch.teacher_images[i], 320)):
            expected = preprocess_image(scene.image, "rgb", LongestSide(size),
                                        np.array(SAM_PIXEL_MEAN), np.array(SAM_PIXEL_STD))[0]
            np.testing.assert_array_equal(tensor.numpy(), expected)
    assert SceneBatches(128, 32, 2, 4, 0, SAM_PIXEL_MEAN, SAM_PIXEL_STD).batch(
        1, 0).teacher_images is None
