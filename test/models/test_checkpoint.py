"""Checkpoint loading: both official layouts, strictness, refusal of code-carrying pickles."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

from edgesam_ros.models import CheckpointError, build_model, load_checkpoint  # noqa: E402


class _Exploit:
    """Unpickling this would create a marker file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("wrapped", [False, True])
def test_loads_bare_and_wrapped_state_dicts(tmp_path, micro, wrapped) -> None:
    src = build_model(micro, seed=3)
    state = src.state_dict()
    path = tmp_path / "ckpt.pth"
    torch.save({"model": state} if wrapped else state, path)
    model = load_checkpoint(path, micro)
    assert model.config.rpn  # detected from rpn_head.* keys
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, state[key])


def test_wrong_variant_is_a_clear_error(tmp_path, micro) -> None:
    path = tmp_path / "ckpt.pth"
    torch.save(build_model(micro).state_dict(), path)
    with pytest.raises(CheckpointError, match="does not match variant"):
        load_checkpoint(path, "tiny")


def test_pickle_needing_code_is_refused(tmp_path, micro) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump({"model": _Exploit(marker)}, f, protocol=2)
    torch.save({"weights": {"a": torch.zeros(1)}, "evil": _Exploit(marker)}, tmp_path / "e2.pth")
    for p in (path, tmp_path / "e2.pth"):
        with pytest.raises(CheckpointError, match="refused"):
            load_checkpoint(p, micro)
    assert not marker.exists()
