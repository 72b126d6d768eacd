"""Engine benchmark: the quick run prints every table and a verdict for each target."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.torch
pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from edgesam_ros.bench.engine_bench import TARGETS, Target, main  # noqa: E402


def test_target_verdicts() -> None:
    at_least = Target("k", "speed", 2.0, True)
    at_most = Target("k", "scaling", 2.5, False)
    assert at_least.verdict(2.0) == "PASS" and at_least.verdict(1.9) == "FAIL"
    assert at_most.verdict(2.5) == "PASS" and at_most.verdict(2.6) == "FAIL"
    assert at_least.verdict(None) == "n/a"


def test_quick_run_prints_targets(tmp_path, capsys) -> None:
    assert main(["--quick", "--repeats", "1", "--work-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for heading in ("### Encoder", "### Decoder", "### Reduced precision", "### Targets"):
        assert heading in out
    table = out.split("### Targets")[1]
    assert table.count("| tiny |") == len(TARGETS)
    assert "PASS" in table or "FAIL" in table
