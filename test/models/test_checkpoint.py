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


def _damaged(tmp_path: Path, micro, kind: str) -> Path:
    path = tmp_path / f"{kind}.pth"
    if kind == "missing":
        return path
    if kind == "directory":
        path.mkdir()
        return path
    torch.save(build_model(micro).state_dict(), path,
               _use_new_zipfile_serialization=kind != "legacy-truncated")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


@pytest.mark.parametrize(("kind", "says"), [
    ("missing", "missing.pth: no such file"),
    ("directory", "directory.pth: is a directory"),
    ("truncated", "truncated.pth: not a readable PyTorch checkpoint (damaged or truncated?): "
                  "RuntimeError: PytorchStreamReader failed reading zip archive"),
    ("legacy-truncated", "legacy-truncated.pth: not a readable PyTorch checkpoint (damaged or "
                         "truncated?): RuntimeError: unexpected EOF"),
])
def test_unreadable_checkpoints_are_named_with_the_reason(tmp_path, micro, kind, says) -> None:
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(_damaged(tmp_path, micro, kind), micro)
    assert str(error.value).startswith(str(tmp_path / says)), str(error.value)


def test_export_and_train_report_bad_input_in_one_line_and_leave_nothing(
    tmp_path, micro, capsys
) -> None:
    from edgesam_ros.export import cli as export_cli
    from edgesam_ros.training import cli as train_cli

    broken = _damaged(tmp_path, micro, "truncated")
    out = tmp_path / "new_out"
    assert export_cli.main([str(broken), "-o", str(out), "--variant", "tiny"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"edgesam-ros export: error: {broken}: not a readable PyTorch")
    assert not out.exists()  # the folder the failed export made is gone
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "notes.txt").write_text("mine")
    assert export_cli.main([str(tmp_path / "nope.pth"), "-o", str(kept)]) == 2
    assert [p.name for p in kept.iterdir()] == ["notes.txt"]
    assert capsys.readouterr().err.strip() == (
        f"edgesam-ros export: error: {tmp_path / 'nope.pth'}: no such file")
    assert train_cli.main(["--out", str(tmp_path / "run"), "--init", str(broken)]) == 2
    errors = [ln for ln in capsys.readouterr().err.splitlines() if "error" in ln]
    assert len(errors) == 1 and errors[0].startswith(
        f"edgesam-ros train: error: {broken}: not a readable PyTorch checkpoint"), errors
